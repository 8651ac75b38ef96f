package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// runTemplate runs the CLI with args and returns its exit code and output.
func runTemplate(args ...string) (int, string) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && !isSilent(err) {
		out.WriteString(err.Error())
	}
	return exitCode(err), out.String()
}

func TestTemplateCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rollout.xlsx")

	code, msg := runTemplate("template", "mxone", "-o", out)
	if code != 0 || !strings.Contains(msg, "wrote") || !strings.Contains(msg, "Extensions") {
		t.Fatalf("first write: %d %s", code, msg)
	}
	b, err := workbook.Open(out, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Table("README") == nil || b.Table("Users") == nil {
		t.Errorf("sheets %v", b.Tables)
	}
	b.Close()

	if code, msg := runTemplate("template", "mxone", "-o", out); code != 0 || !strings.Contains(msg, "up to date") {
		t.Errorf("rewrite of an identical template: %d %s", code, msg)
	}

	// A file with other content (a filled-in copy) is protected.
	if err := os.WriteFile(out, []byte("my rows"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, msg := runTemplate("template", "mxone", "-o", out); code != 1 || !strings.Contains(msg, "--force") {
		t.Errorf("overwrite without --force: %d %s", code, msg)
	}
	if kept, _ := os.ReadFile(out); string(kept) != "my rows" {
		t.Errorf("the user's file was touched")
	}
	if code, msg := runTemplate("template", "mxone", "-o", out, "--force"); code != 0 || !strings.Contains(msg, "wrote") {
		t.Errorf("--force: %d %s", code, msg)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"template", "nope", "-o", filepath.Join(dir, "x.xlsx")}, "unknown adapter"},
		{[]string{"template", "mxone"}, "-o"},
		{[]string{"template", "mxone", "-o", filepath.Join(dir, "x.csv")}, ".xlsx"},
	} {
		if code, msg := runTemplate(c.args...); code != 1 || !strings.Contains(msg, c.want) {
			t.Errorf("%v: %d %s", c.args, code, msg)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".pbxbatch-template-*"))
	if len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}
