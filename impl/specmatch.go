package impl

import (
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/getkin/kin-openapi/openapi3"
)

// The validator's string checks without regular expressions where the spec's pattern is
// a simple one. Every lock name, owner, token id and session id of every request is
// matched against a pattern of the spec; as Go regular expressions these cost about 4 %
// of the server's CPU in a durable lock cycle. Most of the spec's patterns are one
// character class repeated between bounds, after a literal prefix (`^ses_[0-9a-f]{32}$`),
// or a few such sequences as alternatives (the lock name), which byte tables answer
// exactly. Any other pattern is left to package regexp.

// seqItem is one ASCII character class repeated between bounds.
type seqItem struct {
	class    *[256]bool
	min, max int // max < 0: no bound
}

// patternMatcher matches ^(alt|alt|...)$ where each alternative is a sequence of ASCII
// character classes, every one repeated a fixed number of times except the last, which
// may repeat between bounds. Such a sequence fixes where each class starts, so matching
// left to right answers exactly what the regular expression answers; and with ASCII
// classes only, a match has as many bytes as characters.
type patternMatcher struct {
	alts [][]seqItem
}

func (m *patternMatcher) MatchString(s string) bool {
	for _, alt := range m.alts {
		if matchSeq(alt, s) {
			return true
		}
	}
	return false
}

func matchSeq(items []seqItem, s string) bool {
	i := 0
	for k, it := range items {
		n := it.min
		if k == len(items)-1 {
			n = len(s) - i
			if n < it.min || (it.max >= 0 && n > it.max) {
				return false
			}
		}
		if len(s)-i < n {
			return false
		}
		for end := i + n; i < end; i++ {
			if !it.class[s[i]] {
				return false
			}
		}
	}
	return i == len(s)
}

// compilePattern is the validator's regular expression compiler: a patternMatcher when
// the pattern has that shape, package regexp otherwise (as kin-openapi itself compiles it).
func compilePattern(expr string) (openapi3.RegexMatcher, error) {
	if m, ok := seqPattern(expr); ok {
		return m, nil
	}
	// As kin-openapi compiles it: \uXXXX written the way package regexp reads it.
	return regexp.Compile(codepoint.ReplaceAllString(expr, `\x{${code}}`))
}

var codepoint = regexp.MustCompile(`\\u(?P<code>[0-9A-F]{4})`)

// maxAlternatives bounds how many sequences one pattern may expand to.
const maxAlternatives = 16

// seqPattern recognises ^…$ whose middle is built of ASCII literals and classes, their
// repetitions (*, +, ?, {m,n}) and alternations, and expands to a patternMatcher when
// every alternative has the shape it needs.
func seqPattern(expr string) (*patternMatcher, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return nil, false
	}
	first, last := re.Sub[0], re.Sub[len(re.Sub)-1]
	if first.Op != syntax.OpBeginText || last.Op != syntax.OpEndText {
		return nil, false
	}
	alts, ok := expand(&syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1 : len(re.Sub)-1]})
	if !ok {
		return nil, false
	}
	for _, alt := range alts {
		for k := 0; k < len(alt)-1; k++ {
			if alt[k].min != alt[k].max {
				return nil, false
			}
		}
	}
	return &patternMatcher{alts: alts}, true
}

// expand writes re as the alternatives of sequences it matches, or reports false for
// anything but ASCII literals, classes, their repetitions, concatenations and alternations.
func expand(re *syntax.Regexp) ([][]seqItem, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return [][]seqItem{{}}, true
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		seq := []seqItem{}
		for _, r := range re.Rune {
			if r > 0x7f {
				return nil, false
			}
			class := new([256]bool)
			class[r] = true
			seq = append(seq, seqItem{class: class, min: 1, max: 1})
		}
		return [][]seqItem{seq}, true
	case syntax.OpCharClass:
		class := new([256]bool)
		ranges := re.Rune
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := ranges[i], ranges[i+1]
			if lo > 0x7f || hi > 0x7f {
				return nil, false // a class beyond ASCII: characters and bytes differ
			}
			for c := lo; c <= hi; c++ {
				class[c] = true
			}
		}
		return [][]seqItem{{{class: class, min: 1, max: 1}}}, true
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if re.Flags&syntax.NonGreedy != 0 {
			return nil, false // the same matches, but keep to what is proven
		}
		sub, ok := expand(re.Sub[0])
		if !ok || len(sub) != 1 || len(sub[0]) != 1 || sub[0][0].min != 1 || sub[0][0].max != 1 {
			return nil, false
		}
		it := sub[0][0]
		switch re.Op {
		case syntax.OpStar:
			it.min, it.max = 0, -1
		case syntax.OpPlus:
			it.min, it.max = 1, -1
		case syntax.OpQuest:
			it.min, it.max = 0, 1
		default:
			it.min, it.max = re.Min, re.Max
		}
		return [][]seqItem{{it}}, true
	case syntax.OpConcat:
		out := [][]seqItem{{}}
		for _, s := range re.Sub {
			sub, ok := expand(s)
			if !ok || len(out)*len(sub) > maxAlternatives {
				return nil, false
			}
			var next [][]seqItem
			for _, a := range out {
				for _, b := range sub {
					next = append(next, append(append([]seqItem{}, a...), b...))
				}
			}
			out = next
		}
		return out, true
	case syntax.OpAlternate:
		var out [][]seqItem
		for _, s := range re.Sub {
			sub, ok := expand(s)
			if !ok || len(out)+len(sub) > maxAlternatives {
				return nil, false
			}
			out = append(out, sub...)
		}
		return out, true
	}
	return nil, false
}

// uuidFormat checks the "uuid" format as RFC 9562 writes a UUID (kin-openapi's
// FormatOfStringForUUIDOfRFC9562): 8-4-4-4-12 hex digits with a version 1 to 8 and the
// RFC variant, or the nil or max UUID; without a regular expression.
type uuidFormat struct{}

func (uuidFormat) Validate(s string) error {
	if !isRFC9562UUID(s) {
		return fmt.Errorf("string doesn't match the format %q (regular expression %q)", "uuid", openapi3.FormatOfStringForUUIDOfRFC9562)
	}
	return nil
}

func isRFC9562UUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	allF, allZero := true, true
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
		allF = allF && (c == 'f' || c == 'F')
		allZero = allZero && c == '0'
	}
	if allZero || allF {
		return true
	}
	version, variant := s[14], s[19]
	return '1' <= version && version <= '8' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b' || variant == 'A' || variant == 'B')
}
