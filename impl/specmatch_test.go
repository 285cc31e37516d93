package impl

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/octostore/octostore/gen"
)

// specPatterns returns every distinct `pattern` of the spec.
func specPatterns(t *testing.T) []string {
	var doc any
	if err := yaml.Unmarshal(gen.SpecYAML, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "pattern" {
					seen[s] = true
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	if len(out) < 5 {
		t.Fatalf("found only %d patterns in the spec", len(out))
	}
	return out
}

// TestPatternMatchersAgreeWithRegexp holds every pattern of the spec, as the validator
// compiles it, to package regexp's answer on strings made to sit at its edges: every
// length from 0 to 140 and 200, bytes of each class and outside it, non-ASCII letters,
// invalid UTF-8, the pattern's own literal prefix.
func TestPatternMatchersAgreeWithRegexp(t *testing.T) {
	fast := 0
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "Z", "0", "9", ".", "-", "_", "/", ":", " ", "\t", "\n", "~", "!", "\x7f", "\x00", "é", "ß", "\u212a", "\xff", "ses_", "tok_", "acc_", "f", "1234", "x"}
	for _, p := range specPatterns(t) {
		m, err := compilePattern(p)
		if err != nil {
			t.Fatalf("pattern %q: %v", p, err)
		}
		if _, ok := m.(*patternMatcher); ok {
			fast++
		}
		want := regexp.MustCompile(p)
		check := func(s string) {
			if got, w := m.MatchString(s), want.MatchString(s); got != w {
				t.Fatalf("pattern %q on %q: %v, regexp %v", p, s, got, w)
			}
		}
		for n := 0; n <= 200; n++ {
			if n > 140 && n != 200 {
				continue
			}
			for range 40 {
				var b strings.Builder
				for b.Len() < n {
					b.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				s := b.String()
				check(s)
				// and the same length of one class byte, with one byte changed
				uniform := strings.Repeat(string("aZ09.-_"[rng.IntN(7)]), n)
				check(uniform)
				for _, pre := range []string{"ses_", "tok_", "acc_", "", ".", "..", "...", ".-"} {
					check(pre + uniform)
					check(pre + s)
				}
			}
		}
	}
	// The lock name (an alternation of three sequences), owner, account, token, session,
	// cluster-node-id and name-prefix patterns get byte tables; host:port stays a
	// regular expression.
	if fast < 7 {
		t.Fatalf("only %d of the spec's patterns got the byte-table matcher", fast)
	}
	t.Logf("%d patterns of the spec, %d matched by byte table", len(specPatterns(t)), fast)
}

func TestUUIDFormatAgreesWithKinOpenAPI(t *testing.T) {
	want := regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC9562)
	rng := rand.New(rand.NewPCG(5, 6))
	hex := "0123456789abcdefABCDEFgG-"
	base := []string{"6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70", "00000000-0000-0000-0000-000000000000", "ffffffff-FFFF-ffff-FFFF-ffffffffffff", "6F1C2A4E-8A7B-9D0C-9F5E-2B3C4D5E6F70"}
	for i := range 200000 {
		s := []byte(base[i%len(base)])
		for range rng.IntN(3) {
			s[rng.IntN(len(s))] = hex[rng.IntN(len(hex))]
		}
		str := string(s)
		if i%7 == 0 {
			str = str[:rng.IntN(len(str))]
		}
		if got, w := isRFC9562UUID(str), want.MatchString(str); got != w {
			t.Fatalf("%q: %v, the regular expression %v", str, got, w)
		}
	}
}
