package mxone

import (
	"strings"
	"testing"
)

func TestEXSeriesProblem(t *testing.T) {
	series := []numberSeriesBody{{NumberType: "EX", Start: "0000", End: "0999"}, {NumberType: "R1", Start: "19990", End: "19999"}, {NumberType: "EX", Start: "2000", End: "2999"}}
	for number, want := range map[string]string{
		"0040":  "",
		"2500":  "",
		"40":    "outside the EX number series of subsystem MX-STO (0000-0999, 2000-2999); it has 2 digits where the series has 4, as if a spreadsheet dropped its leading zeros: format the column as Text and type 0040",
		"1500":  "outside the EX number series of subsystem MX-STO (0000-0999, 2000-2999)",
		"19995": "outside the EX number series", // an R1 number is not an extension
	} {
		got := exSeriesProblem(number, "MX-STO", series)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", number, got, want)
		}
	}
	if got := exSeriesProblem("1000", "MX-X", []numberSeriesBody{{NumberType: "R1", Start: "1", End: "9"}}); !strings.Contains(got, "has no EX number series") {
		t.Errorf("no EX series: %q", got)
	}
}
