package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// LoadTarget is what a command does to reach a target: read the config file,
// find the target, check it against the platforms in reg (its adapter is
// one of them, its options are ones that platform declares), resolve its
// password and TLS files, and print the warnings an operator must not miss
// (certificate checks off, a password over plain http) to warn.
func LoadTarget(path, name string, reg *adapters.Registry, warn io.Writer) (adapters.Target, error) {
	f, err := Load(path)
	if err != nil {
		return adapters.Target{}, err
	}
	return f.Target(name, reg, warn)
}

// Target resolves the named target; see LoadTarget.
func (f *File) Target(name string, reg *adapters.Registry, warn io.Writer) (adapters.Target, error) {
	spec, err := f.Spec(name)
	if err != nil {
		return adapters.Target{}, err
	}
	opts, err := spec.checkPlatform(reg)
	if err != nil {
		return adapters.Target{}, err
	}
	t, err := spec.Resolve()
	if err != nil {
		return adapters.Target{}, err
	}
	t.Options = opts
	if warn != nil {
		for _, w := range spec.Warnings() {
			fmt.Fprintln(warn, "WARNING:", w)
		}
	}
	return t, nil
}

// checkPlatform checks the adapter name and the options against the
// platform's declarations, and returns the options in canonical form
// ("true", "30s"). Every mistake names its line; a misspelt key gets the
// key it probably meant.
func (t *TargetSpec) checkPlatform(reg *adapters.Registry) (map[string]string, error) {
	p, err := reg.Platform(t.Adapter)
	if err != nil {
		return nil, fmt.Errorf("%s: target %s: %w", t.at("adapter"), t.Name, err)
	}
	declared := map[string]adapters.Option{}
	var names []string
	for _, o := range p.Options {
		declared[o.Name] = o
		names = append(names, o.Name)
	}
	var errs []error
	out := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(t.Options)) {
		o, ok := declared[key]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: target %s: %s", t.at("options."+key), t.Name, unknownOption(key, p.Name(), p.Options, names)))
			continue
		}
		v, err := o.Check(t.Options[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: target %s: %w", t.at("options."+key), t.Name, err))
			continue
		}
		out[key] = v
	}
	return out, errors.Join(errs...)
}

func unknownOption(key, adapter string, opts []adapters.Option, names []string) string {
	msg := fmt.Sprintf("adapter %s has no option %q", adapter, key)
	if s := spelling.Suggest(key, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %s?", s)
	}
	if len(opts) == 0 {
		return msg + " (it takes no options)"
	}
	var known []string
	for _, o := range opts {
		known = append(known, fmt.Sprintf("%s (%s): %s", o.Name, o.Type, o.Doc))
	}
	return msg + "; its options are " + strings.Join(known, "; ")
}

// Resolve reads the password (from the environment or an owner-only file)
// and the TLS files, and returns the target the adapters open. Errors name
// the variable or file and the config line, never a password.
func (t *TargetSpec) Resolve() (adapters.Target, error) {
	out := adapters.Target{
		Name:        t.Name,
		Adapter:     t.Adapter,
		URL:         t.URL,
		Username:    t.Username,
		Rate:        t.Rate,
		Concurrency: t.Concurrency,
		Timeout:     t.Timeout,
		Options:     t.Options,
	}
	pw, err := t.password()
	if err != nil {
		return adapters.Target{}, err
	}
	out.Password = pw
	if out.TLS, err = t.tlsConfig(); err != nil {
		return adapters.Target{}, err
	}
	return out, nil
}

