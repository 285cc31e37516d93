package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// fakeBinaries writes stand-ins for the two octostore-lock builds.
func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, "octostore-lock."+arch)
		if err := os.WriteFile(p, []byte("\x7fELF fake octostore-lock for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		bins[arch] = p
	}
	return bins
}

func testOptions(t *testing.T) options {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"), 0o644)
	return options{bins: fakeBinaries(t), caBundle: ca, version: "0.2.0", commit: "0123456789abcdef", created: time.Unix(1764680000, 0).UTC()}
}

// openArchive unpacks an OCI layout tar and returns its one tagged image index.
func openArchive(t *testing.T, archive string) (v1.ImageIndex, v1.Descriptor) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, dir) {
			t.Fatalf("entry %q escapes the archive", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(target, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(target), 0o755)
		b, _ := io.ReadAll(tr)
		if err := os.WriteFile(target, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("index.json lists %d entries, want 1 (the multi-platform index)", len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx, m.Manifests[0]
}

// checkImage checks every promise of the image: platforms, user, entrypoint, port,
// volume, working directory, health check, labels, and the files with their owners.
func checkImage(t *testing.T, archive, version string, wantArches []string) {
	t.Helper()
	idx, desc := openArchive(t, archive)
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != version {
		t.Errorf("ref.name %q, want %q", got, version)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var arches []string
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" {
			t.Fatalf("manifest without linux platform: %+v", d.Platform)
		}
		arches = append(arches, d.Platform.Architecture)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.Architecture != d.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("%s: config says %s/%s", d.Platform.Architecture, cf.OS, cf.Architecture)
		}
		if c.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
		}
		if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/octostore-lock"}) || len(c.Cmd) != 0 {
			t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
		}
		if _, ok := c.ExposedPorts["3000/tcp"]; !ok || len(c.ExposedPorts) != 1 {
			t.Errorf("exposed ports %v, want 3000/tcp", c.ExposedPorts)
		}
		if _, ok := c.Volumes["/data"]; !ok || len(c.Volumes) != 1 || c.WorkingDir != "/data" {
			t.Errorf("volumes %v workdir %q, want /data", c.Volumes, c.WorkingDir)
		}
		for _, e := range []string{"BIND_ADDR=0.0.0.0:3000", "DATABASE_URL=/data/octostore.db"} {
			if !slices.Contains(c.Env, e) {
				t.Errorf("env %v lacks %s", c.Env, e)
			}
		}
		if hc := c.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/usr/local/bin/octostore-lock", "healthcheck"}) || hc.Interval <= 0 || hc.Retries < 1 {
			t.Errorf("healthcheck %+v", c.Healthcheck)
		}
		for k, want := range map[string]string{
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.source":   "https://github.com/octostore/octostore",
			"org.opencontainers.image.licenses": "MIT",
			"org.opencontainers.image.title":    "octostore",
		} {
			if c.Labels[k] != want {
				t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
			}
		}
		if c.Labels["org.opencontainers.image.revision"] == "" {
			t.Error("no revision label")
		}
		files := layerFiles(t, img)
		bin, ok := files["usr/local/bin/octostore-lock"]
		if !ok || bin.Mode&0o111 == 0 || bin.Uid != 0 || !bytes.HasPrefix(bin.body, []byte("\x7fELF")) {
			t.Errorf("binary %+v", bin.Header)
		}
		if d, ok := files["data/"]; !ok || d.Uid != 65532 || d.Gid != 65532 || d.Typeflag != tar.TypeDir {
			t.Errorf("/data not a directory owned by 65532: %+v", d.Header)
		}
		if p, ok := files["etc/passwd"]; !ok || !bytes.Contains(p.body, []byte("nonroot:x:65532:65532:")) {
			t.Error("/etc/passwd lacks the nonroot user")
		}
		if _, ok := files["etc/ssl/certs/ca-certificates.crt"]; !ok {
			t.Error("no CA bundle (GitHub sign-in needs it)")
		}
		for name, f := range files {
			if f.Uid != 0 && name != "data/" {
				t.Errorf("%s owned by %d", name, f.Uid)
			}
		}
	}
	slices.Sort(arches)
	if !slices.Equal(arches, wantArches) {
		t.Errorf("platforms %v, want %v", arches, wantArches)
	}
}

