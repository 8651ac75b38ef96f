package schemas

import (
	"strings"
	"testing"
	"testing/fstest"
)

// A Verba-shaped pair: users unique per environment, extensions owned by
// a user of their own environment, groups listing members.
const (
	userSchema = `{"x-kind": "user", "x-key": ["loginName", "environment"], "type": "object",
	  "properties": {
	    "loginName": {"type": "string", "title": "Login", "description": "d"},
	    "environment": {"type": "string", "title": "Env", "description": "d"}}}`
	extSchema = `{"x-kind": "extension", "x-key": ["extension", "environment"], "type": "object",
	  "x-refs": {"owner": {"kind": "user", "with": {"environment": "environment"}},
	             "watchers": {"kind": "user", "with": {"environment": "environment"}}},
	  "x-expand": ["extension"],
	  "properties": {
	    "extension": {"type": "string", "title": "Ext", "description": "d"},
	    "environment": {"type": "string", "title": "Env", "description": "d"},
	    "owner": {"type": "string", "title": "Owner", "description": "d"},
	    "watchers": {"type": "array", "items": {"type": "string"}, "title": "W", "description": "d"}}}`
)

func loadPair(t *testing.T, ext string) (*Set, error) {
	t.Helper()
	return LoadFS(fstest.MapFS{"v/user.json": {Data: []byte(userSchema)}, "v/extension.json": {Data: []byte(ext)}}, "v", "v")
}

func TestCompoundReferenceKeys(t *testing.T) {
	s, err := loadPair(t, extSchema)
	if err != nil {
		t.Fatal(err)
	}
	ext, user := s.Kind("extension"), s.Kind("user")
	if got := ext.Expand; len(got) != 1 || got[0] != "extension" {
		t.Errorf("x-expand %v", got)
	}
	rec := Record{"extension": "1001", "environment": "E1", "owner": "jdoe", "watchers": []any{"ann", "", "bob"}}
	var got []string
	for _, r := range ext.Refs {
		if r.KeyField != "loginName" {
			t.Errorf("%s holds %q, want loginName", r.Field, r.KeyField)
		}
		for _, k := range r.Keys(rec) {
			got = append(got, r.Field+"="+user.KeyOf(k))
		}
	}
	if want := "owner=jdoe / E1 watchers=ann / E1 watchers=bob / E1"; strings.Join(got, " ") != want {
		t.Errorf("keys %q, want %q", strings.Join(got, " "), want)
	}
}

func TestCompoundReferenceDeclarationErrors(t *testing.T) {
	for name, c := range map[string]struct{ from, to, want string }{
		"no with":         {`{"kind": "user", "with": {"environment": "environment"}}`, `"user"`, "whose key is loginName + environment"},
		"with not a key":  {`"environment": "environment"`, `"nickname": "environment"`, `"nickname" (in with) is not a key field of user`},
		"with no field":   {`"environment": "environment"}`, `"environment": "env"}`, `takes field "env", which is not a property`},
		"not a kind spec": {`{"kind": "user", "with": {"environment": "environment"}}`, `42`, "want a kind name or"},
		"expand a list":   {`"x-expand": ["extension"]`, `"x-expand": ["watchers"]`, `x-expand field "watchers" is not a string property`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadPair(t, strings.Replace(extSchema, c.from, c.to, 1))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}