func (t *TargetSpec) password() (adapters.Secret, error) {
	switch {
	case t.PasswordEnv != "":
		v, ok := os.LookupEnv(t.PasswordEnv)
		if !ok {
			return adapters.Secret{}, fmt.Errorf("%s: target %s: environment variable %s is not set: export it with the password (password_env)", t.at("password_env"), t.Name, t.PasswordEnv)
		}
		if v == "" {
			return adapters.Secret{}, fmt.Errorf("%s: target %s: environment variable %s is empty", t.at("password_env"), t.Name, t.PasswordEnv)
		}
		return adapters.NewSecret(v), nil
	case t.PasswordFile != "":
		path := t.resolve(t.PasswordFile)
		b, err := readPrivate(path, t.at("password_file"), "target "+t.Name+": password_file")
		if err != nil {
			return adapters.Secret{}, err
		}
		// Editors add one trailing newline; anything else in the file is
		// part of the password or a mistake, so it is not trimmed.
		s := strings.TrimSuffix(string(b), "\n")
		s = strings.TrimSuffix(s, "\r")
		switch {
		case s == "":
			return adapters.Secret{}, fmt.Errorf("%s: target %s: password_file %s is empty", t.at("password_file"), t.Name, path)
		case strings.ContainsAny(s, "\r\n"):
			return adapters.Secret{}, fmt.Errorf("%s: target %s: password_file %s has more than one line: it must hold the password alone", t.at("password_file"), t.Name, path)
		}
		return adapters.NewSecret(s), nil
	}
	return adapters.Secret{}, nil
}

// readPrivate reads a file that must be readable by its owner only (a
// password or a private key).
func readPrivate(path, at, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", at, what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s %s is not a regular file", at, what, path)
	}
	// Windows has no such mode bits; elsewhere a world- or group-readable
	// secret is refused rather than used.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %s %s can be read or changed by group or others (mode %04o): run chmod 600 %s", at, what, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", at, what, err)
	}
	return b, nil
}

// tlsConfig returns nil when the target has no TLS settings: adapters then
// verify against the system roots.
func (t *TargetSpec) tlsConfig() (*tls.Config, error) {
	s := t.TLS
	if s == (TLSSpec{}) {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         s.ServerName,
		InsecureSkipVerify: s.InsecureSkipVerify, // #nosec G402 -- the operator's explicit choice; warned loudly
	}
	if s.CAFile != "" {
		path := t.resolve(s.CAFile)
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: target %s: tls.ca_file: %w", t.at("tls.ca_file"), t.Name, err)
		}
		// Only this CA is trusted: a private PBX CA should not widen to, or
		// be widened by, the system roots.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: target %s: tls.ca_file %s holds no PEM certificate", t.at("tls.ca_file"), t.Name, path)
		}
		cfg.RootCAs = pool
	}
	if s.CertFile != "" {
		certPEM, err := os.ReadFile(t.resolve(s.CertFile))
		if err != nil {
			return nil, fmt.Errorf("%s: target %s: tls.cert_file: %w", t.at("tls.cert_file"), t.Name, err)
		}
		keyPEM, err := readPrivate(t.resolve(s.KeyFile), t.at("tls.key_file"), "target "+t.Name+": tls.key_file")
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: target %s: tls.cert_file and tls.key_file do not make a key pair: %v", t.at("tls.cert_file"), t.Name, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Warnings returns what must be said loudly before the target is used.
func (t *TargetSpec) Warnings() []string {
	var out []string
	u, _ := url.Parse(t.URL)
	if t.TLS.InsecureSkipVerify {
		out = append(out, fmt.Sprintf("target %s (%s): TLS certificate verification is OFF (tls.insecure_skip_verify: true). Anyone on the path to %s can read the password and change what is sent. Trust the PBX's CA with tls.ca_file instead.", t.Name, t.at("tls.insecure_skip_verify"), t.URL))
	}
	if u != nil && u.Scheme == "http" {
		if t.TLS != (TLSSpec{}) {
			out = append(out, fmt.Sprintf("target %s (%s): tls settings are ignored for an http:// URL", t.Name, t.at("tls")))
		}
		if (t.PasswordEnv != "" || t.PasswordFile != "") && !isLoopback(u.Hostname()) {
			out = append(out, fmt.Sprintf("target %s (%s): the password is sent unencrypted over http:// to %s; use https://", t.Name, t.at("url"), u.Host))
		}
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
