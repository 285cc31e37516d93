package impl

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/octostore/octostore/gen"
)

func TestHealth(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.do("GET", "/health", "", nil)
	if r.status != 200 || string(bytes.TrimSpace(r.raw)) != `{"status":"ok","storage":{"state":"ok"}}` {
		t.Fatalf("%d %s", r.status, r.raw)
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
