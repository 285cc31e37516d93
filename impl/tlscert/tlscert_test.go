package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "octostore test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a certificate for 127.0.0.1 and localhost with the given serial and
// expiry, and its key, as PEM files in dir; it returns their paths.
func (ca *testCA) issue(t *testing.T, dir string, serial int64, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func serial(r *Reloader) int64 { return r.Certificate().Leaf.SerialNumber.Int64() }

func TestReloadServesTheNewCertificateAndABadOneKeepsTheOld(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	certFile, keyFile := ca.issue(t, dir, 100, time.Now().Add(time.Hour))
	r, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca.issue(t, dir, 101, time.Now().Add(time.Hour))
	if err := r.Reload(); err != nil || serial(r) != 101 {
		t.Fatalf("reload: %v, serving serial %d, want 101", err, serial(r))
	}

	good, _ := os.ReadFile(certFile)
	bad := []struct {
		name    string
		breakIt func()
	}{
		{"garbage certificate", func() { write(t, certFile, []byte("not a certificate")) }},
		{"missing key file", func() { os.Remove(keyFile) }},
		{"key of another certificate", func() {
			other := t.TempDir()
			_, otherKey := ca.issue(t, other, 999, time.Now().Add(time.Hour))
			b, _ := os.ReadFile(otherKey)
			write(t, certFile, good)
			write(t, keyFile, b)
		}},
		{"expired certificate", func() { ca.issue(t, dir, 102, time.Now().Add(-time.Minute)) }},
	}
	for _, b := range bad {
		name := b.name
		b.breakIt()
		if err := r.Reload(); err == nil {
			t.Errorf("%s: reload succeeded", name)
		}
		if serial(r) != 101 {
			t.Errorf("%s: serving serial %d after a failed reload, want the old 101", name, serial(r))
		}
	}
	if _, err := Load(filepath.Join(dir, "nope.pem"), keyFile); err == nil {
		t.Error("Load of a missing certificate succeeded")
	}
}

// A live HTTPS server: a connection opened before the reload keeps working (and keeps
// the certificate it was handshaken with); a new connection gets the new certificate;
// TLS 1.1 is refused.
func TestReloadDropsNoConnection(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	certFile, keyFile := ca.issue(t, dir, 200, time.Now().Add(time.Hour))
	r, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: r.Config(), Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"

	keepAlive := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	t.Cleanup(keepAlive.CloseIdleConnections)
	get := func(c *http.Client) (serial int64, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if b, _ := io.ReadAll(res.Body); string(b) != "ok" || res.TLS == nil {
			t.Fatalf("answer %q", b)
		}
		return res.TLS.PeerCertificates[0].SerialNumber.Int64(), reused
	}
	if s, _ := get(keepAlive); s != 200 {
		t.Fatalf("serial %d, want 200", s)
	}
	ca.issue(t, dir, 201, time.Now().Add(time.Hour))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if s, reused := get(keepAlive); !reused || s != 200 {
		t.Fatalf("after reload the open connection: reused %v, serial %d; want the same connection, serial 200", reused, s)
	}
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	t.Cleanup(fresh.CloseIdleConnections)
	if s, reused := get(fresh); reused || s != 201 {
		t.Fatalf("a new connection: reused %v, serial %d; want serial 201", reused, s)
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(url); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("TLS 1.1 client: %v, want a protocol version error", err)
	}
	untrusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := untrusted.Get(url); err == nil {
		t.Fatal("a client without the CA connected")
	}
}
