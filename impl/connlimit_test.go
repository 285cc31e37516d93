package impl

import (
	"bufio"
	"net"
	"net/http"
	"testing"
)

// Connections over a bound are answered 429 and closed; the others, and new ones once a
// place is free, keep being served.
func TestLimitConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnections(raw, 3, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	addr := raw.Addr().String()
	get := func(c net.Conn) int {
		t.Helper()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return 0
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first, second := dial(), dial()
	if get(first) != 200 || get(second) != 200 {
		t.Fatal("the first two connections were not served")
	}
	if got := get(dial()); got != 429 {
		t.Fatalf("a third connection from one address: %d, want 429", got)
	}
	if get(first) != 200 {
		t.Fatal("a connection within the bound stopped being served")
	}
	second.Close()
	eventually(t, "a place is free again", func() bool { return get(dial()) == 200 })
}
