// Package templates generates the blank rollout workbook of an adapter from
// its schemas: a README sheet explaining the conventions, then one sheet per
// importable kind in dependency order, with the kind's fields as columns,
// descriptions as header comments, drop-downs for enums, text formatting
// for number-like columns and one example row that validates.
//
// The workbook reads back through internal/workbook without a single
// finding: no formulas, merged cells, hidden sheets or blank rows.
package templates

// The committed <platform>-rollout-template.xlsx files, one per shipped
// platform (adapters/platforms), are rewritten by their check:
//go:generate go test ../adapters/platforms -run TestCommittedTemplatesAreCurrent -update

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Sheets of a template that hold no records; a validator skips them
// (internal/workbook.IsNotData).
const (
	ReadmeSheet = workbook.ReadmeSheet
	ListsSheet  = workbook.ListsSheet // allowed values of drop-downs too long to inline
	// ActionColumn is the first column of every kind sheet.
	ActionColumn = "action"
)

// Actions are the values of the action column, the default first.
var Actions = []string{string(batch.Upsert), string(batch.CreateRow), string(batch.UpdateRow), string(batch.DeleteRow)}

// Clear is the cell text that clears a field on the target.
const Clear = batch.ClearToken

// SheetName is the sheet a kind gets in a template: its plural in title
// case ("security_profiles" → "Security Profiles"), which schemas.Set.Kind
// finds again.
func SheetName(k *schemas.Kind) string {
	words := strings.FieldsFunc(k.Plural, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	name := strings.Join(words, " ")
	if len([]rune(name)) > 31 { // Excel's limit for sheet names
		name = string([]rune(name)[:31])
	}
	return name
}

// Kinds returns the kinds a template has sheets for: the importable ones,
// in dependency order.
func Kinds(set *schemas.Set) ([]*schemas.Kind, error) {
	order, err := set.Order()
	if err != nil {
		return nil, err
	}
	var out []*schemas.Kind
	for _, k := range order {
		if !k.ReadOnly {
			out = append(out, k)
		}
	}
	return out, nil
}

// Columns returns the columns of a kind's sheet: the action column, then
// every field the import writes (read-only fields are export-only).
func Columns(k *schemas.Kind) []string {
	cols := []string{ActionColumn}
	for _, f := range k.Fields {
		if !f.ReadOnly {
			cols = append(cols, f.Path)
		}
	}
	return cols
}

// Bytes renders the template of set as an .xlsx file. The output is
// deterministic: the same schemas give the same bytes.
func Bytes(set *schemas.Set) ([]byte, error) {
	f, err := Build(set)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Build returns the template of set as an excelize file; the caller closes
// it.
func Build(set *schemas.Set) (*excelize.File, error) {
	kinds, err := Kinds(set)
	if err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("adapter %s has no importable kinds", set.Adapter)
	}
	examples, err := Examples(set)
	if err != nil {
		return nil, err
	}
	b := &builder{f: excelize.NewFile(), set: set}
	ok := false
	defer func() {
		if !ok {
			b.f.Close()
		}
	}()
	if err := b.styles(); err != nil {
		return nil, err
	}
	if err := b.f.SetSheetName("Sheet1", ReadmeSheet); err != nil {
		return nil, err
	}
	if err := b.readme(kinds); err != nil {
		return nil, err
	}
	for _, k := range kinds {
		if err := b.kindSheet(k, examples[k.Name]); err != nil {
			return nil, fmt.Errorf("kind %s: %w", k.Name, err)
		}
	}
	if err := b.f.SetDocProps(&excelize.DocProperties{
		Title:       "pbxbatch rollout template: " + set.Adapter,
		Creator:     "pbxbatch",
		Keywords:    "pbxbatch template " + set.Adapter,
		Description: "Fill one sheet per kind, then run: pbxbatch validate --adapter " + set.Adapter + " FILE",
		// Fixed, so that regenerating an unchanged template changes no byte.
		Created:  fixedTime,
		Modified: fixedTime,
	}); err != nil {
		return nil, err
	}
	b.f.SetActiveSheet(0)
	ok = true
	return b.f, nil
}

var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)

type builder struct {
	f     *excelize.File
	set   *schemas.Set
	lists int // columns used on the Lists sheet

	title, heading, wrap, text                   int
	header, headerRequired, headerSecret, action int
}

// Fills and fonts of the header: the README's legend names them.
const (
	requiredFill = "F8CBAD" // orange
	secretFill   = "D9D9D9" // grey
	headerFill   = "DDEBF7" // pale blue
)

