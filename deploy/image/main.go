// Command image builds the OctoStore container image without a container engine: the
// static octostore-lock binaries for linux/amd64 and linux/arm64 on an empty base, as a
// multi-platform OCI image, written as an OCI image layout in one tar file
// (make image).
//
//	go run ./image --bin-amd64 octostore-lock.amd64 --bin-arm64 octostore-lock.arm64 \
//	    --version 0.2.0 --commit <hash> --epoch <commit time, unix seconds> --out octostore_0.2.0_oci.tar
//
// The image matches the Dockerfile at the repository root: user 65532:65532 (nonroot),
// entrypoint /usr/local/bin/octostore-lock, port 3000, the database on the /data
// volume, a HEALTHCHECK that runs `octostore-lock healthcheck`, OCI labels. The files
// carry the commit time and fixed owners, so the same binaries and CA bundle give the
// same image digest.
//
// Load it with `podman load -i FILE`, `skopeo copy oci-archive:FILE docker-daemon:octostore:0.2.0`
// or (Docker 25 and later) `docker load -i FILE`; push it with `crane push` or `skopeo copy`.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image promises; image_test.go checks each.
const (
	binaryPath = "/usr/local/bin/octostore-lock"
	user       = "65532:65532"
	uid        = 65532
	port       = "3000/tcp"
	dataDir    = "/data"
	repo       = "docker.io/octostore/octostore"
)

// options say what goes into the image.
type options struct {
	bins     map[string]string // architecture → octostore-lock binary for linux
	caBundle string            // PEM bundle for outgoing TLS (GitHub sign-in); "" for none
	version  string
	commit   string
	created  time.Time // the commit time: every file's mtime and the image's creation time
}

func main() {
	var (
		o                 options
		amd64, arm64, out string
		epoch             int64
	)
	flag.StringVar(&amd64, "bin-amd64", "", "octostore-lock built for linux/amd64")
	flag.StringVar(&arm64, "bin-arm64", "", "octostore-lock built for linux/arm64")
	flag.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates for outgoing TLS, copied to /etc/ssl/certs/ca-certificates.crt; empty for none")
	flag.StringVar(&o.version, "version", "", "release version (label and tag)")
	flag.StringVar(&o.commit, "commit", "", "commit hash (label)")
	flag.Int64Var(&epoch, "epoch", 0, "commit time in Unix seconds (SOURCE_DATE_EPOCH): file times and the creation time")
	flag.StringVar(&out, "out", "", "the OCI layout tar file to write")
	flag.Parse()
	o.bins = map[string]string{}
	if amd64 != "" {
		o.bins["amd64"] = amd64
	}
	if arm64 != "" {
		o.bins["arm64"] = arm64
	}
	o.created = time.Unix(epoch, 0).UTC()
	if err := run(o, out); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(o options, out string) error {
	switch {
	case len(o.bins) == 0:
		return errors.New("no binary: give --bin-amd64 and/or --bin-arm64")
	case o.version == "" || out == "":
		return errors.New("--version and --out are required")
	}
	idx, err := build(o)
	if err != nil {
		return err
	}
	return writeArchive(idx, o, out)
}

// build makes the multi-platform image index.
func build(o options) (v1.ImageIndex, error) {
	var ca []byte
	if o.caBundle != "" {
		var err error
		if ca, err = os.ReadFile(o.caBundle); err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	arches := make([]string, 0, len(o.bins))
	for a := range o.bins {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	for _, arch := range arches {
		bin, err := os.ReadFile(o.bins[arch])
		if err != nil {
			return nil, err
		}
		img, err := platformImage(o, arch, bin, ca)
		if err != nil {
			return nil, fmt.Errorf("linux/%s: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return idx, nil
}

func platformImage(o options, arch string, bin, ca []byte) (v1.Image, error) {
	rootfs, err := rootfsTar(o.created, bin, ca)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(rootfs)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: o.created}, CreatedBy: "octostore deploy/image: octostore-lock, CA bundle, passwd, /data", Comment: "make image",
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = arch, "linux"
	cfg.Created = v1.Time{Time: o.created}
	cfg.Config = v1.Config{
		User:         user,
		Entrypoint:   []string{binaryPath},
		Env:          []string{"PATH=/usr/local/bin", "BIND_ADDR=0.0.0.0:3000", "DATABASE_URL=/data/octostore.db", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir:   dataDir,
		ExposedPorts: map[string]struct{}{port: {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		StopSignal:   "SIGTERM",
		Labels:       labels(o),
		Healthcheck: &v1.HealthConfig{
			Test:        []string{"CMD", binaryPath, "healthcheck"},
			Interval:    10 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: 10 * time.Second,
			Retries:     3,
		},
	}
	return mutate.ConfigFile(img, cfg)
}

func labels(o options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "octostore",
		"org.opencontainers.image.description": "OctoStore: leader election and distributed locking as a service",
		"org.opencontainers.image.source":      "https://github.com/octostore/octostore",
		"org.opencontainers.image.licenses":    "MIT",
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.revision":    o.commit,
		"org.opencontainers.image.created":     o.created.Format(time.RFC3339),
	}
}

// rootfsTar is the image's one layer: directories, the binary, users, CA bundle.
func rootfsTar(mtime time.Time, bin, ca []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: owner, Gid: owner, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	steps := []func() error{
		func() error { return dir("data/", 0o700, uid) },
		func() error { return dir("etc/", 0o755, 0) },
		func() error {
			return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n"))
		},
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n"))
		},
		func() error { return dir("etc/ssl/", 0o755, 0) },
		func() error { return dir("etc/ssl/certs/", 0o755, 0) },
		func() error {
			if ca == nil {
				return nil
			}
			return file("etc/ssl/certs/ca-certificates.crt", 0o644, ca)
		},
		func() error { return dir("tmp/", 0o1777, 0) },
		func() error { return dir("usr/", 0o755, 0) },
		func() error { return dir("usr/local/", 0o755, 0) },
		func() error { return dir("usr/local/bin/", 0o755, 0) },
		func() error { return file(strings.TrimPrefix(binaryPath, "/"), 0o755, bin) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeArchive writes idx as an OCI image layout (tagged with the version) and packs
// the layout into one tar file with sorted entries, fixed times and owners.
func writeArchive(idx v1.ImageIndex, o options, out string) error {
	tmp, err := os.MkdirTemp("", "octostore-image")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.version,
		"io.containerd.image.name":          repo + ":" + o.version,
	})); err != nil {
		return err
	}
	var names []string
	err = filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == tmp {
			return err
		}
		rel, _ := filepath.Rel(tmp, path)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(out + ".tmp")
	tw := tar.NewWriter(f)
	for _, name := range names {
		st, err := os.Stat(filepath.Join(tmp, name))
		if err != nil {
			return err
		}
		h := &tar.Header{Name: name, ModTime: o.created, Mode: 0o644, Format: tar.FormatPAX}
		if st.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		body, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}
