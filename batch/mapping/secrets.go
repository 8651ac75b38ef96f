package mapping

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// secrets fills every secret field of every mapped row by its policy. The
// values never join the rows: they travel apart, to the secrets file (0600)
// and, in migrate, straight into the plan.
func (m *mapper) secrets(o Options) ([]Secret, error) {
	var prev, side map[string]string
	var err error
	if o.Previous != "" {
		if prev, err = readSecrets(m.p.Target, o.Previous, true); err != nil {
			return nil, err
		}
	}
	needsSide := false
	for _, sp := range m.p.Secrets {
		needsSide = needsSide || sp.Policy == FromFile
	}
	if needsSide {
		if o.SecretsIn == "" {
			return nil, fmt.Errorf("profile %s takes secrets from a side file (policy file): give it with --secrets FILE (a workbook of %s kinds: key columns and the secret columns)", m.p.Name, m.p.Target.Adapter)
		}
		if side, err = readSecrets(m.p.Target, o.SecretsIn, false); err != nil {
			return nil, err
		}
	}
	var out []Secret
	for _, tk := range m.p.Kinds {
		k := tk.Kind
		for _, path := range k.SecretPaths() {
			sp := m.p.Secrets[k.Name+"."+path]
			st := m.stat(k.Name, path)
			for _, row := range m.out[k.Name].Rows {
				key := rowKey(k, row)
				id := secretID(k.Name, key, path)
				s := Secret{Kind: k.Name, Key: key, Field: path, KeyFields: keyFields(k, row)}
				switch sp.Policy {
				case Generate:
					s.Generated = true
					if s.Value = prev[id]; s.Value == "" {
						if s.Value, err = generate(sp.Length, sp.Chars); err != nil {
							return nil, err
						}
					}
					st.Generated++
				case FromFile:
					if s.Value = side[id]; s.Value == "" {
						m.diags.Warnf(row.Origins[0], path, "map.secret_missing", "%s %s has no %s in the side file %s: left blank, so the target keeps or sets its default", k.Name, key, path, o.SecretsIn)
						st.Blank++
						continue
					}
					st.FromFile++
				default:
					st.Blank++
					continue
				}
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func rowKey(k *schemas.Kind, row *Row) string {
	parts := make([]string, len(k.Key))
	for i, f := range k.Key {
		parts[i] = row.Values[f]
	}
	return strings.Join(parts, " / ")
}

func keyFields(k *schemas.Kind, row *Row) map[string]string {
	out := map[string]string{}
	for _, f := range k.Key {
		out[f] = row.Values[f]
	}
	return out
}

func secretID(kind, key, field string) string { return kind + "\x00" + key + "\x00" + field }

const (
	digits = "0123456789"
	alnum  = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789" // no 0/O, 1/l/I: read aloud over the phone
)

func generate(n int, chars string) (string, error) {
	set := alnum
	if chars == "digits" {
		set = digits
	}
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[x.Int64()]
	}
	return string(b), nil
}

// readSecrets reads a secrets workbook: one sheet per target kind, its key
// columns and secret columns. optional: a missing file is no secret yet.
func readSecrets(set *schemas.Set, path string, optional bool) (map[string]string, error) {
	if _, err := os.Stat(path); optional && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	book, err := workbook.Open(path, workbook.Options{Secret: func(string, string) bool { return true }})
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	defer book.Close()
	out := map[string]string{}
	for _, t := range book.Tables {
		k := set.Kind(t.Name)
		if k == nil {
			continue
		}
		keyCol := make([]int, len(k.Key))
		for i, f := range k.Key {
			if keyCol[i] = t.Column(f); keyCol[i] < 0 {
				return nil, fmt.Errorf("secrets file %s, sheet %s: no key column %s", path, t.Name, f)
			}
		}
		it, err := t.Rows()
		if err != nil {
			return nil, err
		}
		for it.Next() {
			r := it.Row()
			parts := make([]string, len(keyCol))
			for i, c := range keyCol {
				parts[i] = strings.TrimSpace(r.Cells[c])
			}
			for _, p := range k.SecretPaths() {
				if c := t.Column(p); c >= 0 && r.Cells[c] != "" {
					out[secretID(k.Name, strings.Join(parts, " / "), p)] = r.Cells[c]
				}
			}
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