func (b *builder) styles() error {
	var err error
	mk := func(dst *int, s *excelize.Style) {
		if err == nil {
			*dst, err = b.f.NewStyle(s)
		}
	}
	textFmt := 49 // "@": Excel keeps the cell as typed (leading zeros, +)
	headerStyle := func(fill string) *excelize.Style {
		return &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{fill}},
			Border:    []excelize.Border{{Type: "bottom", Color: "808080", Style: 2}},
			NumFmt:    textFmt,
			Alignment: &excelize.Alignment{Vertical: "center"},
		}
	}
	mk(&b.title, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	mk(&b.heading, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}})
	mk(&b.wrap, &excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	mk(&b.text, &excelize.Style{NumFmt: textFmt})
	mk(&b.header, headerStyle(headerFill))
	mk(&b.headerRequired, headerStyle(requiredFill))
	mk(&b.headerSecret, headerStyle(secretFill))
	mk(&b.action, &excelize.Style{NumFmt: textFmt, Font: &excelize.Font{Italic: true}})
	return err
}

// readme writes the conventions, one line per row in column A (a template
// must read back without findings, so no blank rows and no merged cells).
func (b *builder) readme(kinds []*schemas.Kind) error {
	a := b.set.Adapter
	type line struct {
		text  string
		style int
	}
	lines := []line{
		{"pbxbatch rollout template: " + a, b.title},
		{"Fill in the sheets, then check the workbook before anything goes near the PBX: pbxbatch validate --adapter " + a + " FILE.xlsx", b.wrap},
		{"How this workbook works", b.heading},
		{"1. One sheet per kind of record. The sheets come in dependency order: a row may refer to rows on the sheets before it. Delete the sheets you do not need.", b.wrap},
		{"2. Row 1 holds the column names: do not rename or reorder them. Point at a column name to read what the column means and which values it takes.", b.wrap},
		{"3. Row 2 of every sheet is an example that validates: overwrite it or delete it before you import.", b.wrap},
		{"4. The action column says what to do with the row: upsert (also when blank) creates the record or updates it to match the row; create fails if the record exists; update fails if it does not; delete removes it (only the key columns are needed).", b.wrap},
		{"5. Cells are tri-state: a blank cell keeps what the PBX has; " + Clear + " clears the value on the PBX; anything else sets it.", b.wrap},
		{"6. Records refer to each other by name (their key), never by the PBX's internal ids: for example a department names its location by the location's name.", b.wrap},
		{"7. A cell that holds a list separates the items with ; (for example Sales;Support).", b.wrap},
		{"8. Fields of a nested object are dotted columns, for example nameIdentity.firstName.", b.wrap},
		{"9. Text columns are formatted as Text so Excel keeps leading zeros and + signs. Paste values only (Paste Special › Values): no formulas, no merged cells, no blank rows between records.", b.wrap},
		{"10. Column colours: orange = required; grey = secret (passwords, PINs: never shown in reports, logs or journals); blue = optional.", b.wrap},
		{"Sheets", b.heading},
	}
	for _, k := range kinds {
		var refs []string
		for _, r := range k.Refs {
			if t := b.set.Kind(r.Kind); t != nil {
				refs = append(refs, fmt.Sprintf("%s names a %s", r.Field, t.Name))
			}
		}
		s := fmt.Sprintf("%s: %s, key %s", SheetName(k), k.Name, strings.Join(k.Key, " + "))
		if len(refs) > 0 {
			s += "; " + strings.Join(refs, ", ")
		}
		if d := strings.TrimSpace(k.Description); d != "" {
			s += ". " + d
		}
		lines = append(lines, line{s, b.wrap})
	}
	const width = 100 // characters: fits a landscape page unscaled
	name := ReadmeSheet
	if err := b.f.SetColWidth(name, "A", "A", width); err != nil {
		return err
	}
	for i, l := range lines {
		cell := fmt.Sprintf("A%d", i+1)
		if err := b.f.SetCellStr(name, cell, l.text); err != nil {
			return err
		}
		if err := b.f.SetCellStyle(name, cell, cell, l.style); err != nil {
			return err
		}
		// A wrapped line needs its row as tall as its text, or it runs
		// into the next one: spreadsheets do not size rows on opening.
		if l.style == b.wrap {
			if err := b.f.SetRowHeight(name, i+1, workbook.LineHeight*float64(workbook.Lines(l.text, width))); err != nil {
				return err
			}
		}
	}
	return workbook.PrintSetup(b.f, name, nil)
}

