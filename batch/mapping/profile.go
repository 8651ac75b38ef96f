package mapping

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pbxbatch/pbxbatch/schemas"
	"github.com/pbxbatch/pbxbatch/templates"
)

// Profile is a compiled mapping profile: how the kinds of one adapter
// become the kinds of another.
type Profile struct {
	Name        string // file name without .yaml
	File        string // where it was read: "templates/profiles/x.yaml" or the user's path
	Description string
	Source      *schemas.Set
	Target      *schemas.Set
	Params      []Param
	Kinds       []*TargetKind            // in the target's dependency order
	Renames     map[string]*expr         // target kind → new key from {value}
	Secrets     map[string]*SecretPolicy // "kind.field" of every secret target field
	Drops       map[string]Drop          // "kind" or "kind.field" of the source → why it is not mapped
}

// Param is a value an operator may set with --set name=value.
type Param struct {
	Name, Value, Help string
}

// TargetKind is every rule that feeds one target kind.
type TargetKind struct {
	Kind     *schemas.Kind
	Rules    []*Rule
	Defaults []Field // applied to merged rows where a field is still blank
}

// Rule turns each row of a source kind (or nothing, for constant rows)
// into one row of the target kind. Rows of all rules of a kind that end up
// with the same key merge into one.
type Rule struct {
	Line   int
	From   *schemas.Kind // nil for constant rows
	Where  *cond         // nil: every row
	Fields []Field
	Rows   [][]Field // constant rows (From is nil)
}

// Field is one target field and the expression that computes it.
type Field struct {
	Path string
	Expr *expr
	Line int
}

// Drop says why a source kind or field goes nowhere, on purpose.
type Drop struct {
	Reason string
}

// SecretPolicy says where a secret target field's value comes from:
// generated, taken from a side file the operator supplies, or left blank
// so that the target keeps or sets its default.
type SecretPolicy struct {
	Kind, Field string
	Policy      string // "generate", "file" or "blank"
	Length      int
	Chars       string // generate: "digits" or "alnum"
}

// Secret policies.
const (
	Generate = "generate"
	FromFile = "file"
	Blank    = "blank"
)

const profileDir = "profiles"

