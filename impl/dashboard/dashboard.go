// Package dashboard holds the OctoStore dashboard: one HTML page, its CSS and its
// JavaScript, embedded in the binary and served at /dashboard.
//
// The page loads nothing from another host: no CDN, no web fonts (system fonts only),
// and the user's GitHub avatar is relayed by the server at /dashboard/avatar. Its
// script talks to the server with fetch only. The style and script are inlined and
// allowed by their SHA-256 hashes in the Content-Security-Policy, which permits
// same-origin requests and images (and data: images, for the icon) and nothing else.
package dashboard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"strings"
	"sync"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed app.css
	appCSS string
	//go:embed app.js
	appJS string
)

var build = sync.OnceValues(func() ([]byte, string) {
	page := strings.Replace(pageHTML, "/*STYLE*/", appCSS, 1)
	page = strings.Replace(page, "/*SCRIPT*/", appJS, 1)
	csp := "default-src 'none'; script-src " + hash(appJS) + "; style-src " + hash(appCSS) +
		"; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(page), csp
})

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Page returns the dashboard page.
func Page() []byte {
	page, _ := build()
	return page
}

// ContentSecurityPolicy returns the policy to send with Page.
func ContentSecurityPolicy() string {
	_, csp := build()
	return csp
}
