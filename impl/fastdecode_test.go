package impl

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// slowDecode is what decodeJSONBody did before decodeFast: encoding/json with UseNumber,
// one value and nothing after it.
func slowDecode(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// checkFastDecode fails when decodeFast answers data and encoding/json does not, or
// answers another value. decodeFast may leave anything to encoding/json.
func checkFastDecode(t testing.TB, data []byte) bool {
	if !utf8.Valid(data) {
		return false // decodeJSONBody refuses it before decoding
	}
	got, ok := decodeFast(data)
	if !ok {
		return false
	}
	want, wok := slowDecode(data)
	if !wok {
		t.Fatalf("%q: decodeFast gave %#v, encoding/json refuses it", data, got)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decodeFast gave %#v, encoding/json %#v", data, got, want)
	}
	return true
}

// TestDecodeFastAgreesWithEncodingJSON holds decodeFast to encoding/json's value on the
// bodies the API takes, on edge cases of the grammar, and on 200,000 random mutations of
// them (bytes dropped, doubled, swapped or replaced by JSON's own punctuation).
func TestDecodeFastAgreesWithEncodingJSON(t *testing.T) {
	seeds := []string{
		`{"ttl_seconds":30}`, `{"ttl_seconds":30,"owner":"worker-1","wait_seconds":5}`,
		`{"lease_id":"0b9f5a3e-8d8c-4f6e-9b7a-2c1d3e4f5a6b","fencing_token":12345678901234567890}`,
		`{"session_id":"ses_0123456789abcdef0123456789abcdef","lock_delay_seconds":0.5,"max_holders":3}`,
		` { "a" : [ 1 , -0 , 0.25 , 1e9 , 2E-3 , -1.5e+10 , true , false , null ] } `, `{}`, `[]`, `[[]]`,
		`{"a":{"b":{"c":"d"}}}`, `{"a":1,"a":2}`, `"x"`, `12`, `-0.0e0`, `null`, `true`, `{"é":"ß€😀"}`,
		`{"":""}`, "{\"a\":\"\x7f\"}", `{"a":"\u00e9"}`, `{"a":"x\"y"}`, "{\"a\":\"\t\"}", `01`, `1.`, `.5`,
		`-`, `+1`, `1e`, `1e+`, `{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1}x`, `{"a":1} {}`,
		`tru`, `nul`, `falsey`, `"abc`, `{"a":1`, `[1`, `{1:2}`, ``, ` `, `NaN`, `Infinity`, `{"a":0x10}`,
	}
	answered := 0
	for _, s := range seeds {
		if checkFastDecode(t, []byte(s)) {
			answered++
		}
	}
	punct := []byte(`{}[]:,"\ -+.eE0123456789tfnaxé` + "\t\n\r\x00\x1f")
	rng := rand.New(rand.NewPCG(7, 9))
	for range 200_000 {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			if len(b) == 0 {
				b = append(b, punct[rng.IntN(len(punct))])
				continue
			}
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b = append(b[:i:i], b[i+1:]...)
			case 1:
				b = append(b[:i+1:i+1], b[i:]...)
			case 2:
				j := rng.IntN(len(b))
				b[i], b[j] = b[j], b[i]
			default:
				b[i] = punct[rng.IntN(len(punct))]
			}
		}
		if checkFastDecode(t, b) {
			answered++
		}
	}
	// It must answer the API's own bodies, or it is no faster.
	for _, s := range seeds[:4] {
		if _, ok := decodeFast([]byte(s)); !ok {
			t.Fatalf("decodeFast left %s to encoding/json", s)
		}
	}
	if answered < 20_000 {
		t.Fatalf("decodeFast answered only %d of the bodies", answered)
	}
	t.Logf("decodeFast answered %d bodies, each as encoding/json does", answered)
}

func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{`{"ttl_seconds":30}`, `[1,"a",{"b":null}]`, `-1.5e3`, `{"a":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("[")) > 100 || strings.Count(string(data), "{") > 100 {
			return // decodeJSONBody's depth check comes first
		}
		checkFastDecode(t, data)
	})
}

// BenchmarkDecodeBody is the validator's decoding of a release body: decodeFast against
// encoding/json.
func BenchmarkDecodeBody(b *testing.B) {
	body := []byte(`{"lease_id":"0b9f5a3e-8d8c-4f6e-9b7a-2c1d3e4f5a6b","fencing_token":1234567}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeFast(body); !ok {
				b.Fatal("left to encoding/json")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := slowDecode(body); !ok {
				b.Fatal("refused")
			}
		}
	})
}
