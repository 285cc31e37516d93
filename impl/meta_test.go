package impl

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/octostore/octostore/gen"
)

func TestHealth(t *testing.T) {
	ts := newTestServer(t, Config{Version: "0.2.0"})
	r := ts.do("GET", "/health", "", nil)
	if r.status != 200 || string(bytes.TrimSpace(r.raw)) != `{"status":"ok","storage":{"state":"ok"},"version":"0.2.0"}` {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestEveryAnswerNamesTheServerVersion(t *testing.T) {
	ts := newTestServer(t, Config{Version: "0.2.0"})
	for _, path := range []string{"/health", "/locks", "/no-such-route"} {
		if r := ts.do("GET", path, "", nil); r.header.Get("Server") != "octostore/0.2.0" {
			t.Errorf("GET %s: %d, Server %q", path, r.status, r.header.Get("Server"))
		}
	}
	// A build that is not a release: "(devel)" is not an HTTP token, the header says devel.
	dev := newTestServer(t, Config{})
	r := dev.do("GET", "/health", "", nil)
	if r.header.Get("Server") != "octostore/devel" || !bytes.Contains(r.raw, []byte(`"version":"(devel)"`)) {
		t.Fatalf("devel build: Server %q, body %s", r.header.Get("Server"), r.raw)
	}
}

// The release version lives in openapi.yaml's info.version; the newest release in
// CHANGELOG.md must be that version, so a release cannot ship a spec or a changelog
// that names another one (make release also refuses a tag that differs).
func TestSpecVersionIsTheNewestChangelogRelease(t *testing.T) {
	spec, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+[^\]]*)\]`).FindSubmatch(log)
	if m == nil {
		t.Fatal("CHANGELOG.md names no release (## [x.y.z] ...)")
	}
	if string(m[1]) != spec.Info.Version {
		t.Fatalf("openapi.yaml info.version is %s, the newest release in CHANGELOG.md is %s", spec.Info.Version, m[1])
	}
}

func TestOpenAPIIsServedByteForByte(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.do("GET", "/openapi.yaml", "", nil)
	if r.status != 200 || !bytes.Equal(r.raw, gen.SpecYAML) || r.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("%d %q", r.status, r.header.Get("Content-Type"))
	}
}

func TestDocsPageReferencesNoOutsideHost(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.do("GET", "/docs", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("%d %q", r.status, r.header.Get("Content-Type"))
	}
	if !bytes.Contains(r.raw, []byte("/openapi.yaml")) {
		t.Fatal("docs page does not load the spec")
	}
	// The browser enforces same-origin fetches whatever the bundle contains.
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	// The Scalar bundle holds outside URLs as inert strings (fonts that are only used
	// when withDefaultFonts is on, example data); impl/docs tests what is switched off.
	// Everything else on the page is checked here.
	start := bytes.Index(r.raw, []byte("<script>\n/*! @scalar"))
	end := bytes.Index(r.raw[start:], []byte("\n</script>"))
	if start < 0 || end < 0 {
		t.Fatal("bundle script not found")
	}
	page := append(append([]byte{}, r.raw[:start]...), r.raw[start+end:]...)
	// Attributes that make a browser fetch: src, href, url(), @import, and the
	// configuration's URLs. None may name another host.
	fetches := regexp.MustCompile(`(?i)(?:src|href|action|poster|data-url)\s*=\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//`)
	if loc := fetches.FindIndex(page); loc != nil {
		t.Fatalf("docs page fetches from another host: %q", page[max(0, loc[0]-80):min(len(page), loc[1]+80)])
	}
}
