// Package docs serves the OctoStore API reference: a single self-contained
// HTML page that renders the OpenAPI document with Scalar
// (@scalar/api-reference, see scalar/VERSION), whose browser bundle is
// embedded in the binary and inlined into the page.
//
// The page loads nothing from any outside host: no CDN, no web fonts, no
// telemetry. The only request it makes on load is for the OpenAPI document at
// the same-origin URL given to Page.
//
// What was checked in the bundle (standalone.js of @scalar/api-reference
// 1.72.1) and why none of its outside hosts is contacted with this page's
// configuration:
//
//   - fonts.scalar.com: @font-face rules for Inter and JetBrains Mono, injected
//     only when withDefaultFonts is true. We set it to false; text falls back
//     to local system fonts.
//   - proxy.scalar.com, api.scalar.com/request-proxy: the request proxy. It is
//     used only when proxyUrl is set (or by the standalone "web" client
//     layout, not the reference); we leave proxyUrl unset, so "Test Request"
//     calls the API's own servers directly.
//   - api.scalar.com, registry.scalar.com, dashboard.scalar.com (the
//     externalUrls defaults), galaxy.scalar.com: the "Ask AI" agent, MCP
//     generation and the developer toolbar's share/deploy/register actions.
//     The agent and MCP are switched on by default when the page is opened on
//     localhost/127.0.0.1; we disable both (agent.disabled, mcp.disabled) and
//     set showDeveloperTools to "never". galaxy.scalar.com is only an OAuth
//     placeholder text.
//   - client.scalar.com: href of the sidebar "Open API Client" button, hidden
//     with hideClientButton. Nothing is fetched from it.
//   - scalar.com, www.scalar.com, docs.scalar.com, editor.scalar.com,
//     github.com, discord.gg, developer.mozilla.org, cloud.google.com,
//     developers.cloudflare.com, vuejs.org, unhead.unjs.io, tailwindcss.com,
//     apidocumentation.com: link hrefs ("Powered by Scalar", header docs
//     links), comments and translated UI strings; opened only if a user
//     clicks a link.
//   - picsum.photos, loremflickr.com, avatars.githubusercontent.com,
//     example.com and other made-up domains: faker data for example values
//     the reference generates as strings; never loaded.
//   - www.w3.org, json-schema.org, www.ibm.com, html.spec.whatwg.org: XML/SVG
//     namespaces, JSON Schema $schema identifiers and spec links; not
//     fetched.
//   - telemetry: the option exists (default true) but the bundle has no code
//     that reads it; we still set it to false.
//   - pluginUrls (dynamic import()), favicon and metaData are left unset. The
//     trailing sourceMappingURL comment is stripped from the inlined copy.
//
// As a second line of defence the page carries a Content-Security-Policy
// that only allows the inline scripts and styles, same-origin requests and
// data:/blob: images, media and frames, so a browser refuses any outside
// fetch even if a future bundle tried one. It omits 'unsafe-eval': the
// bundle's zod probes Function("") once, gets blocked (one CSP report in the
// console) and falls back to its non-JIT path.
//
// Scalar is MIT licensed, Copyright (c) 2023-present Scalar; scalar/LICENSE
// is embedded and its notice is kept in the served page. The npm tarball
// ships no LICENSE file; scalar/LICENSE is the scalar/scalar repository's
// root LICENSE, which the package README refers to.
package docs

import (
	_ "embed"
	"encoding/json"
	"html"
	"strings"
	"sync"
)

// Version is the npm package whose browser bundle is embedded.
const Version = "@scalar/api-reference@1.72.1"

// title is the HTML title of the reference page.
const title = "OctoStore API"

//go:embed scalar/standalone.js
var bundle string

// License is the MIT licence text of the embedded Scalar bundle.
//
//go:embed scalar/LICENSE
var License string

// ContentSecurityPolicy allows the page's own inline script and styles and
// same-origin requests only. The page carries it in a meta tag; the server also sends
// it as a header.
const ContentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline'; " +
	"style-src 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
	"media-src 'self' blob:; frame-src 'self' blob: data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'"

