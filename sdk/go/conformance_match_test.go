package octostore_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Results, matchers and references of the conformance format (sdk/conformance/README.md).
//
// A result is a flat map. Its values are nil, bool, int64, float64, string, time.Time or
// []any; a key that is missing is a field the server did not send. Expected values come
// from the scenario (decoded with UseNumber) after references are replaced.

type result map[string]any

// absent marks a field that is not in the result.
type absentField struct{}

var absent any = absentField{}

func (r result) get(k string) any {
	if v, ok := r[k]; ok {
		return v
	}
	return absent
}

// normal turns a value into one of the result types.
func normal(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uuid.UUID:
		return x.String()
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return v
}

// instant reads v as a timestamp: a time.Time, or a string in RFC 3339.
func instant(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// compare orders a and b: numbers numerically (integers exactly), timestamps as
// instants, other strings as text. ok is false when they cannot be ordered.
func compare(a, b any) (c int, ok bool) {
	a, b = normal(a), normal(b)
	if x, isInt := a.(int64); isInt {
		if y, isInt := b.(int64); isInt {
			return cmpOrdered(x, y), true
		}
	}
	if x, isNum := number(a); isNum {
		if y, isNum := number(b); isNum {
			return cmpOrdered(x, y), true
		}
		return 0, false
	}
	if x, isTime := instant(a); isTime {
		if y, isTime := instant(b); isTime {
			return x.Compare(y), true
		}
	}
	if x, isStr := a.(string); isStr {
		if y, isStr := b.(string); isStr {
			return strings.Compare(x, y), true
		}
	}
	return 0, false
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// equal is the suite's equality: null matches an absent field, numbers compare
// numerically, timestamps as instants, arrays element by element.
func equal(actual, expected any) bool {
	actual, expected = normal(actual), normal(expected)
	if expected == nil {
		return actual == nil || actual == absent
	}
	if actual == nil || actual == absent {
		return false
	}
	if want, isList := expected.([]any); isList {
		got, isList := actual.([]any)
		if !isList || len(got) != len(want) {
			return false
		}
		for i := range want {
			if !equal(got[i], want[i]) {
				return false
			}
		}
		return true
	}
	if _, isBool := expected.(bool); isBool {
		return actual == expected
	}
	if _, isBool := actual.(bool); isBool {
		return false
	}
	if c, ok := compare(actual, expected); ok {
		return c == 0
	}
	return false
}

// matches applies one matcher: a value (equality) or an object with one operator.
func matches(actual, matcher any) (bool, error) {
	actual = normal(actual)
	m, isOp := matcher.(map[string]any)
	if !isOp {
		return equal(actual, matcher), nil
	}
	if len(m) != 1 {
		return false, fmt.Errorf("matcher %v: want exactly one operator", m)
	}
	present := actual != nil && actual != absent
	for op, v := range m {
		switch op {
		case "eq":
			return equal(actual, v), nil
		case "ne":
			return !equal(actual, v), nil
		case "present":
			want, ok := v.(bool)
			if !ok {
				return false, fmt.Errorf("matcher present: %v is not a boolean", v)
			}
			return present == want, nil
		case "matches":
			pattern, ok := v.(string)
			if !ok {
				return false, fmt.Errorf("matcher matches: %v is not a string", v)
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				return false, fmt.Errorf("matcher matches: %w", err)
			}
			s, isStr := actual.(string)
			return isStr && re.MatchString(s), nil
		case "gt", "ge", "lt", "le":
			if !present {
				return false, nil
			}
			c, ok := compare(actual, v)
			if !ok {
				return false, nil
			}
			return map[string]bool{"gt": c > 0, "ge": c >= 0, "lt": c < 0, "le": c <= 0}[op], nil
		default:
			return false, fmt.Errorf("unknown matcher operator %q", op)
		}
	}
	panic("unreachable")
}

// mismatches lists the fields of res that expect's matchers reject, in key order.
func mismatches(res result, expect map[string]any) ([]string, error) {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(expect)) {
		ok, err := matches(res.get(k), expect[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: got %s, want %s", k, show(res.get(k)), show(expect[k])))
		}
	}
	return bad, nil
}

// show prints a value for a failure message.
func show(v any) string {
	switch x := normal(v).(type) {
	case absentField:
		return "(absent)"
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// text is a referenced value inside a longer string.
func text(v any) string {
	switch x := normal(v).(type) {
	case nil:
		return "null"
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

var reference = regexp.MustCompile(`\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}`)

// resolve replaces every reference in v: a string that is exactly one reference by the
// value with its type, a reference inside a longer string by its text.
func resolve(v any, lookup func(name, field string) (any, error)) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := resolve(e, lookup)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolve(e, lookup)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case string:
		if m := reference.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			return lookup(x[m[2]:m[3]], x[m[4]:m[5]])
		}
		var err error
		out := reference.ReplaceAllStringFunc(x, func(ref string) string {
			m := reference.FindStringSubmatch(ref)
			val, e := lookup(m[1], m[2])
			if e != nil && err == nil {
				err = e
			}
			return text(val)
		})
		return out, err
	}
	return v, nil
}

func TestConformanceMatchers(t *testing.T) {
	at := time.Date(2026, 2, 12, 1, 0, 0, 0, time.UTC)
	num := func(s string) json.Number { return json.Number(s) }
	cases := []struct {
		actual, matcher any
		want            bool
	}{
		{nil, nil, true},
		{absent, nil, true},
		{"x", nil, false},
		{absent, "x", false},
		{int64(3), num("3"), true},
		{int64(3), num("3.0"), true},
		{int64(3), num("4"), false},
		{true, true, true},
		{true, num("1"), false},
		{"1", num("1"), false},
		{at, "2026-02-12T01:00:00Z", true},
		{at, "2026-02-12T02:00:00+01:00", true},
		{at, "2026-02-12T01:00:00.001Z", false},
		{[]any{"a", "b"}, []any{"a", "b"}, true},
		{[]any{"a", "b"}, []any{"b", "a"}, false},
		{[]any{}, []any{}, true},
		{[]any{"a"}, []any{}, false},
		{int64(5), map[string]any{"gt": num("4")}, true},
		{int64(4), map[string]any{"gt": num("4")}, false},
		{int64(4), map[string]any{"ge": num("4")}, true},
		{int64(4), map[string]any{"lt": num("4.5")}, true},
		{absent, map[string]any{"le": num("4")}, false},
		{at, map[string]any{"gt": "2026-02-12T00:59:59.999Z"}, true},
		{at, map[string]any{"le": at}, true},
		{"b", map[string]any{"gt": num("1")}, false},
		{int64(1), map[string]any{"ne": num("2")}, true},
		{absent, map[string]any{"ne": nil}, false},
		{absent, map[string]any{"eq": nil}, true},
		{"v", map[string]any{"present": true}, true},
		{nil, map[string]any{"present": true}, false},
		{absent, map[string]any{"present": false}, true},
		{"tok_1/w", map[string]any{"matches": "^tok_"}, true},
		{"x-tok_1", map[string]any{"matches": "^tok_"}, false},
		{int64(1), map[string]any{"matches": "1"}, false},
	}
	for _, c := range cases {
		got, err := matches(c.actual, c.matcher)
		if err != nil || got != c.want {
			t.Errorf("matches(%s, %s) = %v, %v; want %v", show(c.actual), show(c.matcher), got, err, c.want)
		}
	}
	if _, err := matches("x", map[string]any{"between": num("1")}); err == nil {
		t.Error("an unknown operator was accepted")
	}
}

func TestConformanceReferences(t *testing.T) {
	at := time.Date(2026, 2, 12, 1, 0, 0, 0, time.UTC)
	saved := map[string]result{"l1": {"fencing_token": int64(7), "expires_at": at, "holder_id": nil}}
	lookup := func(name, field string) (any, error) {
		r, ok := saved[name]
		if !ok {
			return nil, fmt.Errorf("unknown %s", name)
		}
		v, ok := r[field]
		if !ok {
			return nil, fmt.Errorf("no field %s", field)
		}
		return v, nil
	}
	got, err := resolve(map[string]any{
		"whole": "${l1.fencing_token}", "null": "${l1.holder_id}", "time": "${l1.expires_at}",
		"inside": "t=${l1.fencing_token}/${l1.expires_at}", "list": []any{"${l1.fencing_token}"},
	}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"whole": int64(7), "null": nil, "time": at,
		"inside": "t=7/2026-02-12T01:00:00Z", "list": []any{int64(7)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("resolved %v, want %v", got, want)
	}
	for _, bad := range []string{"${l2.fencing_token}", "x ${l1.nothing}"} {
		if _, err := resolve(bad, lookup); err == nil {
			t.Errorf("%s resolved", bad)
		}
	}
}
