package docs

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

const testSpecURL = "/openapi.yaml"

// splitPage returns the page with the inlined bundle cut out, and the
// contents of the first <script> element (the bundle).
func splitPage(t *testing.T, page string) (outside, script string) {
	t.Helper()
	const open = "<script>\n"
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatal("page has no <script> element")
	}
	rest := page[i+len(open):]
	j := strings.Index(strings.ToLower(rest), "</script")
	if j < 0 {
		t.Fatal("first <script> element is not closed")
	}
	return page[:i+len(open)] + rest[j:], rest[:j]
}

func TestPageInlinesBundleAndSpecURL(t *testing.T) {
	page := string(Page(testSpecURL))
	outside, script := splitPage(t, page)

	if !strings.HasPrefix(page, "<!doctype html>") {
		t.Error("page does not start with a doctype")
	}
	if !strings.Contains(page, "<title>OctoStore API</title>") {
		t.Error("page title missing")
	}
	// The whole bundle (minus its trailing source map comment) must be in the
	// first script element, before which nothing closes the element.
	want := escapeScript(stripSourceMap(bundle))
	if len(want) < 1<<20 {
		t.Fatalf("embedded bundle is only %d bytes", len(want))
	}
	if !strings.Contains(script, want) {
		t.Error("first <script> element does not contain the whole bundle")
	}
	if !strings.Contains(script, "window.Scalar={createApiReference:") {
		t.Error("bundle does not define Scalar.createApiReference")
	}
	if strings.Contains(script, "sourceMappingURL") {
		t.Error("inlined bundle still references a source map")
	}
	if !strings.Contains(outside, `"url":"/openapi.yaml"`) {
		t.Error("configuration does not carry the spec URL")
	}
	for _, opt := range []string{
		`"withDefaultFonts":false`,
		`"telemetry":false`,
		`"hideClientButton":true`,
		`"showDeveloperTools":"never"`,
		`"agent":{"disabled":true}`,
		`"mcp":{"disabled":true}`,
	} {
		if !strings.Contains(outside, opt) {
			t.Errorf("configuration lacks %s", opt)
		}
	}
	if strings.Contains(outside, "proxyUrl") || strings.Contains(outside, `"proxy"`) {
		t.Error("configuration sets a proxy")
	}
	if !strings.Contains(outside, "MIT License") || !strings.Contains(outside, "Copyright (c) 2023-present Scalar") {
		t.Error("licence notice missing")
	}
	if !strings.Contains(License, "MIT License") || !strings.Contains(License, "Copyright (c) 2023-present Scalar") {
		t.Error("embedded LICENSE is not Scalar's MIT licence")
	}
}

func TestPageReferencesNoOutsideHost(t *testing.T) {
	outside, _ := splitPage(t, string(Page(testSpecURL)))

	if m := regexp.MustCompile(`(?i)https?:`).FindString(outside); m != "" {
		t.Errorf("page outside the bundle has an absolute URL (%q)", m)
	}
	// "//host": a protocol-relative URL, in an attribute, url() or JS string.
	if m := regexp.MustCompile(`(?i)(^|[\s"'(=,])//[a-z0-9]`).FindString(outside); m != "" {
		t.Errorf("page outside the bundle has a protocol-relative URL (%q)", m)
	}
	if m := regexp.MustCompile(`(?i)<link[^>]*(font|stylesheet|preconnect|dns-prefetch|preload)`).FindString(outside); m != "" {
		t.Errorf("page links to fonts or other resources: %q", m)
	}
	if m := regexp.MustCompile(`(?i)@import|@font-face|url\(`).FindString(outside); m != "" {
		t.Errorf("page loads CSS resources: %q", m)
	}
}

