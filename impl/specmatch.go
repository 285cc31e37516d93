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
// which a byte table answers exactly. Any other pattern is left to package regexp.

// classMatcher matches ^prefix[class]{min,max}$ where class holds ASCII bytes only, so a
// match has as many bytes as characters.
type classMatcher struct {
	prefix   string
	class    [256]bool
	min, max int // max < 0: no bound
}

func (m *classMatcher) MatchString(s string) bool {
	if len(s) < len(m.prefix) || s[:len(m.prefix)] != m.prefix {
		return false
	}
	s = s[len(m.prefix):]
	if len(s) < m.min || (m.max >= 0 && len(s) > m.max) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !m.class[s[i]] {
			return false
		}
	}
	return true
}

// compilePattern is the validator's regular expression compiler: a classMatcher when the
// pattern has that shape, package regexp otherwise (as kin-openapi itself compiles it).
func compilePattern(expr string) (openapi3.RegexMatcher, error) {
	if m, ok := classPattern(expr); ok {
		return m, nil
	}
	// As kin-openapi compiles it: \uXXXX written the way package regexp reads it.
	return regexp.Compile(codepoint.ReplaceAllString(expr, `\x{${code}}`))
}

var codepoint = regexp.MustCompile(`\\u(?P<code>[0-9A-F]{4})`)

// classPattern recognises ^literal[class]{m,n}$ (also *, +, ?, {m,}) with an ASCII class.
func classPattern(expr string) (*classMatcher, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return nil, false
	}
	first, last := re.Sub[0], re.Sub[len(re.Sub)-1]
	if first.Op != syntax.OpBeginText || last.Op != syntax.OpEndText {
		return nil, false
	}
	middle := re.Sub[1 : len(re.Sub)-1]
	m := &classMatcher{}
	if len(middle) == 2 {
		if middle[0].Op != syntax.OpLiteral || middle[0].Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		for _, r := range middle[0].Rune {
			if r > 0x7f {
				return nil, false
			}
			m.prefix += string(r)
		}
		middle = middle[1:]
	}
	if len(middle) != 1 {
		return nil, false
	}
	rep := middle[0]
	switch rep.Op {
	case syntax.OpStar:
		m.min, m.max = 0, -1
	case syntax.OpPlus:
		m.min, m.max = 1, -1
	case syntax.OpQuest:
		m.min, m.max = 0, 1
	case syntax.OpRepeat:
		m.min, m.max = rep.Min, rep.Max
	default:
		return nil, false
	}
	if len(rep.Sub) != 1 || rep.Sub[0].Op != syntax.OpCharClass {
		return nil, false
	}
	ranges := rep.Sub[0].Rune
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo > 0x7f || hi > 0x7f {
			return nil, false // a class beyond ASCII: characters and bytes differ
		}
		for c := lo; c <= hi; c++ {
			m.class[c] = true
		}
	}
	return m, true
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
