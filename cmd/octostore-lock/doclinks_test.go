package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6} (.+)$`)
)

// githubAnchor is the anchor GitHub gives a heading: lower case, punctuation dropped,
// spaces as hyphens.
func githubAnchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(title)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchorsOf lists the heading anchors of a Markdown file, headings in code blocks aside.
func anchorsOf(t *testing.T, path string) map[string]bool {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fence := false
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		if m := mdHeading.FindStringSubmatch(l); m != nil && !fence {
			out[githubAnchor(m[1])] = true
		}
	}
	return out
}

// TestDocumentationLinks: every relative link in the README, docs/, SECURITY.md,
// CHANGELOG.md and the SDK READMEs names a file that exists and, for a Markdown file, a
// heading it has, so moving a section cannot leave a dead link behind.
func TestDocumentationLinks(t *testing.T) {
	root := "../.."
	files := []string{"README.md", "SECURITY.md", "CHANGELOG.md"}
	for _, pattern := range []string{"docs/*.md", "sdk/*/README.md"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, f := range m {
			rel, _ := filepath.Rel(root, f)
			files = append(files, rel)
		}
	}
	anchors := map[string]map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		fence := false
		for n, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "```") {
				fence = !fence
			}
			if fence {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "<") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				full := filepath.Join(root, f)
				if path != "" {
					full = filepath.Join(filepath.Dir(full), path)
				}
				if _, err := os.Stat(full); err != nil {
					t.Errorf("%s:%d: link %q: no such file", f, n+1, target)
					continue
				}
				if anchor == "" || !strings.HasSuffix(full, ".md") {
					continue
				}
				if anchors[full] == nil {
					anchors[full] = anchorsOf(t, full)
				}
				if !anchors[full][anchor] {
					t.Errorf("%s:%d: link %q: no heading #%s there", f, n+1, target, anchor)
				}
			}
		}
	}
}
