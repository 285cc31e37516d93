package main

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
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA issues certificates for 127.0.0.1 within one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
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
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes dir/cert.pem and dir/key.pem: a certificate for 127.0.0.1, ::1 and
// localhost with the given serial number.
func (ca *testCA) issue(t *testing.T, dir string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// The real binary with TLS_CERT_FILE/TLS_KEY_FILE: HTTPS only, TLS 1.2 at least; a
// SIGHUP with a new certificate serves it to new connections while an open keep-alive
// connection goes on; a SIGHUP with a broken certificate is logged and changes nothing.
func TestTLSServesHTTPSAndReloadsOnSIGHUP(t *testing.T) {
	dir, certDir := t.TempDir(), t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, certDir, 10)
	p := start(t, dir, true, "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)
	url := strings.Replace(p.url, "http://", "https://", 1)
	if !strings.Contains(p.stdout.String(), "tls=true") {
		t.Fatalf("log does not say TLS is on: %s", p.stdout)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	t.Cleanup(client.CloseIdleConnections)
	get := func(c *http.Client, path string) (serial int64, reused bool, body string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+p.token)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return res.TLS.PeerCertificates[0].SerialNumber.Int64(), reused, string(b)
	}
	if s, _, body := get(client, "/health"); s != 10 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("serial %d, %s", s, body)
	}
	// Plain HTTP on the TLS port gets no API answer.
	if res, err := http.Get(p.url + "/health"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS listener")
		}
	}
	tls11 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := tls11.Get(url + "/health"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}

	// A new certificate and SIGHUP.
	ca.issue(t, certDir, 11)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, p, "TLS certificate reloaded", 1)
	if s, reused, _ := get(client, "/locks"); !reused || s != 10 {
		t.Fatalf("the keep-alive connection after the reload: reused %v, serial %d; want it kept, serial 10", reused, s)
	}
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	t.Cleanup(fresh.CloseIdleConnections)
	if s, _, _ := get(fresh, "/health"); s != 11 {
		t.Fatalf("a new connection after the reload got serial %d, want 11", s)
	}

	// A broken certificate and SIGHUP: an error in the log, the old one still served.
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, p, "TLS certificate not reloaded", 1)
	newest := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	t.Cleanup(newest.CloseIdleConnections)
	if s, _, _ := get(newest, "/health"); s != 11 {
		t.Fatalf("after a failed reload a new connection got serial %d, want the previous 11", s)
	}
	select {
	case <-p.exited:
		t.Fatalf("the server exited: %v", p.waitErr)
	default:
	}

	// The container HEALTHCHECK: the same settings, over TLS on loopback.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.url, "http://"))
	hc := exec.Command(binary, "healthcheck")
	hc.Env = []string{"BIND_ADDR=0.0.0.0:" + port, "TLS_CERT_FILE=" + certFile, "TLS_KEY_FILE=" + keyFile}
	hc.Dir = dir
	if out, err := hc.CombinedOutput(); err != nil || !strings.Contains(string(out), `"status":"ok"`) {
		t.Fatalf("healthcheck: %v %s", err, out)
	}
}

func TestTLSSettingsAreCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	for name, env := range map[string][]string{
		"cert without key": {"TLS_CERT_FILE=" + filepath.Join(dir, "cert.pem")},
		"missing files":    {"TLS_CERT_FILE=" + filepath.Join(dir, "cert.pem"), "TLS_KEY_FILE=" + filepath.Join(dir, "key.pem")},
		"key without cert": {"TLS_KEY_FILE=" + filepath.Join(dir, "key.pem")},
	} {
		cmd := exec.Command(binary, "--bind-addr", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append([]string{"HOME=" + dir}, env...)
		out, err := runBoundedOutput(cmd)
		if err == nil || !strings.Contains(out, "TLS") {
			t.Errorf("%s: %v %s", name, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "octostore.db")); err == nil {
		t.Error("a refused start created the database")
	}
}

func TestHealthcheckFailsWhenNothingAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cmd := exec.Command(binary, "healthcheck", "--url", "http://"+addr, "--timeout", "5s")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	if out, err := runBoundedOutput(cmd); err == nil {
		t.Fatalf("healthcheck of a closed port succeeded: %s", out)
	}
}

func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "octostore-lock (devel) (commit ") {
		t.Fatalf("%v %q", err, out)
	}
}

// waitForLog waits (bounded) until the server's stdout holds msg n times.
func waitForLog(t *testing.T, p *proc, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(p.stdout.String(), msg) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log: %s", msg, p.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBoundedOutput runs cmd for at most 30 s and returns its combined output.
func runBoundedOutput(cmd *exec.Cmd) (string, error) {
	var buf lockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return buf.String(), os.ErrDeadlineExceeded
	}
}

// systemctl reload on a server without TLS must not stop it (SIGHUP's default action
// would).
func TestSIGHUPWithoutTLSKeepsServing(t *testing.T) {
	p := start(t, t.TempDir(), true)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, p, "nothing to reload", 1)
	r := p.call(t, "GET", "/health", "", nil)
	if r["status"] != "ok" {
		t.Fatalf("after SIGHUP: %v", r)
	}
}
