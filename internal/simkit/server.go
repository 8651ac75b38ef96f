package simkit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a running simulator.
type Server struct {
	URL   string // "http://127.0.0.1:PORT" or "https://…"
	Addr  string // host:port actually bound
	CAPEM []byte // PEM of the self-signed certificate when TLS is on; clients trust it as their CA

	srv      *http.Server
	done     chan error
	waitOnce sync.Once
	waitErr  error
}

// Start listens on listen ("127.0.0.1:0" for a free port) and serves h,
// which should already be wrapped with Wrap. With o.TLS it serves HTTPS with
// a fresh self-signed certificate. Only HTTP/1.1 is offered, like the
// servlet containers these platforms run on, so a "drop" fault is a real TCP
// close.
func Start(listen string, h http.Handler, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen on %s: %w", listen, err)
	}
	s := &Server{
		Addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 30 * time.Second,
			TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		},
		done: make(chan error, 1),
	}
	scheme := "http"
	if o.TLS {
		cert, caPEM, err := selfSigned(o.Clock())
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.CAPEM = caPEM
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, s.srv.TLSConfig)
		scheme = "https"
	}
	s.URL = scheme + "://" + s.Addr
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.CAPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

// Shutdown stops accepting and waits for requests in flight (held "timeout"
// faults included) until ctx is done, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	return errors.Join(err, s.wait())
}

// Close stops the server at once, cutting requests in flight.
func (s *Server) Close() error {
	return errors.Join(s.srv.Close(), s.wait())
}

// wait collects Serve's result once, so Close after Shutdown does not block.
func (s *Server) wait() error {
	s.waitOnce.Do(func() {
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			s.waitErr = err
		}
	})
	return s.waitErr
}

// selfSigned makes an ECDSA P-256 certificate for the loopback names that is
// its own CA, so a client can name its PEM as ca_file and keep verifying TLS.
func selfSigned(now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("simulator: TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("simulator: TLS serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pbxbatch simulator", Organization: []string{"pbxbatch"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("simulator: TLS certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("simulator: TLS key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("simulator: TLS key pair: %w", err)
	}
	return cert, certPEM, nil
}
