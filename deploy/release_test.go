// Package deploy holds what ships OctoStore: the container image builder (image/), the
// systemd unit, and these tests of the release (.goreleaser.yaml), install.sh and the
// unit. make test-release runs them; they need the pinned GoReleaser
// (OCTOSTORE_GORELEASER, set by the Makefile) and skip with a message without it.
package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var root = func() string { p, _ := filepath.Abs(".."); return p }()

// runBounded runs cmd for at most limit and returns its combined output.
func runBounded(t *testing.T, cmd *exec.Cmd, limit time.Duration) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish within %s: %s", cmd.Args, limit, buf.String())
		return "", nil
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := runBounded(t, exec.Command("git", append([]string{"-C", dir}, args...)...), time.Minute)
	if err != nil {
		t.Fatalf("git %s: %v %s", args, err, out)
	}
	return strings.TrimSpace(out)
}

func specVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^info:\n(?:  .*\n)*?  version: (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no info.version in openapi.yaml")
	}
	return string(m[1])
}

// The CI size of a release: the host's platform only (linux/amd64 on CI), all three
// binaries, through the real .goreleaser.yaml with only its platform lists narrowed.
func hostConfig(t *testing.T, dist string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for old, repl := range map[string]string{
		"dist: dist\n":                     "dist: " + dist + "\n",
		"goos: [linux, darwin, windows]\n": "goos: [" + runtime.GOOS + "]\n",
		"goarch: [amd64, arm64]\n":         "goarch: [" + runtime.GOARCH + "]\n",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf(".goreleaser.yaml no longer has %q: update hostConfig", strings.TrimSpace(old))
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	path := filepath.Join(t.TempDir(), "goreleaser.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// release builds HEAD, checked out afresh in a new directory, into dist with GoReleaser.
func release(t *testing.T, dist string) {
	t.Helper()
	goreleaser := os.Getenv("OCTOSTORE_GORELEASER")
	if goreleaser == "" {
		t.Skip("OCTOSTORE_GORELEASER not set: make test-release installs the pinned GoReleaser and runs this")
	}
	src := filepath.Join(t.TempDir(), "src")
	head := git(t, root, "rev-parse", "HEAD")
	git(t, root, "clone", "-q", "--no-checkout", root, src)
	git(t, src, "checkout", "-q", head)
	// One build at a time, as make release builds: an archive lists its binaries in the
	// order their builds finished, which parallel builds leave to chance.
	cmd := exec.Command(goreleaser, "release", "--snapshot", "--clean", "--parallelism", "1", "--config", hostConfig(t, dist))
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "OCTOSTORE_VERSION="+specVersion(t))
	if out, err := runBounded(t, cmd, 20*time.Minute); err != nil {
		t.Fatalf("goreleaser: %v\n%s", err, out)
	}
}

// One release of HEAD for the install tests, built once.
var (
	firstOnce sync.Once
	firstDist string
)

func firstRelease(t *testing.T) string {
	t.Helper()
	firstOnce.Do(func() {
		dir, err := os.MkdirTemp("", "octostore-release")
		if err != nil {
			t.Fatal(err)
		}
		release(t, filepath.Join(dir, "dist"))
		firstDist = filepath.Join(dir, "dist")
	})
	if firstDist == "" {
		t.Skip("no release was built (see the first test's failure or skip)")
	}
	return firstDist
}

func TestMain(m *testing.M) {
	code := m.Run()
	if firstDist != "" {
		os.RemoveAll(filepath.Dir(firstDist))
	}
	os.Exit(code)
}

func readSums(t *testing.T, dist string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Two builds of the same commit, from two checkouts in different directories at
// different times, give byte-identical archives: the same SHA256SUMS.
func TestReleaseIsReproducible(t *testing.T) {
	a := firstRelease(t)
	b := filepath.Join(t.TempDir(), "dist")
	release(t, b)
	sa, sb := readSums(t, a), readSums(t, b)
	t.Logf("SHA256SUMS:\n%s", sa)
	if !bytes.Equal(sa, sb) {
		t.Fatalf("two builds of one commit differ:\n%s\nvs\n%s", sa, sb)
	}
	archive := "octostore_" + specVersion(t) + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	if !bytes.Contains(sa, []byte("  "+archive+"\n")) || !bytes.Contains(sa, []byte("  install.sh\n")) {
		t.Fatalf("SHA256SUMS lacks %s or install.sh:\n%s", archive, sa)
	}
}

// serve serves dir on loopback for the length of the test.
func serve(t *testing.T, dir string) string {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// install runs install.sh (this checkout's) against url into a fresh directory.
func install(t *testing.T, url string, env ...string) (dir, out string, err error) {
	t.Helper()
	home := t.TempDir()
	dir = filepath.Join(home, "bin")
	cmd := exec.Command("sh", filepath.Join(root, "install.sh"))
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + home, "OCTOSTORE_DOWNLOAD_URL=" + url, "OCTOSTORE_INSTALL_DIR=" + dir}, env...)
	out, err = runBounded(t, cmd, 2*time.Minute)
	return dir, out, err
}

func TestInstallScriptInstallsAVerifiedRelease(t *testing.T) {
	dist := firstRelease(t)
	dir, out, err := install(t, serve(t, dist))
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"Checked octostore_", "Next steps:", "is not on your PATH"} {
		if !strings.Contains(out, want) {
			t.Errorf("install.sh output lacks %q:\n%s", want, out)
		}
	}
	head := git(t, root, "rev-parse", "HEAD")
	for _, bin := range []string{"octostore-lock", "octostore", "octostore-bench"} {
		got, err := runBounded(t, exec.Command(filepath.Join(dir, bin), "--version"), time.Minute)
		want := bin + " " + specVersion(t) + " (commit " + head + ", built "
		if err != nil || !strings.HasPrefix(got, want) {
			t.Errorf("%s --version: %v %q, want it to start with %q", bin, err, got, want)
		}
	}
	// Installing again over the installed binaries works (an upgrade).
	cmd := exec.Command("sh", filepath.Join(root, "install.sh"))
	cmd.Env = []string{"PATH=/usr/bin:/bin:" + dir, "HOME=" + t.TempDir(), "OCTOSTORE_DOWNLOAD_URL=" + serve(t, dist), "OCTOSTORE_INSTALL_DIR=" + dir}
	if out, err := runBounded(t, cmd, 2*time.Minute); err != nil || strings.Contains(out, "not on your PATH") {
		t.Fatalf("second install: %v\n%s", err, out)
	}
}

// copyDist copies a release so a test can spoil its copy.
func copyDist(t *testing.T, dist string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dist, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// evilArchive is a well-formed release archive whose binaries are someone else's: it
// unpacks and "works", so only the checksum can tell.
func evilArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"octostore-lock", "octostore", "octostore-bench"} {
		body := []byte("#!/bin/sh\necho " + name + " 0.2.0 not ours\n")
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestInstallScriptRefusesATamperedArchive(t *testing.T) {
	dist := firstRelease(t)
	name := "octostore_" + specVersion(t) + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	orig, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(orig)
	flipped[len(flipped)/2] ^= 0x01 // one flipped byte deep inside the compressed data
	for label, archive := range map[string][]byte{"one flipped byte": flipped, "other binaries": evilArchive(t)} {
		t.Run(label, func(t *testing.T) {
			spoilt := copyDist(t, dist)
			if err := os.WriteFile(filepath.Join(spoilt, name), archive, 0o644); err != nil {
				t.Fatal(err)
			}
			dir, out, err := install(t, serve(t, spoilt))
			if err == nil {
				t.Fatalf("install.sh accepted a tampered archive:\n%s", out)
			}
			if !strings.Contains(out, "checksum mismatch") || !strings.Contains(out, "Nothing was installed") {
				t.Errorf("install.sh output does not say why:\n%s", out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("install.sh refused but left files in %s: %v", dir, entries)
			}
		})
	}
}

func TestInstallScriptRefusesWhatItCannotVerify(t *testing.T) {
	dist := firstRelease(t)
	url := serve(t, dist)
	// No archive for this platform in SHA256SUMS.
	if dir, out, err := install(t, url, "OCTOSTORE_ARCH=riscv64"); err == nil || !strings.Contains(out, "lists no archive for linux/riscv64") {
		t.Errorf("unknown platform: %v\n%s", err, out)
	} else if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left files: %v", entries)
	}
	// No SHA256SUMS at all.
	empty := serve(t, t.TempDir())
	if _, out, err := install(t, empty); err == nil || !strings.Contains(out, "download failed") {
		t.Errorf("no SHA256SUMS: %v\n%s", err, out)
	}
	// SHA256SUMS of another version than asked for.
	if _, out, err := install(t, url, "OCTOSTORE_VERSION=9.9.9"); err == nil || !strings.Contains(out, "is not version 9.9.9") {
		t.Errorf("wrong version: %v\n%s", err, out)
	}
}

func TestInstallScriptIsShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed (make test-release installs it from Debian's packages as root)")
	}
	if out, err := runBounded(t, exec.Command("shellcheck", "--shell=sh", "--severity=style", filepath.Join(root, "install.sh")), time.Minute); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

var hardening = []string{
	"DynamicUser=yes", "StateDirectory=octostore", "ProtectSystem=strict", "NoNewPrivileges=yes",
	"ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=\n",
	"RestrictAddressFamilies=", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
	"ExecReload=/bin/kill -HUP $MAINPID",
}

// The unit has the hardening it promises, and systemd-analyze verify finds nothing to
// say about it (verify exits 0 on unknown keys and bad values, so any output fails).
func TestSystemdUnitVerifies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "octostore.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range hardening {
		if !bytes.Contains(b, []byte("\n"+want)) {
			t.Errorf("octostore.service lacks %q", strings.TrimSpace(want))
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed: the unit was not verified")
	}
	// verify wants ExecStart's binary to exist: point it at one that does.
	self, _ := os.Executable()
	unit := regexp.MustCompile(`(?m)^ExecStart=\S+`).ReplaceAll(b, []byte("ExecStart="+self))
	path := filepath.Join(t.TempDir(), "octostore.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runBounded(t, exec.Command("systemd-analyze", "verify", path), time.Minute)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
