package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// ErrNotLinked means no account is linked to that GitHub user yet.
var ErrNotLinked = errors.New("github user has no account")

const (
	// SessionLifetime is how long a dashboard session lasts after sign-in.
	SessionLifetime = 7 * 24 * time.Hour
	// DefaultSessionIdleTimeout ends a session that has not been used for that long.
	DefaultSessionIdleTimeout = 12 * time.Hour
	// DefaultMaxSessionsPerAccount bounds an account's live sessions; a new sign-in ends
	// the oldest beyond it.
	DefaultMaxSessionsPerAccount = 10
	// sessionTouchInterval is how stale a session's stored last use may be: a lookup
	// writes it only when it is older (or older than a tenth of the idle timeout), so a
	// polling page does not cost a write per request.
	sessionTouchInterval = time.Minute
	// revealWindow is how long a new account's token waits in memory to be shown once.
	revealWindow = 10 * time.Minute
)

// GitHubLink ties a GitHub user to the account their first sign-in created, and to the
// token that sign-in issued (the one the dashboard rotates).
type GitHubLink struct {
	GitHubID  int64
	AccountID string
	TokenID   string
	Login     string
	AvatarURL string
}

// Session is a dashboard session. The store keeps only Hash, the SHA-256 of the id in
// the browser's cookie.
type Session struct {
	Hash      []byte
	GitHubID  int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeen is the session's last use as stored (at most sessionTouchInterval old).
	LastSeen time.Time
	// Link is the signed-in user's account, filled in by the store on lookup.
	Link GitHubLink
	// CSRF is the token the session's state-changing requests must carry; derived from
	// the session id, so it is not stored. Filled in by Lookup.
	CSRF string
}

// SessionStore persists GitHub links and dashboard sessions. Every method is durable
// when it returns.
type SessionStore interface {
	// GitHubLink returns the link of a GitHub user, or ErrNotLinked.
	GitHubLink(ctx context.Context, githubID int64) (GitHubLink, error)
	// CreateGitHubAccount stores a new account, its first token and its link in one
	// transaction; ErrAccountExists when the GitHub user is linked already, ErrNameTaken
	// when another account has the name.
	CreateGitHubAccount(ctx context.Context, a Account, t TokenRecord, l GitHubLink) error
	// UpdateGitHubProfile records the user's current login and avatar.
	UpdateGitHubProfile(ctx context.Context, githubID int64, login, avatarURL string) error
	// CreateSession stores a session, deletes the sessions expired at now or idle since
	// idleSince, and then the oldest of the same GitHub user beyond maxSessions.
	CreateSession(ctx context.Context, s Session, now, idleSince time.Time, maxSessions int) error
	// Session returns the session with that hash and its link, or ErrUnauthorized.
	Session(ctx context.Context, hash []byte) (Session, error)
	// TouchSession records a session's last use.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteSession removes a session; removing a missing one is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteSessions removes every session of a GitHub user.
	DeleteSessions(ctx context.Context, githubID int64) error
	// RelinkGitHub stores a new token for a GitHub user's account and makes the link
	// name it, in one transaction; the revoked token it replaces is deleted.
	RelinkGitHub(ctx context.Context, githubID int64, t TokenRecord) error
	// CreateTokenSession stores a session of a pasted token (its Link names the account
	// and token, GitHubID is 0), deletes the token sessions expired at now or idle since
	// idleSince, and then the oldest of the same account beyond maxSessions.
	CreateTokenSession(ctx context.Context, s Session, now, idleSince time.Time, maxSessions int) error
	// DeleteAccountSessions removes every session of an account, of either kind.
	DeleteAccountSessions(ctx context.Context, accountID string) error
}

// SessionConfig bounds dashboard sessions. Zero values mean defaults.
type SessionConfig struct {
	// IdleTimeout ends a session unused for that long (default 12 h).
	IdleTimeout time.Duration
	// MaxPerAccount bounds an account's live sessions, the oldest ending first (default 10).
	MaxPerAccount int
}

// Sessions signs GitHub users in to their accounts and keeps their dashboard sessions.
type Sessions struct {
	accounts *Service
	store    SessionStore
	now      func() time.Time
	cfg      SessionConfig

	mu     sync.Mutex
	reveal map[string]revealed // new tokens to show once, by session hash
}

type revealed struct {
	issued Issued
	until  time.Time
}

