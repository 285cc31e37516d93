package impl

import (
	"net"
	"strconv"
	"sync"
	"time"
)

// Default connection bounds: what the server holds open in all and per client address.
const (
	DefaultMaxConnections          = 2048
	DefaultMaxConnectionsPerClient = 256
)

// overCapResponse is what a connection over a bound hears before it is closed: a client
// that sends a request reads a problem, not a reset.
var overCapResponse = func() []byte {
	body := `{"type":"urn:octostore:problem:rate_limited","title":"Rate limited","status":429,` +
		`"code":"rate_limited","detail":"Too many connections from this address or in all.","request_id":""}`
	return []byte("HTTP/1.1 429 Too Many Requests\r\n" +
		"Content-Type: application/problem+json\r\n" +
		"Retry-After: 1\r\n" +
		"Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// LimitConnections wraps ln so that at most total connections are open at once, and at
// most perClient from one client address (IPv6 per /64). A connection over either bound
// is answered with a 429 and closed at once, so the listener keeps accepting and
// everyone else keeps being served. A bound of zero or less means none.
func LimitConnections(ln net.Listener, total, perClient int) net.Listener {
	return &limitListener{Listener: ln, total: total, perClient: perClient, byClient: make(map[string]int)}
}

type limitListener struct {
	net.Listener
	total, perClient int

	mu       sync.Mutex
	n        int
	byClient map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := connKey(c.RemoteAddr())
		if l.enter(key) {
			return &limitedConn{Conn: c, l: l, key: key}, nil
		}
		go refuse(c)
	}
}

func (l *limitListener) enter(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.total > 0 && l.n >= l.total) || (l.perClient > 0 && l.byClient[key] >= l.perClient) {
		return false
	}
	l.n++
	l.byClient[key]++
	return true
}

func (l *limitListener) leave(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.byClient[key]--; l.byClient[key] <= 0 {
		delete(l.byClient, key)
	}
}

// refuse answers a connection over a bound and closes it, spending at most a second.
func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(overCapResponse)
	c.Close()
}

type limitedConn struct {
	net.Conn
	l    *limitListener
	key  string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.leave(c.key) })
	return err
}

// connKey is the bound's key of a peer: its IP, IPv6 grouped by /64.
func connKey(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return addrKey(tcp.AddrPort().Addr())
	}
	return addr.String()
}
