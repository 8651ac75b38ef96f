package config

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// parser walks the yaml nodes and collects every mistake instead of stopping
// at the first: an operator fixing a config at 2 a.m. should see them all.
type parser struct {
	file string
	errs []*LineError
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &LineError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var (
	yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	targetName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

var (
	topKeys    = []string{"targets"}
	targetKeys = []string{"adapter", "url", "username", "password_env", "password_file", "rate", "concurrency", "timeout", "tls", "options", "description"}
	tlsKeys    = []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}
)

func (p *parser) parse(data []byte) *File {
	f := &File{Path: p.file, Targets: map[string]*TargetSpec{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 {
		p.errorf(0, "the file is empty: it needs a targets: section")
		return nil
	}
	var targets *yaml.Node
	p.mapping(doc.Content[0], "the file", topKeys, func(key string, k, v *yaml.Node) {
		targets = v
	})
	if targets == nil {
		if len(p.errs) == 0 {
			p.errorf(doc.Content[0].Line, "no targets: section")
		}
		return nil
	}
	p.mapping(targets, "targets", nil, func(name string, k, v *yaml.Node) {
		if !targetName.MatchString(name) {
			p.errorf(k.Line, "target name %q: use letters, digits, '.', '_' and '-' only", name)
			return
		}
		if t := p.target(name, k, v); t != nil {
			f.Targets[name] = t
		}
	})
	if len(f.Targets) == 0 && len(p.errs) == 0 {
		p.errorf(targets.Line, "targets: is empty: define at least one target")
	}
	return f
}

// yamlError turns a syntax error from yaml.v3 ("yaml: line 7: …") into a
// LineError so that every message has the same "file:line:" shape.
func (p *parser) yamlError(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "yaml: unmarshal errors:"))
		if line == "" {
			continue
		}
		if m := yamlLineErr.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			p.errorf(n, "%s", m[2])
			continue
		}
		p.errorf(0, "%s", strings.TrimPrefix(line, "yaml: "))
	}
}

// mapping calls fn for each key of a mapping node, in file order, after
// checking the node is a mapping, keys are unique, and (when known is not
// nil) every key is known.
func (p *parser) mapping(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "%s must be a mapping of keys to values, not %s", what, describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, "in %s: keys must be plain names", what)
			continue
		}
		if key == "<<" {
			p.errorf(k.Line, "in %s: merge keys (<<) are not supported; write the keys out", what)
			continue
		}
		if first, dup := seen[key]; dup {
			p.errorf(k.Line, "duplicate key %q in %s (first at line %d)", key, what, first)
			continue
		}
		seen[key] = k.Line
		if known != nil && !slices.Contains(known, key) {
			msg := fmt.Sprintf("unknown key %q in %s", key, what)
			if s := spelling.Suggest(key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
			}
			p.errorf(k.Line, "%s", msg)
			continue
		}
		fn(key, k, v)
	}
}

func (p *parser) target(name string, k, v *yaml.Node) *TargetSpec {
	t := &TargetSpec{
		Name: name, Line: k.Line, lines: map[string]int{},
		dir: filepath.Dir(p.file), file: p.file,
	}
	what := "target " + name
	before := len(p.errs)
	set := map[string]bool{}
	p.mapping(v, what, targetKeys, func(key string, kn, vn *yaml.Node) {
		t.lines[key] = kn.Line
		set[key] = true
		switch key {
		case "adapter":
			t.Adapter = p.str(vn, what, key)
		case "url":
			t.URL = p.url(vn, what)
		case "username":
			t.Username = p.str(vn, what, key)
		case "password_env":
			if s := p.str(vn, what, key); s != "" {
				// Never echo the value: it may be the password itself,
				// written here by mistake.
				if !envName.MatchString(s) {
					p.errorf(vn.Line, "password_env in %s must name an environment variable (like LAB_PASSWORD), not hold the password; the value is not shown", what)
				} else {
					t.PasswordEnv = s
				}
			}
		case "password_file":
			t.PasswordFile = p.str(vn, what, key)
		case "rate":
			t.Rate = p.number(vn, what, key)
		case "concurrency":
			t.Concurrency = p.count(vn, what, key)
		case "timeout":
			t.Timeout = p.duration(vn, what, key)
		case "description":
			p.str(vn, what, key)
		case "tls":
			p.tls(t, vn, what)
		case "options":
			t.Options = p.options(t, vn, what)
		}
	})
	if deref(v).Kind != yaml.MappingNode {
		return nil
	}
	// url is required by HTTP adapters only, checked once the adapter is
	// known: a target that is a document store (Acrobits) has none.
	for _, req := range []string{"adapter"} {
		if !set[req] {
			p.errorf(k.Line, "target %s has no %s", name, req)
		}
	}
	if set["password_env"] && set["password_file"] {
		p.errorf(t.lines["password_file"], "target %s has both password_env and password_file: keep one", name)
	}
	if t.Username != "" && !set["password_env"] && !set["password_file"] {
		p.errorf(t.lines["username"], "target %s has a username but no password_env or password_file (passwords are never read from the command line)", name)
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		p.errorf(t.lines["tls"], "tls in target %s: cert_file and key_file go together", name)
	}
	if len(p.errs) > before {
		return nil
	}
	return t
}

