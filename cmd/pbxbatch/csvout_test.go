package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/diag"
)

func TestDiagsCSVEscapesFormulasAndKeepsCells(t *testing.T) {
	var l diag.List
	l.Errorf(diag.Origin{Sheet: "Users", Row: 7, Col: "D"}, "emailAddress", "domain.email", "not an e-mail")
	l[0].Value = `=HYPERLINK("http://x","click")`
	var b bytes.Buffer
	if err := writeDiagsCSV(&b, l); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %q", err, recs)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	if row["cell"] != "Users!D7" || row["row"] != "7" || row["code"] != "domain.email" {
		t.Errorf("row = %v", row)
	}
	if !strings.HasPrefix(row["value"], "'=") {
		t.Errorf("a formula-like value must be escaped for spreadsheets: %q", row["value"])
	}
}

func TestRunsCSVHasAHeaderEvenWhenEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := writeRunsCSV(&b, []rundir.Info{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); !strings.HasPrefix(got, "id,target,adapter,input,started") || strings.Contains(got, "\n") {
		t.Errorf("empty runs CSV = %q, want only the header", got)
	}
}
