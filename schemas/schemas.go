// Package schemas holds the JSON Schemas (draft 2020-12) of every adapter's
// kinds, embedded in the binary, and the Kind model the engine reads from
// them. The schema files are the single source of truth for columns, types,
// enums, required fields, natural keys, references and secrets.
//
// Besides standard keywords, a kind's schema carries these annotations:
//
//	"x-kind":     "department"               the kind's name (defaults to the file name)
//	"x-plural":   "departments"              sheet/file name alias (defaults to name+"s")
//	"x-key":      ["departmentName"]         natural key fields, in order
//	"x-refs":     {"location": "location",   field path -> referenced kind; the
//	               "departments": "department"}  referenced kind's key must be one field;
//	                                         an array field holds several references.
//	                                         A compound key (Verba: loginName per
//	                                         environment) takes its other fields from
//	                                         the referring record:
//	               {"owner": {"kind": "user", "with": {"environment": "environment"}}}
//	                                         (key field of user <- field of this record)
//	"x-expand":   ["phoneNumber", "extension"] fields whose cells may hold a range
//	                                         "min..max": the row expands into one record
//	                                         per value, ranges paired by position
//	"x-secret":   true                       (on a property) never printed, logged,
//	                                         journaled or reported in clear
//	"x-writeonly": true                      (on a property) accepted, never returned by
//	                                         the platform: not compared on existing records
//	"x-ordered":  true                       (on a list property) its order means something
//	                                         (MX-ONE: the first department is the primary);
//	                                         other lists of references compare as sets
//	"x-text":     "digits" | "phone"         (on a property) digits kept as text, which
//	                                         spreadsheets damage: "digits" loses leading
//	                                         zeros (extension numbers, PINs, keys, IPEIs,
//	                                         MACs), "phone" its + (E.164 numbers); a
//	                                         cell stored as a number there is reported
//	"x-rule":     "mac" | "mac-lower" | "e164" |      (on a property) a domain rule the validator
//	              "email" | "digits"         applies and words for people (see
//	                                         batch/validate); "digits" takes its lengths
//	                                         from minLength/maxLength
//	"x-readonly": true                       (on the schema) a catalogue exported for
//	                                         audits and ignored by import; (on a property)
//	                                         exported, never written to the target
//
// Column order in templates and exports is the order of "properties" in the
// file; nested objects become dotted columns ("nameIdentity.firstName").
package schemas

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed */*.json
var embedded embed.FS

// Kind is one record type of one adapter.
type Kind struct {
	Adapter     string
	Name        string
	Plural      string
	Title       string
	Description string
	Key         []string // natural key field paths, in order
	Refs        []Ref    // references to other kinds, in column order
	Fields      []*Field // leaf columns in schema order
	ReadOnly    bool     // a catalogue: exported, never imported
	Expand      []string // fields whose cells may hold a range (x-expand)

	Schema *jsonschema.Schema // compiled once; safe for concurrent Validate
	Raw    []byte             // the schema file as embedded
}

// Field is one leaf column of a kind.
type Field struct {
	Path        string // dotted path, also the column header
	Title       string
	Description string
	Type        string   // string, integer, number, boolean, array
	Items       string   // element type for arrays
	Enum        []string // allowed values (of the items, for arrays)
	Required    bool
	Secret      bool
	WriteOnly   bool // accepted by the platform, never returned (x-writeonly): like a secret, not comparable with the target, but printable
	ReadOnly    bool
	Text        string // "digits", "phone" or ""
	Rule        string // x-rule: a named domain rule, or ""
	MinLength   int    // minLength, 0 when absent
	MaxLength   int    // maxLength, 0 when absent
	Format      string
	Pattern     string
	Ref         *Ref     // set when the field references another kind
	Examples    []string // the schema's "examples", as cell text
	Ordered     bool     // a list whose order means something (x-ordered)
}

// Ref says that a field holds the natural key of another kind.
type Ref struct {
	Field string
	Kind  string
	Many  bool // the field is a list of keys
	// KeyField is the referenced kind's key field that Field holds; With
	// maps its other key fields (a compound key) to fields of the
	// referring record.
	KeyField string
	With     []RefWith
}

// RefWith is one key field of a compound reference taken from the
// referring record: the referenced kind's Key field equals its From field.
type RefWith struct {
	Key  string
	From string
}

// Keys returns the key records of the records r references through ref:
// one per value of the field (several for a list; blanks skipped), each
// with the fields ref.With takes from r. Kind.KeyOf of the referenced kind
// renders them the way its records' keys render.
func (ref Ref) Keys(r Record) []Record {
	v, ok := r.Get(ref.Field)
	if !ok || v == nil {
		return nil
	}
	vals, isList := v.([]any)
	if !isList {
		vals = []any{v}
	}
	var out []Record
	for _, x := range vals {
		s := Text(x)
		if s == "" {
			continue
		}
		key := Record{ref.KeyField: s}
		for _, w := range ref.With {
			key[w.Key] = r.String(w.From)
		}
		out = append(out, key)
	}
	return out
}

// Set is the kinds of one adapter.
type Set struct {
	Adapter string
	Kinds   []*Kind // in file-name order; use Order for dependency order
	byName  map[string]*Kind
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Set{}
)

// Load returns the embedded kinds of an adapter ("mxone"), compiled once per
// process.
func Load(adapter string) (*Set, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s, ok := cache[adapter]; ok {
		return s, nil
	}
	s, err := LoadFS(embedded, adapter, adapter)
	if err != nil {
		return nil, err
	}
	cache[adapter] = s
	return s, nil
}

// MustLoad is Load for adapters whose schemas ship in the binary: a broken
// embedded schema is a programming error.
func MustLoad(adapter string) *Set {
	s, err := Load(adapter)
	if err != nil {
		panic(err)
	}
	return s
}

// Adapters lists the adapters that have embedded schemas.
func Adapters() []string {
	entries, _ := fs.ReadDir(embedded, ".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// LoadFS reads and compiles every *.json file in dir of fsys as kinds of
// adapter.
func LoadFS(fsys fs.FS, dir, adapter string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("schemas for %q: %w", adapter, err)
	}
	s := &Set{Adapter: adapter, byName: map[string]*Kind{}}
	compiler := jsonschema.NewCompiler()
	compiler.Draft = jsonschema.Draft2020
	compiler.AssertFormat = true
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".json" {
			continue
		}
		name := path.Join(dir, e.Name())
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		k, err := parseKind(adapter, strings.TrimSuffix(e.Name(), ".json"), raw)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		url := "mem://schemas/" + name
		if err := compiler.AddResource(url, bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if k.Schema, err = compiler.Compile(url); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		s.Kinds = append(s.Kinds, k)
		for _, alias := range []string{k.Name, k.Plural} {
			if _, dup := s.byName[strings.ToLower(alias)]; dup {
				return nil, fmt.Errorf("schema %s: kind name %q used twice", name, alias)
			}
			s.byName[strings.ToLower(alias)] = k
		}
	}
	if err := s.resolveRefs(); err != nil {
		return nil, err
	}
	return s, nil
}

// Kind finds a kind by name or plural, case-insensitively, ignoring spaces,
// dashes and underscores ("Security Profiles" finds security_profile).
func (s *Set) Kind(name string) *Kind {
	if k := s.byName[strings.ToLower(name)]; k != nil {
		return k
	}
	norm := func(x string) string {
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' || r == '_' {
				return -1
			}
			return r
		}, strings.ToLower(x))
	}
	want := norm(name)
	for alias, k := range s.byName {
		if norm(alias) == want {
			return k
		}
	}
	return nil
}

// Order returns the importable kinds so that every kind comes after the kinds
// it references (self-references, like a department's parent, are ordered
// within the kind by the planner). It fails on a cycle between kinds.
func (s *Set) Order() ([]*Kind, error) {
	var out []*Kind
	state := map[*Kind]int{} // 1 visiting, 2 done
	var visit func(k *Kind, path []string) error
	visit = func(k *Kind, trail []string) error {
		switch state[k] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("kinds reference each other in a cycle: %s", strings.Join(append(trail, k.Name), " -> "))
		}
		state[k] = 1
		for _, r := range k.Refs {
			if t := s.byName[r.Kind]; t != k {
				if err := visit(t, append(trail, k.Name)); err != nil {
					return err
				}
			}
		}
		state[k] = 2
		out = append(out, k)
		return nil
	}
	for _, k := range s.Kinds {
		if err := visit(k, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Field returns the field at a dotted path, or nil.
func (k *Kind) Field(path string) *Field {
	for _, f := range k.Fields {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// KeyOf returns a record's natural key as one string: the key fields' values
// joined with " / " (for example "1001 / Stockholm" for an extension).
func (k *Kind) KeyOf(r Record) string {
	parts := make([]string, len(k.Key))
	for i, f := range k.Key {
		parts[i] = r.String(f)
	}
	return strings.Join(parts, " / ")
}

// KeyRecord returns a record holding only the key fields of r, the form
// adapters take for reads by key.
func (k *Kind) KeyRecord(r Record) Record {
	out := Record{}
	for _, f := range k.Key {
		if v, ok := r.Get(f); ok {
			out.Set(f, v)
		}
	}
	return out
}

// SecretPaths returns the dotted paths of secret fields.
func (k *Kind) SecretPaths() []string {
	var out []string
	for _, f := range k.Fields {
		if f.Secret {
			out = append(out, f.Path)
		}
	}
	return out
}

// Redact returns a copy of r with every secret field that is set replaced by
// Mask.
func (k *Kind) Redact(r Record) Record {
	out := r.Clone()
	for _, p := range k.SecretPaths() {
		if v, ok := out.Get(p); ok && v != nil && v != "" {
			out.Set(p, Mask)
		}
	}
	return out
}

// Mask stands in for a secret value wherever one would be shown.
const Mask = "********"

// schemaNode is the part of a JSON Schema the Kind model reads. Properties
// keep their file order through orderedProps.
type schemaNode struct {
	Kind        string                     `json:"x-kind"`
	Plural      string                     `json:"x-plural"`
	Key         []string                   `json:"x-key"`
	Refs        map[string]json.RawMessage `json:"x-refs"`
	Expand      []string                   `json:"x-expand"`
	Secret      bool                       `json:"x-secret"`
	WriteOnly   bool                       `json:"x-writeonly"`
	Ordered     bool                       `json:"x-ordered"`
	Text        string                     `json:"x-text"`
	Rule        string                     `json:"x-rule"`
	MinLength   int                        `json:"minLength"`
	MaxLength   int                        `json:"maxLength"`
	ReadOnly    bool                       `json:"x-readonly"`
	Title       string                     `json:"title"`
	Description string                     `json:"description"`
	Type        any                        `json:"type"`
	Enum        []any                      `json:"enum"`
	Examples    []any                      `json:"examples"`
	Format      string                     `json:"format"`
	Pattern     string                     `json:"pattern"`
	Required    []string                   `json:"required"`
	Items       *schemaNode                `json:"items"`
	Properties  map[string]json.RawMessage `json:"properties"`
	order       []string
}

func parseNode(raw []byte) (*schemaNode, error) {
	var n schemaNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	var probe struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	if len(probe.Properties) > 0 {
		order, err := objectKeys(probe.Properties)
		if err != nil {
			return nil, err
		}
		n.order = order
	}
	return &n, nil
}

// objectKeys returns the keys of a JSON object in file order.
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func typeName(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any: // ["string","null"]: take the first non-null
		for _, x := range v {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

func parseKind(adapter, fileName string, raw []byte) (*Kind, error) {
	root, err := parseNode(raw)
	if err != nil {
		return nil, err
	}
	k := &Kind{
		Adapter:     adapter,
		Name:        cmp.Or(root.Kind, fileName),
		Title:       root.Title,
		Description: root.Description,
		Key:         root.Key,
		ReadOnly:    root.ReadOnly,
		Raw:         raw,
	}
	k.Plural = cmp.Or(root.Plural, k.Name+"s")
	if len(k.Key) == 0 {
		return nil, fmt.Errorf("no x-key")
	}
	var walk func(prefix string, n *schemaNode, required bool) error
	walk = func(prefix string, n *schemaNode, required bool) error {
		for _, name := range n.order {
			child, err := parseNode(n.Properties[name])
			if err != nil {
				return fmt.Errorf("property %s%s: %w", prefix, name, err)
			}
			p := prefix + name
			req := required && slices.Contains(n.Required, name)
			if typeName(child.Type) == "object" && len(child.order) > 0 {
				if err := walk(p+".", child, req); err != nil {
					return err
				}
				continue
			}
			f := &Field{
				Path: p, Title: child.Title, Description: child.Description,
				Type: typeName(child.Type), Required: req, Secret: child.Secret, WriteOnly: child.WriteOnly,
				ReadOnly: child.ReadOnly, Format: child.Format,
				Pattern: child.Pattern, Enum: enumStrings(child.Enum), Examples: enumStrings(child.Examples),
				Ordered: child.Ordered,
			}
			annotateText(f, child)
			if child.Items != nil {
				f.Items = typeName(child.Items.Type)
				if len(f.Enum) == 0 {
					f.Enum = enumStrings(child.Items.Enum)
				}
				annotateText(f, child.Items)
			}
			if f.Title == "" || f.Description == "" {
				return fmt.Errorf("property %s needs a title and a description", p)
			}
			k.Fields = append(k.Fields, f)
		}
		return nil
	}
	if err := walk("", root, true); err != nil {
		return nil, err
	}
	for _, key := range k.Key {
		if k.Field(key) == nil {
			return nil, fmt.Errorf("x-key field %q is not a property", key)
		}
	}
	if err := parseRefs(k, root.Refs); err != nil {
		return nil, err
	}
	if err := parseExpand(k, root.Expand); err != nil {
		return nil, err
	}
	return k, nil
}

// parseRefs reads x-refs: field path -> kind name, or -> {"kind": name,
// "with": {key field of that kind: field of this one}} for a compound key.
// Which key field the reference field itself holds is settled by
// resolveRefs, once every kind is known.
func parseRefs(k *Kind, refs map[string]json.RawMessage) error {
	paths := make([]string, 0, len(refs))
	for f := range refs {
		paths = append(paths, f)
	}
	sort.Strings(paths)
	for _, path := range paths {
		f := k.Field(path)
		if f == nil {
			return fmt.Errorf("x-refs field %q is not a property", path)
		}
		ref := &Ref{Field: path, Many: f.Type == "array"}
		if err := json.Unmarshal(refs[path], &ref.Kind); err != nil {
			var spec struct {
				Kind string            `json:"kind"`
				With map[string]string `json:"with"`
			}
			if err := json.Unmarshal(refs[path], &spec); err != nil || spec.Kind == "" {
				return fmt.Errorf(`x-refs field %q: want a kind name or {"kind": name, "with": {key field: field}}`, path)
			}
			ref.Kind = spec.Kind
			for key, from := range spec.With {
				if k.Field(from) == nil {
					return fmt.Errorf("x-refs field %q: with %s takes field %q, which is not a property", path, key, from)
				}
				ref.With = append(ref.With, RefWith{Key: key, From: from})
			}
			slices.SortFunc(ref.With, func(a, b RefWith) int { return cmp.Compare(a.Key, b.Key) })
		}
		f.Ref = ref
	}
	for _, f := range k.Fields { // column order, not map order
		if f.Ref != nil {
			k.Refs = append(k.Refs, *f.Ref)
		}
	}
	return nil
}

// resolveRefs checks every reference against the kind it names: the
// referenced key must be one field, or several of which "with" supplies
// all but the one the reference field holds.
func (s *Set) resolveRefs() error {
	for _, k := range s.Kinds {
		for _, f := range k.Fields {
			r := f.Ref
			if r == nil {
				continue
			}
			t := s.byName[r.Kind]
			if t == nil {
				return fmt.Errorf("kind %s: field %s references unknown kind %q", k.Name, r.Field, r.Kind)
			}
			var rest []string
			for _, key := range t.Key {
				if !slices.ContainsFunc(r.With, func(w RefWith) bool { return w.Key == key }) {
					rest = append(rest, key)
				}
			}
			for _, w := range r.With {
				if !slices.Contains(t.Key, w.Key) {
					return fmt.Errorf("kind %s: field %s: %q (in with) is not a key field of %s (its key: %s)", k.Name, r.Field, w.Key, t.Name, strings.Join(t.Key, ", "))
				}
			}
			if len(rest) != 1 {
				return fmt.Errorf("kind %s: field %s references %s, whose key is %s: name in \"with\" where every key field but one comes from", k.Name, r.Field, t.Name, strings.Join(t.Key, " + "))
			}
			r.KeyField = rest[0]
		}
		k.Refs = k.Refs[:0]
		for _, f := range k.Fields {
			if f.Ref != nil {
				k.Refs = append(k.Refs, *f.Ref)
			}
		}
	}
	return nil
}

// parseExpand reads x-expand: the string fields whose cells may hold a
// range.
func parseExpand(k *Kind, fields []string) error {
	for _, p := range fields {
		f := k.Field(p)
		if f == nil || f.Type != "string" {
			return fmt.Errorf("x-expand field %q is not a string property", p)
		}
	}
	k.Expand = fields
	return nil
}

// annotateText takes the text annotations of a property, or of a list's
// items (the first that sets one wins): how spreadsheets damage it and the
// rule that checks it.
func annotateText(f *Field, n *schemaNode) {
	f.Text = cmp.Or(f.Text, n.Text)
	if f.Rule == "" {
		f.Rule, f.MinLength, f.MaxLength = n.Rule, n.MinLength, n.MaxLength
	}
}

func enumStrings(vals []any) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, Text(Normalize(v)))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
