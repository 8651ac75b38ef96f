// Package config reads pbxbatch.yaml, the file that names targets:
//
//	targets:
//	  lab:
//	    adapter: mxone
//	    url: https://127.0.0.1:8443
//	    username: admin
//	    password_env: LAB_PASSWORD      # or password_file: a file only its owner can read
//	    rate: 50                        # requests per second
//	    concurrency: 8
//	    timeout: 30s                    # per request
//	    tls: {ca_file: ca.pem, insecure_skip_verify: false}
//	    options: {}                     # the adapter's own keys (sipx: realm, generate_profiles)
//	    description: lab PBX in rack 4  # free text, ignored
//
// The file is read as yaml.v3 nodes rather than unmarshalled into structs so
// that every mistake (an unknown key, a wrong type, a missing value) is
// reported with the file and line, and all of them at once. Passwords never
// come from the command line or the file itself: only from an environment
// variable or an owner-only file, resolved when a target is opened so that a
// config with many targets does not need every password set.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// File is a parsed pbxbatch.yaml. Nothing secret is held: passwords are
// resolved by Target.
type File struct {
	Path    string
	Targets map[string]*TargetSpec
}

// TargetSpec is one entry under targets:, as written. Line numbers are kept
// so that errors found later (an unset variable, an unreadable file) still
// point at the file.
type TargetSpec struct {
	Name         string
	Line         int
	Adapter      string
	URL          string
	Username     string
	PasswordEnv  string
	PasswordFile string // as written; relative paths are relative to the config file
	Rate         float64
	Concurrency  int
	Timeout      time.Duration
	TLS          TLSSpec
	Options      map[string]string

	lines map[string]int // key path ("password_env", "tls.ca_file") -> line
	dir   string         // directory of the config file
	file  string
}

// TLSSpec is the tls: block of a target.
type TLSSpec struct {
	CAFile             string
	CertFile           string // client certificate (mutual TLS)
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// LineError is one mistake in the file, rendered "pbxbatch.yaml:7: …".
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Load reads and checks a config file. A missing file is an error that says
// how to create one.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config file %s not found: create it (see `pbxbatch help plan`) or point --config at it", path)
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return Parse(path, data)
}

// Parse checks the content of a config file read from path (used for
// messages and to resolve relative paths). The error, when not nil, joins one
// *LineError per mistake, in line order.
func Parse(path string, data []byte) (*File, error) {
	p := &parser{file: path}
	f := p.parse(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *LineError) int { return cmp.Compare(a.Line, b.Line) })
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// Names returns the target names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Targets))
	for n := range f.Targets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spec returns the named target as written, or an error listing the names
// the file has.
func (f *File) Spec(name string) (*TargetSpec, error) {
	if t, ok := f.Targets[name]; ok {
		return t, nil
	}
	if name == "" {
		return nil, fmt.Errorf("no target given: use --target NAME (%s has: %s)", f.Path, strings.Join(f.Names(), ", "))
	}
	msg := fmt.Sprintf("target %q is not in %s (it has: %s)", name, f.Path, strings.Join(f.Names(), ", "))
	if s := spelling.Suggest(name, f.Names()); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	return nil, errors.New(msg)
}

// at renders a position in the file for messages about a key of the target.
func (t *TargetSpec) at(key string) string {
	line := t.lines[key]
	if line == 0 {
		line = t.Line
	}
	return fmt.Sprintf("%s:%d", t.file, line)
}

// resolve makes a path from the file relative to the file's directory.
func (t *TargetSpec) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(t.dir, p)
}
