package octostore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// writeTestPKI writes a CA and a certificate for 127.0.0.1 signed by it into dir and
// returns the CA's pool and the certificate and key files.
func writeTestPKI(t *testing.T, dir string) (pool *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sdk test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return pool, certFile, keyFile
}

// A server with a certificate from a private CA: a client that trusts only the system's
// CAs refuses it; WithRootCAs with the CA locks and unlocks over HTTPS.
func TestClientTrustsAPrivateCA(t *testing.T) {
	pool, certFile, keyFile := writeTestPKI(t, t.TempDir())
	s, err := startServer(t.TempDir(), "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("url %s", s.url)
	}
	ctx := context.Background()

	plain, err := octostore.New(s.url, s.token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GetHealthWithResponse(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the CA: %v, want a certificate error", err)
	}

	c, err := octostore.New(s.url, s.token, octostore.WithRootCAs(pool), octostore.WithRequestTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m, err := octostore.NewMutex(c, "tls-lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("lock over TLS: %v", err)
	}
	if m.Token() <= 0 {
		t.Fatalf("fencing token %d", m.Token())
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := octostore.New(s.url, s.token, octostore.WithHTTPClient(nil), octostore.WithRootCAs(pool)); err == nil {
		t.Fatal("WithRootCAs after WithHTTPClient was accepted")
	}
}