type entry struct {
	*tar.Header
	body []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = entry{h, b}
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestImageConfigAndFiles(t *testing.T) {
	o := testOptions(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := run(o, out); err != nil {
		t.Fatal(err)
	}
	checkImage(t, out, "0.2.0", []string{"amd64", "arm64"})
}

func TestImageIsReproducible(t *testing.T) {
	o := testOptions(t)
	a, b := filepath.Join(t.TempDir(), "a.tar"), filepath.Join(t.TempDir(), "b.tar")
	if err := run(o, a); err != nil {
		t.Fatal(err)
	}
	if err := run(o, b); err != nil {
		t.Fatal(err)
	}
	if sum(t, a) != sum(t, b) {
		t.Fatal("two builds from the same inputs differ")
	}
}

// The image make image built (OCTOSTORE_IMAGE, set by make test-image), checked the
// same way, with the real binaries.
func TestBuiltImage(t *testing.T) {
	path := os.Getenv("OCTOSTORE_IMAGE")
	if path == "" {
		t.Skip("OCTOSTORE_IMAGE not set: make test-image builds the image and checks it")
	}
	checkImage(t, path, os.Getenv("OCTOSTORE_IMAGE_VERSION"), []string{"amd64", "arm64"})
	runRootfs(t, path)
}

// runRootfs is the nearest thing to running the image without a container engine: the
// layer unpacked (owners and modes kept), the entrypoint started in a chroot as the
// image's user, on loopback; the health check run the way HEALTHCHECK runs it; the
// database must appear in /data owned by that user. Needs root and chroot(8).
func runRootfs(t *testing.T, archive string) {
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		chroot = "/usr/sbin/chroot"
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the unpacked image was not started (chroot needs root)")
		return
	}
	if _, err := os.Stat(chroot); err != nil {
		t.Log("no chroot(8): the unpacked image was not started")
		return
	}
	idx, _ := openArchive(t, archive)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var img v1.Image
	for _, d := range m.Manifests {
		if d.Platform.Architecture == runtime.GOARCH {
			img, _ = idx.Image(d.Digest)
		}
	}
	if img == nil {
		t.Logf("no %s image to start here", runtime.GOARCH)
		return
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	files := layerFiles(t, img)
	names := slices.Sorted(maps.Keys(files)) // a directory before what it holds
	for _, name := range names {
		f := files[name]
		target := filepath.Join(root, filepath.FromSlash(name))
		if f.Typeflag == tar.TypeDir {
			os.MkdirAll(target, 0o755)
		} else if err := os.WriteFile(target, f.body, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(target, os.FileMode(f.Mode&0o777)|map[bool]os.FileMode{true: os.ModeSticky}[f.Mode&0o1000 != 0])
		os.Lchown(target, f.Uid, f.Gid)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := []string{"PATH=/usr/local/bin", "BIND_ADDR=" + addr, "DATABASE_URL=/data/octostore.db"}
	srv := exec.Command(chroot, "--userspec="+user, root, binaryPath)
	srv.Env = env
	var out bytes.Buffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	var health string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		hc := exec.Command(chroot, "--userspec="+user, root, binaryPath, "healthcheck", "--timeout", "2s")
		hc.Env = env
		b, err := hc.CombinedOutput()
		if health = string(b); err == nil {
			break
		}
	}
	if !strings.Contains(health, `"status":"ok"`) {
		t.Fatalf("healthcheck inside the unpacked image: %s\nserver: %s", health, out.String())
	}
	st, err := os.Stat(filepath.Join(root, "data", "octostore.db"))
	if err != nil {
		t.Fatalf("no database in /data: %v\n%s", err, out.String())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Uid != uid {
		t.Fatalf("/data/octostore.db owned by %v, want %d", st.Sys(), uid)
	}
	t.Logf("started %s in a chroot as %s: healthcheck %s", binaryPath, user, strings.TrimSpace(health))
}

// The Dockerfile promises what the daemonless image has: no engine builds it here, so at
// least its instructions are checked against the same values.
func TestDockerfileMatchesTheImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"\nFROM gcr.io/distroless/static-debian12:nonroot\n",
		"\nUSER " + user + "\n",
		"\nEXPOSE " + strings.TrimSuffix(port, "/tcp") + "\n",
		"\nVOLUME [\"" + dataDir + "\"]\n",
		"\nWORKDIR " + dataDir + "\n",
		"CMD [\"" + binaryPath + "\", \"healthcheck\"]\n",
		"\nENTRYPOINT [\"" + binaryPath + "\"]\n",
		"DATABASE_URL=/data/octostore.db",
		"BIND_ADDR=0.0.0.0:3000",
		"CGO_ENABLED=0 go build -trimpath",
		"--chown=65532:65532 /out/data /data",
		"org.opencontainers.image.source=\"https://github.com/octostore/octostore\"",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", strings.TrimSpace(want))
		}
	}
}