func TestPageAttributesStayLocal(t *testing.T) {
	outside, _ := splitPage(t, string(Page(testSpecURL)))
	attr := regexp.MustCompile(`(?i)\s(src|href|action|srcset|poster|data)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
	found := 0
	for _, m := range attr.FindAllStringSubmatch(outside, -1) {
		found++
		v := strings.Trim(m[2], `"'`)
		lv := strings.ToLower(strings.TrimSpace(v))
		switch {
		case strings.HasPrefix(lv, "data:"), strings.HasPrefix(lv, "#"):
		case strings.HasPrefix(lv, "/") && !strings.HasPrefix(lv, "//"):
		default:
			t.Errorf("attribute %s=%q may point at an outside host", m[1], v)
		}
	}
	if found == 0 {
		t.Error("no attributes checked; the pattern is broken")
	}
	if strings.Contains(strings.ToLower(outside), "<script src") {
		t.Error("page loads an external script")
	}
	if !strings.Contains(outside, "Content-Security-Policy") || !strings.Contains(outside, "connect-src &#39;self&#39;") {
		t.Error("page lacks its same-origin Content-Security-Policy")
	}
}

// scriptEnd scans the raw text of a <script> element with the HTML
// tokenizer's script-data states and reports where the element would end
// (-1 if it does not) and whether the text leaves the tokenizer in the
// "double escaped" state, where the real "</script>" would not close it.
func scriptEnd(js string) (end int, doubleEscaped bool) {
	const (
		data = iota
		escaped
		double
	)
	delim := func(i int) bool { // byte after a tag name ends it
		return i >= len(js) || strings.IndexByte("\t\n\f\r />", js[i]) >= 0
	}
	has := func(i int, s string) bool {
		return i+len(s) <= len(js) && strings.EqualFold(js[i:i+len(s)], s)
	}
	state := data
	for i := 0; i < len(js); i++ {
		switch {
		case state == data && has(i, "<!--"):
			state = escaped
			i++ // rescan "--" so that "<!-->" ends the comment
		case state != data && has(i, "-->"):
			state = data
			i += 2
		case state != double && has(i, "</script") && delim(i+8):
			return i, false
		case state == escaped && has(i, "<script") && delim(i+7):
			state = double
			i += 6
		case state == double && has(i, "</script") && delim(i+8):
			state = escaped
			i += 7
		}
	}
	return -1, state == double
}

func TestScriptEnd(t *testing.T) {
	for _, c := range []struct {
		js     string
		end    int
		double bool
	}{
		{"a</script>", 1, false},
		{"a</SCRIPT x", 1, false},
		{"a</scripts", -1, false},
		{"<!-- x </script>", 7, false},
		{"<!-- <script> </script> -->", -1, false},
		{"<!-- <script> ", -1, true},
		{"<!--><script> </script>", 14, false},
		{`"<\/script>"`, -1, false},
	} {
		end, double := scriptEnd(c.js)
		if end != c.end || double != c.double {
			t.Errorf("scriptEnd(%q) = %d, %v; want %d, %v", c.js, end, double, c.end, c.double)
		}
	}
}

func TestInlinedScriptCannotBreakOut(t *testing.T) {
	js := escapeScript(stripSourceMap(bundle))
	if indexFold(js, "</script") >= 0 {
		t.Fatal("escaped bundle still contains </script")
	}
	if end, double := scriptEnd(js); end >= 0 || double {
		t.Fatalf("bundle would end its <script> early at %d or swallow the closing tag (%v)", end, double)
	}
	// The whole page: the first script element must close exactly after the
	// bundle.
	page := string(Page(testSpecURL))
	start := strings.Index(page, "<script>\n") + len("<script>\n")
	end, _ := scriptEnd(page[start:])
	if end < 0 || !strings.Contains(page[start:start+end], js) {
		t.Fatal("first <script> element does not end right after the bundle")
	}
	if got := escapeScript("a</script>b</ScRiPt c"); got != `a<\/script>b<\/ScRiPt c` {
		t.Errorf("escapeScript = %q", got)
	}
}

func TestPageIsCached(t *testing.T) {
	a, b := Page(testSpecURL), Page(testSpecURL)
	if &a[0] != &b[0] {
		t.Error("Page rebuilt the page for the same spec URL")
	}
	other := Page("/v2/openapi.json")
	if !bytes.Contains(other, []byte(`"url":"/v2/openapi.json"`)) {
		t.Error("page for another spec URL lacks it")
	}
	if weird := Page(`/x"</script><b>`); bytes.Contains(weird, []byte(`</script><b>`)) {
		t.Error("spec URL is not escaped in the page")
	}
}