func (p *parser) tls(t *TargetSpec, n *yaml.Node, what string) {
	what = "tls of " + what
	p.mapping(n, what, tlsKeys, func(key string, kn, vn *yaml.Node) {
		t.lines["tls."+key] = kn.Line
		switch key {
		case "ca_file":
			t.TLS.CAFile = p.str(vn, what, key)
		case "cert_file":
			t.TLS.CertFile = p.str(vn, what, key)
		case "key_file":
			t.TLS.KeyFile = p.str(vn, what, key)
		case "server_name":
			t.TLS.ServerName = p.str(vn, what, key)
		case "insecure_skip_verify":
			t.TLS.InsecureSkipVerify = p.bool(vn, what, key)
		}
	})
}

// options reads the options: block as written; which keys and values are
// allowed depends on the adapter (TargetSpec.checkPlatform).
func (p *parser) options(t *TargetSpec, n *yaml.Node, what string) map[string]string {
	out := map[string]string{}
	p.mapping(n, "options of "+what, nil, func(key string, kn, vn *yaml.Node) {
		t.lines["options."+key] = kn.Line
		if vn.Kind != yaml.ScalarNode || vn.Tag == "!!null" {
			p.errorf(vn.Line, "options.%s in %s must be a single value, not %s", key, what, describe(vn))
			return
		}
		out[key] = vn.Value
	})
	return out
}

// scalar returns the node as a non-null scalar, or reports why not.
func (p *parser) scalar(n *yaml.Node, what, key, want string) (*yaml.Node, bool) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		p.errorf(n.Line, "%s in %s has no value (want %s)", key, what, want)
		return nil, false
	case n.Kind != yaml.ScalarNode:
		p.errorf(n.Line, "%s in %s must be %s, not %s", key, what, want, describe(n))
		return nil, false
	}
	return n, true
}

func (p *parser) str(n *yaml.Node, what, key string) string {
	s, ok := p.scalar(n, what, key, "text")
	if !ok {
		return ""
	}
	if strings.TrimSpace(s.Value) == "" {
		p.errorf(n.Line, "%s in %s is empty", key, what)
		return ""
	}
	return s.Value
}

func (p *parser) url(n *yaml.Node, what string) string {
	s := p.str(n, what, "url")
	if s == "" {
		return ""
	}
	// No message repeats the URL or the parser's error (which quotes it): a
	// URL that fails to parse may well hold "user:password@".
	u, err := url.Parse(s)
	switch {
	case err != nil:
		p.errorf(n.Line, "url in %s is not a valid URL such as https://pbx.example.com:8443 (check for spaces or a %% that is not an escape)", what)
	case u.User != nil || strings.Contains(s, "@"):
		p.errorf(n.Line, "url in %s contains credentials: remove them and use username and password_env or password_file", what)
	case strings.ContainsAny(s, "?#"):
		// A base URL needs neither; a query is where ?password= or
		// ?token= would sit, and it would reach every request and log.
		p.errorf(n.Line, "url in %s has a query string or fragment (?… or #…), which may hold credentials: remove it and use username and password_env or password_file", what)
	case u.Scheme != "http" && u.Scheme != "https":
		p.errorf(n.Line, "url in %s must start with https:// (or http://)", what)
	case u.Host == "":
		p.errorf(n.Line, "url in %s has no host", what)
	default:
		return strings.TrimRight(s, "/")
	}
	return ""
}

func (p *parser) number(n *yaml.Node, what, key string) float64 {
	s, ok := p.scalar(n, what, key, "a number")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(s.Value, 64)
	if (s.Tag != "!!int" && s.Tag != "!!float") || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errorf(n.Line, "%s in %s must be a number of requests per second, got %q", key, what, s.Value)
		return 0
	}
	if f < 0 {
		p.errorf(n.Line, "%s in %s must not be negative (0 means no limit)", key, what)
		return 0
	}
	return f
}

func (p *parser) count(n *yaml.Node, what, key string) int {
	s, ok := p.scalar(n, what, key, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.Atoi(s.Value)
	if s.Tag != "!!int" || err != nil {
		p.errorf(n.Line, "%s in %s must be a whole number, got %q", key, what, s.Value)
		return 0
	}
	if i < 1 || i > 1024 {
		p.errorf(n.Line, "%s in %s must be between 1 and 1024, got %d", key, what, i)
		return 0
	}
	return i
}

func (p *parser) bool(n *yaml.Node, what, key string) bool {
	s, ok := p.scalar(n, what, key, "true or false")
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(s.Value)
	if s.Tag != "!!bool" || err != nil {
		p.errorf(n.Line, "%s in %s must be true or false, got %q", key, what, s.Value)
		return false
	}
	return b
}

// duration accepts Go durations ("30s", "1m30s") and a bare number of
// seconds.
func (p *parser) duration(n *yaml.Node, what, key string) time.Duration {
	s, ok := p.scalar(n, what, key, `a duration like "30s"`)
	if !ok {
		return 0
	}
	var d time.Duration
	if s.Tag == "!!int" || s.Tag == "!!float" {
		f, err := strconv.ParseFloat(s.Value, 64)
		if err == nil {
			d = time.Duration(f * float64(time.Second))
		}
	} else if v, err := time.ParseDuration(s.Value); err == nil {
		d = v
	} else {
		p.errorf(n.Line, "%s in %s must be a duration like \"30s\" or \"2m\", got %q", key, what, s.Value)
		return 0
	}
	if d <= 0 {
		p.errorf(n.Line, "%s in %s must be positive, got %q", key, what, s.Value)
		return 0
	}
	return d
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "this"
}
