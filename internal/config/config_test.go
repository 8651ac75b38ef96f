package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `targets:
  lab:
    adapter: mxone
    url: https://127.0.0.1:8443/
    username: admin
    password_env: PBXBATCH_TEST_PW
    rate: 50
    concurrency: 8
    timeout: 30s
    tls: {ca_file: ca.pem, insecure_skip_verify: false}
    options: {subsystem: Stockholm, pageSize: 200}
  prod:
    adapter: sipx
    url: https://pbx.example.com
    username: ops
    password_file: secrets/prod.pw
    rate: 2.5
`

func TestParseGood(t *testing.T) {
	f, err := Parse("pbxbatch.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "lab,prod" {
		t.Fatalf("names = %s", got)
	}
	lab := f.Targets["lab"]
	if lab.Adapter != "mxone" || lab.URL != "https://127.0.0.1:8443" || lab.Username != "admin" ||
		lab.PasswordEnv != "PBXBATCH_TEST_PW" || lab.Rate != 50 || lab.Concurrency != 8 ||
		lab.Timeout != 30*time.Second || lab.TLS.CAFile != "ca.pem" || lab.TLS.InsecureSkipVerify {
		t.Fatalf("lab = %+v", lab)
	}
	if lab.Options["subsystem"] != "Stockholm" || lab.Options["pageSize"] != "200" {
		t.Fatalf("options = %v", lab.Options)
	}
	if f.Targets["prod"].Rate != 2.5 || f.Targets["prod"].Line != 12 {
		t.Fatalf("prod = %+v", f.Targets["prod"])
	}
}

