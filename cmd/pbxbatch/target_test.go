package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPTargetWithoutURLIsRefusedNamingTheFix(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	if err := os.WriteFile(cfg, []byte("targets:\n  lab:\n    adapter: mxone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadTarget(&globalOptions{config: cfg}, "lab", nil)
	if err == nil || !strings.Contains(err.Error(), "target lab") || !strings.Contains(err.Error(), "has no url") {
		t.Fatalf("err %v, want target lab has no url", err)
	}
}