func (b *builder) kindSheet(k *schemas.Kind, ex schemas.Record) error {
	name := SheetName(k)
	if _, err := b.f.NewSheet(name); err != nil {
		return err
	}
	cols := Columns(k)
	for i, path := range cols {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		var (
			f     = k.Field(path)
			style = b.header
			value string
		)
		switch {
		case f == nil: // the action column
			value = Actions[0]
		case f.Secret:
			style = b.headerSecret
		case f.Required:
			style = b.headerRequired
		}
		if f != nil {
			if v, ok := ex.Get(path); ok {
				value = schemas.Text(v)
			}
		}
		if err := b.column(name, col, path, k, f, style); err != nil {
			return err
		}
		if value != "" {
			if err := b.f.SetCellStr(name, col+"2", value); err != nil {
				return err
			}
		}
	}
	if err := workbook.PrintSetup(b.f, name, nil); err != nil {
		return err
	}
	return b.f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

// column writes one header cell with its comment, the column's format and
// its drop-down.
func (b *builder) column(sheet, col, path string, k *schemas.Kind, f *schemas.Field, headerStyle int) error {
	cell := col + "1"
	if err := b.f.SetCellStr(sheet, cell, path); err != nil {
		return err
	}
	width := float64(min(max(len(path)+6, 14), 45))
	if err := b.f.SetColWidth(sheet, col, col, width); err != nil {
		return err
	}
	var (
		colStyle = b.text
		list     []string
	)
	title, about := "Action", "What to do with the row: upsert (the default, also when blank), create, update or delete."
	if f != nil {
		title, about = f.Title, describe(k, f)
		list = f.Enum
		switch {
		case f.Type == "boolean":
			list = []string{"true", "false"}
			colStyle = 0
		case f.Type == "integer" || f.Type == "number":
			colStyle = 0
		}
		if f.Type == "array" && len(f.Enum) > 0 {
			list = nil // a drop-down offers one value; a list cell holds several
		}
	} else {
		list = Actions
		colStyle = b.action
	}
	if colStyle != 0 {
		if err := b.f.SetColStyle(sheet, col, colStyle); err != nil {
			return err
		}
	}
	if err := b.f.SetCellStyle(sheet, cell, cell, headerStyle); err != nil {
		return err
	}
	if err := b.f.AddComment(sheet, excelize.Comment{
		Cell: cell, Author: "pbxbatch",
		Paragraph: []excelize.RichTextRun{
			{Text: title + "\n", Font: &excelize.Font{Bold: true}},
			{Text: about},
		},
		Width: 320, Height: 160,
	}); err != nil {
		return err
	}
	if len(list) > 0 {
		return b.dropDown(sheet, col, title, list)
	}
	return nil
}

// dropDown offers the allowed values in a column. Short lists go inline;
// longer ones (Excel caps an inline list at 255 characters) are a range on
// the Lists sheet.
func (b *builder) dropDown(sheet, col, title string, list []string) error {
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, excelize.TotalRows))
	dv.SetError(excelize.DataValidationErrorStyleStop, title, "Pick one of the values in the list.")
	if err := dv.SetDropList(list); err != nil {
		ref, err := b.addList(sheet+"."+title, list)
		if err != nil {
			return err
		}
		dv.SetSqrefDropList(ref)
	}
	return b.f.AddDataValidation(sheet, dv)
}

// addList writes a list as one column of the Lists sheet (visible: a hidden
// sheet would be a finding when the workbook is read) and returns its range.
func (b *builder) addList(name string, list []string) (string, error) {
	if b.lists == 0 {
		if _, err := b.f.NewSheet(ListsSheet); err != nil {
			return "", err
		}
	}
	b.lists++
	col, err := excelize.ColumnNumberToName(b.lists)
	if err != nil {
		return "", err
	}
	if err := b.f.SetCellStr(ListsSheet, col+"1", name); err != nil {
		return "", err
	}
	for i, v := range list {
		if err := b.f.SetCellStr(ListsSheet, fmt.Sprintf("%s%d", col, i+2), v); err != nil {
			return "", err
		}
	}
	if err := b.f.SetColWidth(ListsSheet, col, col, float64(min(max(len(name), 12), 45))); err != nil {
		return "", err
	}
	return fmt.Sprintf("'%s'!$%s$2:$%s$%d", ListsSheet, col, col, len(list)+1), nil
}

// describe is a header comment: the schema's description and what the
// user must know to fill the column.
func describe(k *schemas.Kind, f *schemas.Field) string {
	var parts []string
	parts = append(parts, strings.TrimSpace(f.Description))
	if f.Required {
		parts = append(parts, "Required.")
	}
	for _, key := range k.Key {
		if key == f.Path {
			parts = append(parts, "Part of the key that identifies the record.")
		}
	}
	if f.Ref != nil {
		parts = append(parts, fmt.Sprintf("Names a %s by its key.", f.Ref.Kind))
	}
	if slices.Contains(k.Expand, f.Path) {
		parts = append(parts, "May be a range min..max (0000..0002): the row stands for one record per value, paired by position with the row's other ranges.")
	}
	if f.Type == "array" {
		parts = append(parts, "A list: separate the items with ;.")
	}
	switch {
	case len(f.Enum) > 0:
		parts = append(parts, "Allowed: "+strings.Join(f.Enum, ", ")+".")
	case f.Type == "boolean":
		parts = append(parts, "true or false.")
	case f.Type == "integer":
		parts = append(parts, "A whole number.")
	}
	switch f.Text {
	case "digits":
		parts = append(parts, "Digits only; leading zeros count.")
	case "phone":
		parts = append(parts, "Digits, with an optional leading +.")
	}
	if f.Secret {
		parts = append(parts, "Secret: never shown in reports, logs or journals.")
	}
	if !f.Required {
		parts = append(parts, "Blank keeps the current value; "+Clear+" clears it.")
	}
	return strings.Join(parts, " ")
}