// Every mistake is an error naming the file and line, with a hint.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"typo with suggestion", "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    username: a\n    pasword_env: X\n",
			[]string{`pbxbatch.yaml:6: unknown key "pasword_env" in target lab (did you mean password_env?)`}},
		{"unknown key no suggestion", "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    colour: red\n",
			[]string{`pbxbatch.yaml:5: unknown key "colour" in target lab (known keys: adapter, url`}},
		{"unknown top key", "targetz:\n  lab: {}\n", []string{`pbxbatch.yaml:1: unknown key "targetz" in the file (did you mean targets?)`}},
		{"missing adapter and url", "targets:\n  lab:\n    rate: 5\n",
			[]string{"pbxbatch.yaml:2: target lab has no adapter"}},
		{"null value", "targets:\n  lab:\n    adapter:\n    url: https://h\n", []string{"pbxbatch.yaml:3: adapter in target lab has no value"}},
		{"empty string", "targets:\n  lab:\n    adapter: \"\"\n    url: https://h\n", []string{"pbxbatch.yaml:3: adapter in target lab is empty"}},
		{"wrong type rate", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    rate: fast\n", []string{`pbxbatch.yaml:5: rate in target lab must be a number of requests per second, got "fast"`}},
		{"negative rate", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    rate: -1\n", []string{"pbxbatch.yaml:5: rate in target lab must not be negative"}},
		{"concurrency float", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    concurrency: 2.5\n", []string{`pbxbatch.yaml:5: concurrency in target lab must be a whole number, got "2.5"`}},
		{"concurrency zero", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    concurrency: 0\n", []string{"pbxbatch.yaml:5: concurrency in target lab must be between 1 and 1024"}},
		{"concurrency list", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    concurrency: [1]\n", []string{"pbxbatch.yaml:5: concurrency in target lab must be a whole number, not a list"}},
		{"bad timeout", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    timeout: soon\n", []string{`pbxbatch.yaml:5: timeout in target lab must be a duration like "30s"`}},
		{"zero timeout", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    timeout: 0s\n", []string{"pbxbatch.yaml:5: timeout in target lab must be positive"}},
		{"bad bool", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    tls: {insecure_skip_verify: yes please}\n", []string{`pbxbatch.yaml:5: insecure_skip_verify in tls of target lab must be true or false, got "yes please"`}},
		{"tls typo", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    tls:\n      cafile: x\n", []string{`pbxbatch.yaml:6: unknown key "cafile" in tls of target lab (did you mean ca_file?)`}},
		{"cert without key", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    tls:\n      cert_file: c.pem\n", []string{"pbxbatch.yaml:5: tls in target lab: cert_file and key_file go together"}},
		{"both passwords", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    username: u\n    password_env: A\n    password_file: f\n", []string{"pbxbatch.yaml:7: target lab has both password_env and password_file"}},
		{"username without password", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    username: u\n", []string{"pbxbatch.yaml:5: target lab has a username but no password_env or password_file"}},
		{"password_env holds a password", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    password_env: s3cr3t!pw\n", []string{"pbxbatch.yaml:5: password_env in target lab must name an environment variable"}},
		{"url with credentials", "targets:\n  lab:\n    adapter: a\n    url: https://admin:s3cr3t@h\n", []string{"pbxbatch.yaml:4: url in target lab contains credentials"}},
		{"unparsable url with credentials", "targets:\n  lab:\n    adapter: a\n    url: https://admin:s3cr3t%zz@h\n", []string{"pbxbatch.yaml:4: url in target lab is not a valid URL"}},
		{"credentials in the query", "targets:\n  lab:\n    adapter: a\n    url: https://h/pm?password=s3cr3t\n", []string{"pbxbatch.yaml:4: url in target lab has a query string or fragment (?… or #…), which may hold credentials"}},
		{"token in the fragment", "targets:\n  lab:\n    adapter: a\n    url: https://h/#access_token=s3cr3t\n", []string{"pbxbatch.yaml:4: url in target lab has a query string"}},
		{"credentials without a scheme", "targets:\n  lab:\n    adapter: a\n    url: admin:s3cr3t@pbx.example\n", []string{"pbxbatch.yaml:4: url in target lab contains credentials"}},
		{"url scheme", "targets:\n  lab:\n    adapter: a\n    url: ftp://h\n", []string{"pbxbatch.yaml:4: url in target lab must start with https://"}},
		{"url no host", "targets:\n  lab:\n    adapter: a\n    url: https://\n", []string{"pbxbatch.yaml:4: url in target lab has no host"}},
		{"options nested", "targets:\n  lab:\n    adapter: a\n    url: https://h\n    options:\n      x: {y: 1}\n", []string{"pbxbatch.yaml:6: options.x in target lab must be a single value, not a mapping"}},
		{"duplicate key", "targets:\n  lab:\n    adapter: a\n    adapter: b\n    url: https://h\n", []string{`pbxbatch.yaml:4: duplicate key "adapter" in target lab (first at line 3)`}},
		{"duplicate target", "targets:\n  lab: {adapter: a, url: https://h}\n  lab: {adapter: a, url: https://h}\n", []string{`pbxbatch.yaml:3: duplicate key "lab" in targets (first at line 2)`}},
		{"target not a mapping", "targets:\n  lab: mxone\n", []string{`pbxbatch.yaml:2: target lab must be a mapping of keys to values, not "mxone"`}},
		{"bad target name", "targets:\n  \"lab one\": {adapter: a, url: https://h}\n", []string{`pbxbatch.yaml:2: target name "lab one"`}},
		{"empty targets", "targets: {}\n", []string{"pbxbatch.yaml:1: targets: is empty"}},
		{"null targets", "targets:\n", []string{"pbxbatch.yaml:1: targets must be a mapping of keys to values, not nothing"}},
		{"no targets", "other: 1\n", []string{`unknown key "other"`}},
		{"empty file", "", []string{"pbxbatch.yaml: the file is empty"}},
		{"syntax", "targets:\n  lab:\n    adapter: a\n   url: x\n", []string{"pbxbatch.yaml:1: did not find expected key"}},
		{"unclosed quote", "targets:\n  lab:\n    adapter: \"a\n", []string{"pbxbatch.yaml:3: found unexpected end of stream"}},
		{"merge key", "base: &b {adapter: a}\ntargets:\n  lab:\n    <<: *b\n    url: https://h\n", []string{"merge keys (<<) are not supported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("pbxbatch.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error echoes a secret: %q", err)
			}
		})
	}
}

// All mistakes are reported at once, in line order.
func TestParseReportsAllErrors(t *testing.T) {
	_, err := Parse("c.yaml", []byte("targets:\n  b:\n    adapter: a\n    url: https://h\n    rate: x\n  a:\n    adaptr: a\n    url: https://h\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "c.yaml:5:") || !strings.HasPrefix(lines[1], "c.yaml:6:") || !strings.HasPrefix(lines[2], "c.yaml:7:") {
		t.Fatalf("got:\n%s", err)
	}
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatal("not a LineError")
	}
}

func TestSpecUnknownTarget(t *testing.T) {
	f, err := Parse("pbxbatch.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Spec("lb")
	if err == nil || !strings.Contains(err.Error(), `target "lb" is not in pbxbatch.yaml (it has: lab, prod); did you mean lab?`) {
		t.Fatalf("err = %v", err)
	}
	_, err = f.Spec("")
	if err == nil || !strings.Contains(err.Error(), "use --target NAME") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "pbxbatch.yaml"))
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("err = %v", err)
	}
}

// writeConfig writes a config with a CA next to it and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pbxbatch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResolvePasswordEnv(t *testing.T) {
	path := writeConfig(t, "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    username: admin\n    password_env: PBXBATCH_TEST_PW\n    rate: 50\n    concurrency: 4\n    timeout: 2\n    options: {a: b}\n")
	t.Setenv("PBXBATCH_TEST_PW", "hunter2")
	tg, err := LoadTarget(path, "lab", testPlatforms(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Password.Reveal() != "hunter2" || tg.Name != "lab" || tg.Adapter != "mxone" || tg.URL != "https://h" ||
		tg.Rate != 50 || tg.Concurrency != 4 || tg.Timeout != 2*time.Second || tg.Options["a"] != "b" || tg.TLS != nil {
		t.Fatalf("target = %#v", tg)
	}

	t.Setenv("PBXBATCH_TEST_PW", "")
	_, err = LoadTarget(path, "lab", testPlatforms(), nil)
	if err == nil || !strings.Contains(err.Error(), "pbxbatch.yaml:6: target lab: environment variable PBXBATCH_TEST_PW is empty") {
		t.Fatalf("err = %v", err)
	}
	os.Unsetenv("PBXBATCH_TEST_PW")
	_, err = LoadTarget(path, "lab", testPlatforms(), nil)
	if err == nil || !strings.Contains(err.Error(), "environment variable PBXBATCH_TEST_PW is not set") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolvePasswordFile(t *testing.T) {
	path := writeConfig(t, "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    username: admin\n    password_file: pw\n")
	pw := filepath.Join(filepath.Dir(path), "pw")
	write := func(content string, mode os.FileMode) {
		if err := os.WriteFile(pw, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(pw, mode); err != nil {
			t.Fatal(err)
		}
	}

	write("s3cr3t pass\n", 0o600)
	tg, err := LoadTarget(path, "lab", testPlatforms(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Password.Reveal() != "s3cr3t pass" {
		t.Fatalf("password = %q", tg.Password.Reveal())
	}

	write("s3cr3t\r\n", 0o400)
	if tg, err = LoadTarget(path, "lab", testPlatforms(), nil); err != nil || tg.Password.Reveal() != "s3cr3t" {
		t.Fatalf("CRLF: %q, %v", tg.Password.Reveal(), err)
	}

	for _, c := range []struct {
		content string
		mode    os.FileMode
		want    string
	}{
		{"s3cr3t\n", 0o644, "can be read or changed by group or others (mode 0644): run chmod 600 " + pw},
		{"s3cr3t\n", 0o640, "run chmod 600"},
		{"s3cr3t\n", 0o620, "(mode 0620): run chmod 600"},
		{"\n", 0o600, "is empty"},
		{"s3cr3t\nline2\n", 0o600, "has more than one line"},
	} {
		write(c.content, c.mode)
		_, err := LoadTarget(path, "lab", testPlatforms(), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "pbxbatch.yaml:6:") {
			t.Errorf("%q %o: err = %v", c.content, c.mode, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the password: %v", err)
		}
	}

	os.Remove(pw)
	if _, err := LoadTarget(path, "lab", testPlatforms(), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing: %v", err)
	}
}

func TestResolveTLS(t *testing.T) {
	path := writeConfig(t, "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    tls: {ca_file: ca.pem, server_name: pbx.lab}\n")
	dir := filepath.Dir(path)
	certPEM, keyPEM := selfSigned(t)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	tg, err := LoadTarget(path, "lab", testPlatforms(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.TLS == nil || tg.TLS.RootCAs == nil || tg.TLS.ServerName != "pbx.lab" || tg.TLS.InsecureSkipVerify {
		t.Fatalf("tls = %+v", tg.TLS)
	}

	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not a cert"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTarget(path, "lab", testPlatforms(), nil); err == nil || !strings.Contains(err.Error(), "pbxbatch.yaml:5: target lab: tls.ca_file "+filepath.Join(dir, "ca.pem")+" holds no PEM certificate") {
		t.Fatalf("bad CA: %v", err)
	}

	// Client certificate: the key must be private too.
	path = writeConfig(t, "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    tls:\n      cert_file: c.pem\n      key_file: k.pem\n")
	dir = filepath.Dir(path)
	os.WriteFile(filepath.Join(dir, "c.pem"), certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "k.pem"), keyPEM, 0o644)
	if _, err := LoadTarget(path, "lab", testPlatforms(), nil); err == nil || !strings.Contains(err.Error(), "pbxbatch.yaml:7: target lab: tls.key_file") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("public key file: %v", err)
	}
	os.Chmod(filepath.Join(dir, "k.pem"), 0o600)
	tg, err = LoadTarget(path, "lab", testPlatforms(), nil)
	if err != nil || len(tg.TLS.Certificates) != 1 {
		t.Fatalf("client cert: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	path := writeConfig(t, "targets:\n  lab:\n    adapter: mxone\n    url: https://h\n    tls: {insecure_skip_verify: true}\n  plain:\n    adapter: mxone\n    url: http://pbx.example.com\n    username: u\n    password_env: PBXBATCH_TEST_PW\n  local:\n    adapter: mxone\n    url: http://127.0.0.1:9000\n    username: u\n    password_env: PBXBATCH_TEST_PW\n")
	t.Setenv("PBXBATCH_TEST_PW", "x")
	var buf bytes.Buffer
	tg, err := LoadTarget(path, "lab", testPlatforms(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !tg.TLS.InsecureSkipVerify || !strings.Contains(buf.String(), "WARNING: target lab (") || !strings.Contains(buf.String(), "TLS certificate verification is OFF") {
		t.Fatalf("warning = %q", buf.String())
	}
	buf.Reset()
	if _, err := LoadTarget(path, "plain", testPlatforms(), &buf); err != nil || !strings.Contains(buf.String(), "password is sent unencrypted over http://") {
		t.Fatalf("plain: %v %q", err, buf.String())
	}
	buf.Reset()
	if _, err := LoadTarget(path, "local", testPlatforms(), &buf); err != nil || buf.Len() != 0 {
		t.Fatalf("loopback http should not warn: %v %q", err, buf.String())
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbx.lab"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, DNSNames: []string{"pbx.lab"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
