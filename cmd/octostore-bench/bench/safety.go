package bench

import (
	"sync"
	"sync/atomic"
)

// Safety is the run's verdict on the two promises of a lock service.
type Safety struct {
	// DoubleGrants counts grants of a lock while another client still held it: the
	// previous holder had not yet begun its release.
	DoubleGrants int64 `json:"double_grants"`
	// FencingRegressions counts grants whose fencing token was not larger than an
	// earlier grant's token for the same lock.
	FencingRegressions int64 `json:"fencing_regressions"`
	// OK is true when both are zero.
	OK bool `json:"ok"`
}

// checker watches grants as clients see them. A client marks a lock as no longer its
// own before it sends the release, so a server that grants only after a release can
// never trip it; TTLs in every scenario are far longer than a run.
type checker struct {
	locks       sync.Map // lock name → *lockState
	double      atomic.Int64
	regressions atomic.Int64
}

type lockState struct {
	mu     sync.Mutex
	holder int // worker id, -1 when free
	token  int64
}

func newChecker() *checker { return &checker{} }

func (c *checker) state(name string) *lockState {
	if st, ok := c.locks.Load(name); ok {
		return st.(*lockState)
	}
	st, _ := c.locks.LoadOrStore(name, &lockState{holder: -1})
	return st.(*lockState)
}

// granted records that worker was granted name with token.
func (c *checker) granted(name string, worker int, token int64) {
	st := c.state(name)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.holder >= 0 && st.holder != worker {
		c.double.Add(1)
	}
	if token <= st.token && !(st.holder == worker && token == st.token) {
		c.regressions.Add(1)
	}
	st.holder = worker
	st.token = max(st.token, token)
}

// releasing records that worker is about to release name.
func (c *checker) releasing(name string, worker int) {
	st := c.state(name)
	st.mu.Lock()
	if st.holder == worker {
		st.holder = -1
	}
	st.mu.Unlock()
}

// kept records that worker's release failed, so it may still hold name.
func (c *checker) kept(name string, worker int) {
	st := c.state(name)
	st.mu.Lock()
	if st.holder == -1 {
		st.holder = worker
	}
	st.mu.Unlock()
}

func (c *checker) safety() Safety {
	s := Safety{DoubleGrants: c.double.Load(), FencingRegressions: c.regressions.Load()}
	s.OK = s.DoubleGrants == 0 && s.FencingRegressions == 0
	return s
}
