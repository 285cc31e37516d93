package impl

import (
	"errors"
	"sync"
)

// Default bounds on waiting requests (blocking acquires and watches). Each holds a
// connection, a goroutine and some memory for up to an hour, so one account must not be
// able to hold them by the thousand; requests that do not wait are never counted, so
// /health and ordinary calls stay served when the bounds are reached.
const (
	DefaultMaxWaitersPerAccount = 128
	DefaultMaxWaiters           = 1024
)

// errTooManyWaiters refuses a waiting request over its account's or the server's bound.
var errTooManyWaiters = errors.New("too many waiting requests")

// waiterGate counts the waiting requests in flight, per account and in total.
type waiterGate struct {
	perAccount, total int

	mu        sync.Mutex
	n         int
	byAccount map[string]int
}

func newWaiterGate(perAccount, total int) *waiterGate {
	return &waiterGate{perAccount: perAccount, total: total, byAccount: make(map[string]int)}
}

// enter admits one waiting request of account, or refuses it at once; a nil gate admits
// everything. The caller calls leave when the request stops waiting.
func (g *waiterGate) enter(account string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n >= g.total || g.byAccount[account] >= g.perAccount {
		return errTooManyWaiters
	}
	g.n++
	g.byAccount[account]++
	return nil
}

func (g *waiterGate) leave(account string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.byAccount[account]--; g.byAccount[account] <= 0 {
		delete(g.byAccount, account)
	}
}