// List returns the names of the embedded profiles, sorted.
func List() []string {
	entries, _ := fs.ReadDir(templates.Profiles, profileDir)
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Load reads a profile by embedded name ("sipx-to-mxone") or by the path
// of a user's own file (anything with a / or ending in .yaml), and
// compiles it against both adapters' schemas. Every error names the file
// and line.
func Load(nameOrPath string) (*Profile, error) {
	if strings.ContainsAny(nameOrPath, `/\`) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		raw, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", nameOrPath, err)
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(nameOrPath), ".yaml"), ".yml")
		return Parse(name, nameOrPath, raw)
	}
	file := path.Join(profileDir, nameOrPath+".yaml")
	raw, err := fs.ReadFile(templates.Profiles, file)
	if err != nil {
		return nil, fmt.Errorf("no profile %q; shipped profiles: %s (or give the path of your own .yaml file)", nameOrPath, strings.Join(List(), ", "))
	}
	return Parse(nameOrPath, "templates/"+file, raw)
}

// Parse compiles a profile from its YAML text; file names it in errors.
func Parse(name, file string, raw []byte) (*Profile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the profile is empty", file)
	}
	resolveAliases(&doc)
	c := &compiler{file: file, p: &Profile{Name: name, File: file, Renames: map[string]*expr{}, Secrets: map[string]*SecretPolicy{}, Drops: map[string]Drop{}}}
	if err := c.profile(doc.Content[0]); err != nil {
		return nil, err
	}
	return c.p, nil
}

// resolveAliases replaces every *alias by the node its &anchor names, so
// that a profile can say a long regular expression once.
func resolveAliases(n *yaml.Node) {
	for i, c := range n.Content {
		for c.Kind == yaml.AliasNode {
			c = c.Alias
		}
		n.Content[i] = c
		resolveAliases(c)
	}
}

type compiler struct {
	file string
	p    *Profile
}

func (c *compiler) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.file, n.Line, fmt.Sprintf(format, args...))
}

// pairs returns a mapping node's keys and values, or an error naming what
// the node should have been.
func (c *compiler) pairs(n *yaml.Node, what string) ([][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, c.errf(n, "%s must be a mapping (key: value lines)", what)
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out, nil
}

func (c *compiler) scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", c.errf(n, "%s must be a single value", what)
	}
	return n.Value, nil
}

func (c *compiler) profile(root *yaml.Node) error {
	top, err := c.pairs(root, "the profile")
	if err != nil {
		return err
	}
	nodes := map[string]*yaml.Node{}
	for _, kv := range top {
		k := kv[0].Value
		if !slices.Contains([]string{"description", "source", "target", "params", "kinds", "renames", "secrets", "drop"}, k) {
			return c.errf(kv[0], "unknown section %q (sections: description, source, target, params, kinds, renames, secrets, drop)", k)
		}
		nodes[k] = kv[1]
	}
	for _, k := range []string{"source", "target", "kinds"} {
		if nodes[k] == nil {
			return c.errf(root, "the profile has no %q section", k)
		}
	}
	if n := nodes["description"]; n != nil {
		c.p.Description = n.Value
	}
	if c.p.Source, err = c.adapter(nodes["source"]); err != nil {
		return err
	}
	if c.p.Target, err = c.adapter(nodes["target"]); err != nil {
		return err
	}
	if n := nodes["params"]; n != nil {
		if err := c.params(n); err != nil {
			return err
		}
	}
	if err := c.kinds(nodes["kinds"]); err != nil {
		return err
	}
	if n := nodes["renames"]; n != nil {
		if err := c.renames(n); err != nil {
			return err
		}
	}
	if err := c.secrets(nodes["secrets"]); err != nil {
		return err
	}
	if n := nodes["drop"]; n != nil {
		if err := c.drops(n); err != nil {
			return err
		}
	}
	return nil
}

func (c *compiler) adapter(n *yaml.Node) (*schemas.Set, error) {
	name, err := c.scalar(n, "an adapter")
	if err != nil {
		return nil, err
	}
	s, err := schemas.Load(name)
	if err != nil {
		return nil, c.errf(n, "unknown adapter %q (adapters: %s)", name, strings.Join(schemas.Adapters(), ", "))
	}
	return s, nil
}

// params: name: value, or name: {value: …, help: …}.
func (c *compiler) params(n *yaml.Node) error {
	ps, err := c.pairs(n, "params")
	if err != nil {
		return err
	}
	for _, kv := range ps {
		p := Param{Name: kv[0].Value}
		switch kv[1].Kind {
		case yaml.ScalarNode:
			p.Value = kv[1].Value
		case yaml.MappingNode:
			fs, _ := c.pairs(kv[1], "a param")
			for _, f := range fs {
				switch f[0].Value {
				case "value":
					p.Value = f[1].Value
				case "help":
					p.Help = f[1].Value
				default:
					return c.errf(f[0], "param %s: unknown key %q (value, help)", p.Name, f[0].Value)
				}
			}
		default:
			return c.errf(kv[1], "param %s must be a value or {value: …, help: …}", p.Name)
		}
		c.p.Params = append(c.p.Params, p)
	}
	return nil
}

func (c *compiler) param(name string) bool {
	return slices.ContainsFunc(c.p.Params, func(p Param) bool { return p.Name == name })
}

func (c *compiler) targetKind(n *yaml.Node) (*schemas.Kind, error) {
	k := c.p.Target.Kind(n.Value)
	if k == nil || k.ReadOnly {
		return nil, c.errf(n, "%s has no importable kind %q", c.p.Target.Adapter, n.Value)
	}
	return k, nil
}

func (c *compiler) kinds(n *yaml.Node) error {
	ks, err := c.pairs(n, "kinds")
	if err != nil {
		return err
	}
	byKind := map[*schemas.Kind]*TargetKind{}
	for _, kv := range ks {
		k, err := c.targetKind(kv[0])
		if err != nil {
			return err
		}
		if byKind[k] != nil {
			return c.errf(kv[0], "kind %s appears twice; list all its rules under one entry", k.Name)
		}
		tk := &TargetKind{Kind: k}
		byKind[k] = tk
		if err := c.targetRules(tk, kv[1]); err != nil {
			return err
		}
	}
	order, err := c.p.Target.Order()
	if err != nil {
		return err
	}
	for _, k := range order {
		if tk := byKind[k]; tk != nil {
			c.p.Kinds = append(c.p.Kinds, tk)
		}
	}
	return nil
}

// targetRules reads a kind's entry: a list of rules, or a mapping with
// "rules" and "defaults".
func (c *compiler) targetRules(tk *TargetKind, n *yaml.Node) error {
	rules := n
	if n.Kind == yaml.MappingNode {
		rules = nil
		ps, _ := c.pairs(n, "a kind")
		for _, kv := range ps {
			switch kv[0].Value {
			case "rules":
				rules = kv[1]
			case "defaults":
				fs, err := c.fields(tk.Kind, nil, kv[1])
				if err != nil {
					return err
				}
				tk.Defaults = fs
			default:
				return c.errf(kv[0], "kind %s: unknown key %q (rules, defaults)", tk.Kind.Name, kv[0].Value)
			}
		}
		if rules == nil {
			return c.errf(n, "kind %s has no rules", tk.Kind.Name)
		}
	}
	if rules.Kind != yaml.SequenceNode {
		return c.errf(rules, "the rules of kind %s must be a list (lines starting with -)", tk.Kind.Name)
	}
	for _, rn := range rules.Content {
		r, err := c.rule(tk.Kind, rn)
		if err != nil {
			return err
		}
		tk.Rules = append(tk.Rules, r)
	}
	return nil
}

func (c *compiler) rule(k *schemas.Kind, n *yaml.Node) (*Rule, error) {
	ps, err := c.pairs(n, "a rule")
	if err != nil {
		return nil, err
	}
	r := &Rule{Line: n.Line}
	var where, fields, rows *yaml.Node
	for _, kv := range ps {
		switch kv[0].Value {
		case "from":
			if r.From = c.p.Source.Kind(kv[1].Value); r.From == nil {
				return nil, c.errf(kv[1], "%s has no kind %q", c.p.Source.Adapter, kv[1].Value)
			}
		case "where":
			where = kv[1]
		case "fields":
			fields = kv[1]
		case "rows":
			rows = kv[1]
		default:
			return nil, c.errf(kv[0], "unknown rule key %q (from, where, fields, rows)", kv[0].Value)
		}
	}
	switch {
	case r.From == nil && rows == nil:
		return nil, c.errf(n, "a rule of %s needs from: (a source kind) or rows: (constant rows)", k.Name)
	case r.From != nil && rows != nil:
		return nil, c.errf(n, "a rule of %s has both from: and rows:; use two rules", k.Name)
	case r.From != nil && fields == nil:
		return nil, c.errf(n, "the rule from %s has no fields:", r.From.Name)
	}
	if where != nil {
		if r.From == nil {
			return nil, c.errf(where, "where: needs a from: kind")
		}
		if r.Where, err = c.cond(r.From, where); err != nil {
			return nil, err
		}
	}
	if fields != nil {
		if r.Fields, err = c.fields(k, r.From, fields); err != nil {
			return nil, err
		}
		if err := c.hasKey(k, r.Fields, n); err != nil {
			return nil, err
		}
	}
	if rows != nil {
		if rows.Kind != yaml.SequenceNode {
			return nil, c.errf(rows, "rows: must be a list of rows")
		}
		for _, rn := range rows.Content {
			fs, err := c.fields(k, nil, rn)
			if err != nil {
				return nil, err
			}
			if err := c.hasKey(k, fs, rn); err != nil {
				return nil, err
			}
			r.Rows = append(r.Rows, fs)
		}
	}
	return r, nil
}

func (c *compiler) hasKey(k *schemas.Kind, fs []Field, n *yaml.Node) error {
	for _, key := range k.Key {
		if !slices.ContainsFunc(fs, func(f Field) bool { return f.Path == key }) {
			return c.errf(n, "this %s rule does not set the key field %s", k.Name, key)
		}
	}
	return nil
}

// fields compiles target field: expression pairs; from is the kind the
// expressions read (nil: parameters only).
func (c *compiler) fields(k *schemas.Kind, from *schemas.Kind, n *yaml.Node) ([]Field, error) {
	ps, err := c.pairs(n, "fields")
	if err != nil {
		return nil, err
	}
	var out []Field
	for _, kv := range ps {
		f := k.Field(kv[0].Value)
		switch {
		case f == nil:
			return nil, c.errf(kv[0], "%s has no field %q", k.Name, kv[0].Value)
		case f.ReadOnly:
			return nil, c.errf(kv[0], "%s.%s is read-only on %s: import never writes it", k.Name, f.Path, c.p.Target.Adapter)
		case f.Secret:
			return nil, c.errf(kv[0], "%s.%s is a secret: say where it comes from under secrets:, not in a rule", k.Name, f.Path)
		}
		e, err := c.expr(from, kv[1])
		if err != nil {
			return nil, err
		}
		out = append(out, Field{Path: f.Path, Expr: e, Line: kv[0].Line})
	}
	return out, nil
}

func (c *compiler) renames(n *yaml.Node) error {
	ps, err := c.pairs(n, "renames")
	if err != nil {
		return err
	}
	for _, kv := range ps {
		k, err := c.targetKind(kv[0])
		if err != nil {
			return err
		}
		if len(k.Key) != 1 {
			return c.errf(kv[0], "%s has a key of %d fields; renames need a one-field key", k.Name, len(k.Key))
		}
		e, err := c.exprWith(nil, kv[1], true)
		if err != nil {
			return err
		}
		c.p.Renames[k.Name] = e
	}
	return nil
}

// secrets gives every secret field of every target kind the profile maps a
// policy; fields the profile does not name are left blank.
func (c *compiler) secrets(n *yaml.Node) error {
	if n != nil {
		ps, err := c.pairs(n, "secrets")
		if err != nil {
			return err
		}
		for _, kv := range ps {
			kind, field, _ := strings.Cut(kv[0].Value, ".")
			k, err := c.targetKind(&yaml.Node{Value: kind, Line: kv[0].Line})
			if err != nil {
				return err
			}
			f := k.Field(field)
			if f == nil || !f.Secret {
				return c.errf(kv[0], "%s.%s is not a secret field of %s (write kind.field)", k.Name, field, c.p.Target.Adapter)
			}
			sp := &SecretPolicy{Kind: k.Name, Field: f.Path}
			if err := c.secretPolicy(sp, kv[1]); err != nil {
				return err
			}
			c.p.Secrets[k.Name+"."+f.Path] = sp
		}
	}
	for _, tk := range c.p.Kinds {
		for _, p := range tk.Kind.SecretPaths() {
			if c.p.Secrets[tk.Kind.Name+"."+p] == nil {
				c.p.Secrets[tk.Kind.Name+"."+p] = &SecretPolicy{Kind: tk.Kind.Name, Field: p, Policy: Blank}
			}
		}
	}
	return nil
}

// secretPolicy reads blank, file, or {generate: {length: N, chars: digits|alnum}}.
func (c *compiler) secretPolicy(sp *SecretPolicy, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case Blank, FromFile:
			sp.Policy = n.Value
			return nil
		case Generate:
			sp.Policy, sp.Length, sp.Chars = Generate, 16, "alnum"
			return nil
		}
		return c.errf(n, "secret policy %q: use generate, file or blank", n.Value)
	}
	ps, err := c.pairs(n, "a secret policy")
	if err != nil {
		return err
	}
	if len(ps) != 1 || ps[0][0].Value != Generate {
		return c.errf(n, "a secret policy is generate, file, blank or {generate: {length: 12, chars: alnum}}")
	}
	sp.Policy, sp.Length, sp.Chars = Generate, 16, "alnum"
	opts, err := c.pairs(ps[0][1], "generate")
	if err != nil {
		return err
	}
	for _, kv := range opts {
		switch kv[0].Value {
		case "length":
			if _, err := fmt.Sscan(kv[1].Value, &sp.Length); err != nil || sp.Length < 4 || sp.Length > 64 {
				return c.errf(kv[1], "length must be a number from 4 to 64")
			}
		case "chars":
			if kv[1].Value != "digits" && kv[1].Value != "alnum" {
				return c.errf(kv[1], "chars must be digits or alnum")
			}
			sp.Chars = kv[1].Value
		default:
			return c.errf(kv[0], "generate: unknown key %q (length, chars)", kv[0].Value)
		}
	}
	return nil
}

// drops: source kind: reason, or kind.field: reason.
func (c *compiler) drops(n *yaml.Node) error {
	ps, err := c.pairs(n, "drop")
	if err != nil {
		return err
	}
	for _, kv := range ps {
		kind, field, hasField := strings.Cut(kv[0].Value, ".")
		k := c.p.Source.Kind(kind)
		if k == nil {
			return c.errf(kv[0], "%s has no kind %q", c.p.Source.Adapter, kind)
		}
		key := k.Name
		if hasField {
			if k.Field(field) == nil {
				return c.errf(kv[0], "%s has no field %q", k.Name, field)
			}
			key += "." + field
		}
		reason, err := c.scalar(kv[1], "a drop reason")
		if err != nil {
			return err
		}
		if strings.TrimSpace(reason) == "" {
			return c.errf(kv[1], "say why %s is dropped", kv[0].Value)
		}
		c.p.Drops[key] = Drop{Reason: reason}
	}
	return nil
}