// NewSessions returns the session keeper. accounts must use the same database as store.
func NewSessions(accounts *Service, store SessionStore, now func() time.Time, cfg SessionConfig) *Sessions {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultSessionIdleTimeout
	}
	if cfg.MaxPerAccount <= 0 {
		cfg.MaxPerAccount = DefaultMaxSessionsPerAccount
	}
	return &Sessions{accounts: accounts, store: store, now: now, cfg: cfg, reveal: make(map[string]revealed)}
}

// Config returns the session bounds in effect.
func (m *Sessions) Config() SessionConfig { return m.cfg }

// SignIn finds the account of GitHub user u, creating it with its first token on the
// first sign-in, and starts a session. It returns the session id for the browser's
// cookie. A new account's token waits to be shown once by TakeNewToken.
func (m *Sessions) SignIn(ctx context.Context, u GitHubUser) (string, Session, error) {
	link, issued, err := m.findOrCreate(ctx, u)
	if err != nil {
		return "", Session{}, err
	}
	now := m.now().UTC()
	id := randomString(32)
	s := Session{Hash: Hash(id), GitHubID: u.ID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), LastSeen: now, Link: link, CSRF: csrfToken(id)}
	if err := m.store.CreateSession(ctx, s, now, now.Add(-m.cfg.IdleTimeout), m.cfg.MaxPerAccount); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	if issued != nil {
		m.mu.Lock()
		for k, r := range m.reveal {
			if !now.Before(r.until) {
				delete(m.reveal, k)
			}
		}
		m.reveal[string(s.Hash)] = revealed{issued: *issued, until: now.Add(revealWindow)}
		m.mu.Unlock()
	}
	return id, s, nil
}

// SignInWithToken starts a dashboard session for the account of a pasted token:
// ErrUnauthorized when the token is not a live one. The session is the token's: it ends
// when the token is revoked, and survives its rotation (which keeps the token id). It
// returns the session id for the browser's cookie; the token itself is not kept.
func (m *Sessions) SignInWithToken(ctx context.Context, token string) (string, Session, error) {
	p, err := m.accounts.Authenticate(token)
	if err != nil {
		return "", Session{}, ErrUnauthorized
	}
	now := m.now().UTC()
	id := randomString(32)
	s := Session{Hash: Hash(id), CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), LastSeen: now,
		Link: GitHubLink{AccountID: p.AccountID, TokenID: p.TokenID}, CSRF: csrfToken(id)}
	if err := m.store.CreateTokenSession(ctx, s, now, now.Add(-m.cfg.IdleTimeout), m.cfg.MaxPerAccount); err != nil {
		return "", Session{}, fmt.Errorf("create token session: %w", err)
	}
	return id, s, nil
}

// findOrCreate returns the GitHub user's link, and the token issued when this call
// created the account.
func (m *Sessions) findOrCreate(ctx context.Context, u GitHubUser) (GitHubLink, *Issued, error) {
	link, err := m.store.GitHubLink(ctx, u.ID)
	if err == nil {
		if link.Login != u.Login || link.AvatarURL != u.AvatarURL {
			if err := m.store.UpdateGitHubProfile(ctx, u.ID, u.Login, u.AvatarURL); err != nil {
				return GitHubLink{}, nil, fmt.Errorf("update github profile: %w", err)
			}
			link.Login, link.AvatarURL = u.Login, u.AvatarURL
		}
		if !m.accounts.Active(link.TokenID) {
			// The token the link names was revoked: this sign-in issues the account a new
			// one, shown once like a new account's.
			return m.relink(ctx, link)
		}
		return link, nil, nil
	}
	if !errors.Is(err, ErrNotLinked) {
		return GitHubLink{}, nil, fmt.Errorf("find github account: %w", err)
	}
	a := m.accounts
	a.wmu.Lock()
	defer a.wmu.Unlock()
	now := a.now().UTC()
	acc := Account{ID: NewAccountID(), Name: "github-" + strconv.FormatInt(u.ID, 10), CreatedAt: now}
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: acc.ID, Hash: hash, CreatedAt: now}
	link = GitHubLink{GitHubID: u.ID, AccountID: acc.ID, TokenID: tokID, Login: u.Login, AvatarURL: u.AvatarURL}
	err = m.store.CreateGitHubAccount(ctx, acc, rec, link)
	if errors.Is(err, ErrNameTaken) {
		// The account is the GitHub id's (github_users), never a name's: when someone
		// took "github-<id>" first, the new account's name carries its own random id.
		acc.Name += "-" + acc.ID
		err = m.store.CreateGitHubAccount(ctx, acc, rec, link)
	}
	if errors.Is(err, ErrAccountExists) {
		// A concurrent first sign-in of the same user won the race: use its account.
		if link, lerr := m.store.GitHubLink(ctx, u.ID); lerr == nil {
			return link, nil, nil
		}
	}
	if err != nil {
		return GitHubLink{}, nil, fmt.Errorf("create github account: %w", err)
	}
	a.put(rec)
	return link, &Issued{AccountID: acc.ID, TokenID: tokID, Token: token}, nil
}

