// Package tlscert serves a TLS certificate that can be replaced while the server runs.
//
// The certificate and key are read from their files at Load and again at every Reload
// (octostore-lock calls it on SIGHUP). A new handshake gets whichever certificate was
// loaded last; connections already open keep theirs, so a reload drops nothing. A reload
// that fails (a missing file, a key that does not match, a certificate that has expired)
// keeps the certificate already served.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Reloader holds the certificate of a TLS server and replaces it on Reload.
type Reloader struct {
	certFile, keyFile string
	now               func() time.Time
	current           atomic.Pointer[tls.Certificate]
}

// Load reads the PEM certificate chain and private key from their files.
func Load(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, now: time.Now}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again and serves their certificate to new handshakes. On an
// error the certificate served so far stays.
func (r *Reloader) Reload() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("parse TLS certificate %s: %w", r.certFile, err)
		}
	}
	if now := r.now(); now.After(cert.Leaf.NotAfter) {
		return fmt.Errorf("TLS certificate %s expired at %s", r.certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.current.Store(&cert)
	return nil
}

// Certificate is the certificate served now.
func (r *Reloader) Certificate() *tls.Certificate { return r.current.Load() }

// GetCertificate is a tls.Config.GetCertificate that serves the current certificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.current.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("no TLS certificate loaded")
}

// Config is the server's TLS configuration: TLS 1.2 or later and the current
// certificate (http.Server.ServeTLS adds HTTP/2 and HTTP/1.1).
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