// HeaderContentSecurityPolicy is the policy the server sends with the page: the page's
// own, plus frame-ancestors 'none' so no other site can frame it (browsers ignore
// frame-ancestors in a meta tag, so it can only be a header).
const HeaderContentSecurityPolicy = ContentSecurityPolicy + "; frame-ancestors 'none'"

// toggle is an option object with a single "disabled" switch.
type toggle struct {
	Disabled bool `json:"disabled"`
}

// config is the Scalar configuration passed to Scalar.createApiReference.
type config struct {
	URL                string `json:"url"`
	WithDefaultFonts   bool   `json:"withDefaultFonts"`
	Telemetry          bool   `json:"telemetry"`
	HideClientButton   bool   `json:"hideClientButton"`
	ShowDeveloperTools string `json:"showDeveloperTools"`
	Agent              toggle `json:"agent"`
	MCP                toggle `json:"mcp"`
}

func newConfig(specURL string) config {
	return config{
		URL:                specURL,
		WithDefaultFonts:   false,
		Telemetry:          false,
		HideClientButton:   true,
		ShowDeveloperTools: "never",
		Agent:              toggle{Disabled: true},
		MCP:                toggle{Disabled: true},
	}
}

var (
	inlineOnce sync.Once
	inlineJS   string
	pages      sync.Map // specURL -> []byte
)

// Page returns the complete HTML page of the API reference for the OpenAPI
// document at specURL, which should be a same-origin path such as
// "/openapi.yaml". The Scalar bundle is inlined, so the page is a single
// response and needs no other route.
//
// Pages are built once per specURL and cached; the returned slice is shared
// and must not be modified.
func Page(specURL string) []byte {
	if p, ok := pages.Load(specURL); ok {
		return p.([]byte)
	}
	p, _ := pages.LoadOrStore(specURL, build(specURL))
	return p.([]byte)
}

func build(specURL string) []byte {
	inlineOnce.Do(func() { inlineJS = escapeScript(stripSourceMap(bundle)) })

	cfg, err := json.Marshal(newConfig(specURL)) // escapes <, > and & as \u003c...
	if err != nil {
		panic("docs: marshal config: " + err.Error())
	}

	var b strings.Builder
	b.Grow(len(inlineJS) + 2048)
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n")
	b.WriteString("<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"" + html.EscapeString(ContentSecurityPolicy) + "\">\n")
	b.WriteString("<meta name=\"referrer\" content=\"no-referrer\">\n")
	b.WriteString("<link rel=\"icon\" href=\"data:,\">\n")
	b.WriteString("<title>" + html.EscapeString(title) + "</title>\n")
	b.WriteString("</head>\n<body>\n<div id=\"app\"></div>\n")
	b.WriteString("<!-- Scalar API Reference, " + Version + ". MIT License, Copyright (c) 2023-present Scalar. -->\n")
	b.WriteString("<script>\n/*! " + Version + " | MIT License | Copyright (c) 2023-present Scalar */\n")
	b.WriteString(inlineJS)
	b.WriteString("\n</script>\n<script>\nScalar.createApiReference(\"#app\", ")
	b.Write(cfg)
	b.WriteString(");\n</script>\n</body>\n</html>\n")
	return []byte(b.String())
}

// stripSourceMap drops a trailing "//# sourceMappingURL=" comment, which
// would point at a file this package does not serve.
func stripSourceMap(js string) string {
	js = strings.TrimRight(js, "\n")
	if i := strings.LastIndex(js, "\n"); i >= 0 && strings.HasPrefix(js[i+1:], "//# sourceMappingURL=") {
		return js[:i]
	}
	return js
}

// escapeScript makes js safe to place inside a <script> element by turning
// every "</script" (any case) into "<\/script", which means the same inside
// JavaScript strings, templates and regular expressions.
func escapeScript(js string) string {
	const tag = "</script"
	var b strings.Builder
	for {
		i := indexFold(js, tag)
		if i < 0 {
			b.WriteString(js)
			return b.String()
		}
		b.WriteString(js[:i+1])
		b.WriteString(`\`)
		js = js[i+1:]
	}
}

// indexFold returns the index of the first ASCII case-insensitive match of
// the lower-case needle in s, or -1.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		j := strings.IndexByte(s[i:], needle[0])
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) <= len(s) && strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