// relink issues a new token for link's account after the one it named was revoked.
func (m *Sessions) relink(ctx context.Context, link GitHubLink) (GitHubLink, *Issued, error) {
	a := m.accounts
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.Active(link.TokenID) {
		return link, nil, nil // a concurrent sign-in relinked it
	}
	if a.count(link.AccountID) >= a.maxTokens {
		return GitHubLink{}, nil, ErrTokenLimit
	}
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: link.AccountID, Hash: hash, CreatedAt: a.now().UTC()}
	if err := m.store.RelinkGitHub(ctx, link.GitHubID, rec); err != nil {
		return GitHubLink{}, nil, fmt.Errorf("relink github account: %w", err)
	}
	a.put(rec)
	link.TokenID = tokID
	return link, &Issued{AccountID: link.AccountID, TokenID: tokID, Token: token}, nil
}

// Lookup returns the session with id sid when it has neither expired nor been idle for
// the idle timeout and its account's sign-in token is live; otherwise ErrUnauthorized.
// A session found idle is deleted. Its last use is written at most once a
// sessionTouchInterval (or a tenth of the idle timeout, when shorter).
func (m *Sessions) Lookup(ctx context.Context, sid string) (Session, error) {
	if sid == "" || len(sid) > 128 {
		return Session{}, ErrUnauthorized
	}
	s, err := m.store.Session(ctx, Hash(sid))
	if err != nil {
		return Session{}, err
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.LastSeen.Add(m.cfg.IdleTimeout)) {
		if err := m.store.DeleteSession(ctx, s.Hash); err != nil {
			return Session{}, err
		}
		return Session{}, ErrUnauthorized
	}
	if !m.accounts.Active(s.Link.TokenID) {
		return Session{}, ErrUnauthorized
	}
	if now.Sub(s.LastSeen) >= min(sessionTouchInterval, m.cfg.IdleTimeout/10) {
		if err := m.store.TouchSession(ctx, s.Hash, now); err != nil {
			return Session{}, err
		}
		s.LastSeen = now
	}
	s.CSRF = csrfToken(sid)
	return s, nil
}

// CSRFMatches reports, in constant time, whether token is the CSRF token of session s.
func CSRFMatches(s Session, token string) bool {
	return s.CSRF != "" && KeyMatches(token, s.CSRF)
}

// TakeNewToken returns, once, the token that the sign-in starting session s issued.
func (m *Sessions) TakeNewToken(s Session) (Issued, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reveal[string(s.Hash)]
	delete(m.reveal, string(s.Hash))
	if !ok || !m.now().Before(r.until) {
		return Issued{}, false
	}
	return r.issued, true
}

// Rotate replaces the secret of the token the account's first sign-in issued; the old
// secret stops working at once.
func (m *Sessions) Rotate(ctx context.Context, s Session) (Issued, error) {
	return m.accounts.Rotate(ctx, Principal{AccountID: s.Link.AccountID, TokenID: s.Link.TokenID})
}

// SignOut ends session s.
func (m *Sessions) SignOut(ctx context.Context, s Session) error {
	m.mu.Lock()
	delete(m.reveal, string(s.Hash))
	m.mu.Unlock()
	return m.store.DeleteSession(ctx, s.Hash)
}

// SignOutEverywhere ends every session of s's account (GitHub and pasted-token
// sessions alike), s included.
func (m *Sessions) SignOutEverywhere(ctx context.Context, s Session) error {
	if err := m.store.DeleteAccountSessions(ctx, s.Link.AccountID); err != nil {
		return err
	}
	m.mu.Lock()
	for k, r := range m.reveal {
		if r.issued.AccountID == s.Link.AccountID {
			delete(m.reveal, k)
		}
	}
	m.mu.Unlock()
	return nil
}

// csrfToken derives a session's CSRF token from its id. It is not the stored hash (a
// different input), so the database alone does not give it away.
func csrfToken(sid string) string {
	sum := sha256.Sum256([]byte("octostore csrf\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
