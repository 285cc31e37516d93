package auth

import (
	"sync"
	"time"
)

const (
	// OperatorSessionLifetime is how long an operator session (the dashboard's admin
	// view) lasts after the admin key was pasted. Short, because it stands for the key.
	OperatorSessionLifetime = 15 * time.Minute
	// maxOperatorSessions bounds the live operator sessions; a new one ends the oldest.
	maxOperatorSessions = 16
)

// OperatorSession is a session of the dashboard's operator view.
type OperatorSession struct {
	ExpiresAt time.Time
	// CSRF is the token the session's state-changing requests must carry.
	CSRF string
}

// OperatorSessions keeps operator sessions in memory, by the SHA-256 of their ids: a
// restart (the way to change ADMIN_KEY) ends them all, and nothing about them is on
// disk or replicated.
type OperatorSessions struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]time.Time // expiry by hash
}

// NewOperatorSessions returns an empty keeper reading time from now.
func NewOperatorSessions(now func() time.Time) *OperatorSessions {
	return &OperatorSessions{now: now, sessions: make(map[string]time.Time)}
}

// Start begins an operator session and returns its id for the browser's cookie. The
// caller has checked the admin key.
func (o *OperatorSessions) Start() (string, OperatorSession) {
	now := o.now()
	id := randomString(32)
	exp := now.Add(OperatorSessionLifetime)
	o.mu.Lock()
	defer o.mu.Unlock()
	for h, e := range o.sessions {
		if !now.Before(e) {
			delete(o.sessions, h)
		}
	}
	for len(o.sessions) >= maxOperatorSessions {
		var oldest string
		for h, e := range o.sessions {
			if oldest == "" || e.Before(o.sessions[oldest]) {
				oldest = h
			}
		}
		delete(o.sessions, oldest)
	}
	o.sessions[string(Hash(id))] = exp
	return id, OperatorSession{ExpiresAt: exp, CSRF: csrfToken(id)}
}

// Lookup returns the live operator session with id sid, or ErrUnauthorized.
func (o *OperatorSessions) Lookup(sid string) (OperatorSession, error) {
	if sid == "" || len(sid) > 128 {
		return OperatorSession{}, ErrUnauthorized
	}
	h := string(Hash(sid))
	o.mu.Lock()
	defer o.mu.Unlock()
	exp, ok := o.sessions[h]
	if !ok {
		return OperatorSession{}, ErrUnauthorized
	}
	if !o.now().Before(exp) {
		delete(o.sessions, h)
		return OperatorSession{}, ErrUnauthorized
	}
	return OperatorSession{ExpiresAt: exp, CSRF: csrfToken(sid)}, nil
}

// End ends the operator session with id sid, if it is live.
func (o *OperatorSessions) End(sid string) {
	o.mu.Lock()
	delete(o.sessions, string(Hash(sid)))
	o.mu.Unlock()
}
