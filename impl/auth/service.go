package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the account service.
var (
	// ErrUnauthorized means a token is malformed, unknown, revoked or rotated away.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrAccountExists means an account with that name exists already.
	ErrAccountExists = errors.New("account exists")
	// ErrAccountNotFound means no account has that id.
	ErrAccountNotFound = errors.New("account not found")
	// ErrTokenNotFound means the account has no live token with that id.
	ErrTokenNotFound = errors.New("token not found")
	// ErrTokenLimit means the account has its maximum number of live tokens.
	ErrTokenLimit = errors.New("account has its maximum number of tokens")
	// ErrInvalidTokenName means a token label breaks TokenNamePattern.
	ErrInvalidTokenName = errors.New("invalid token name")
)

// DefaultMaxTokensPerAccount bounds an account's live tokens unless configured.
const DefaultMaxTokensPerAccount = 100

// LastUsedFlushInterval is how often the last-use times of tokens, kept in memory on
// every request, are written to the store: at most once per interval per token.
const LastUsedFlushInterval = time.Minute

// tokenName is the spec's TokenName pattern, checked again here so no caller of the
// service stores a label the API could not have sent.
var tokenName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Account is a tenant: it owns a namespace of locks and one or more tokens.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// TokenRecord is a token as stored: never the token itself, only its hash.
type TokenRecord struct {
	ID        string
	AccountID string
	Name      string // the label given at creation; "" when none
	Hash      []byte
	CreatedAt time.Time
	LastUsed  time.Time // as last persisted; zero when never used
}

// TokenInfo is a live token as an operator sees it: never its secret or hash.
type TokenInfo struct {
	ID        string
	Name      string
	CreatedAt time.Time
	LastUsed  time.Time // zero when never used
}

// Issued is a freshly minted token, to be shown to its owner once.
type Issued struct {
	AccountID string
	TokenID   string
	Token     string
}

// Principal is an authenticated caller.
type Principal struct {
	AccountID string
	TokenID   string
}

// Store persists accounts and token hashes. Every method is durable when it returns.
// CreateAccount returns ErrAccountExists for a taken name; AddToken returns
// ErrAccountNotFound for an unknown account.
type Store interface {
	CreateAccount(ctx context.Context, a Account, t TokenRecord) error
	AddToken(ctx context.Context, t TokenRecord) error
	SetTokenHash(ctx context.Context, tokenID string, hash []byte) error
	Accounts(ctx context.Context) ([]Account, error)
	// Account returns one account, or ErrAccountNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// Tokens returns every live (unrevoked) token.
	Tokens(ctx context.Context) ([]TokenRecord, error)
	// RevokeToken makes a token dead for good, and ends the dashboard sessions of a
	// GitHub link that names it; ErrTokenNotFound when it is not live.
	RevokeToken(ctx context.Context, tokenID string, now time.Time) error
	// DeleteAccount deletes an account with its tokens, unreleased lease rows, GitHub
	// link and sessions in one transaction; ErrAccountNotFound when there is none.
	DeleteAccount(ctx context.Context, accountID string) error
	// SetTokensLastUsed records last-use times (unix milliseconds, by token id).
	SetTokensLastUsed(ctx context.Context, lastUsed map[string]int64) error
}

// token is a live token in memory. lastUsed (unix ms) moves on every authenticated
// request without a lock; persisted is what the store has.
type token struct {
	rec       TokenRecord
	lastUsed  atomic.Int64
	persisted atomic.Int64
}

// Service authenticates tokens from an in-memory copy of the stored hashes and writes
// every change through to the Store before it takes effect.
type Service struct {
	store     Store
	now       func() time.Time
	maxTokens int

	mu        sync.RWMutex
	tokens    map[string]*token              // by token id
	byAccount map[string]map[string]struct{} // live token ids by account
	wmu       sync.Mutex                     // serialises writers so store and memory agree
}

// NewService loads every live token from store. maxTokens bounds each account's live
// tokens (0 means DefaultMaxTokensPerAccount).
func NewService(ctx context.Context, store Store, now func() time.Time, maxTokens int) (*Service, error) {
	recs, err := store.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokensPerAccount
	}
	s := &Service{store: store, now: now, maxTokens: maxTokens,
		tokens: make(map[string]*token, len(recs)), byAccount: make(map[string]map[string]struct{})}
	for _, r := range recs {
		s.put(r)
	}
	return s, nil
}

// Reload replaces the in-memory tokens by the stored ones: in a cluster, after another
// node's change was applied to this node's store. A token that stays keeps its last use.
func (s *Service) Reload(ctx context.Context) error {
	recs, err := s.store.Tokens(ctx)
	if err != nil {
		return fmt.Errorf("load tokens: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tokens := make(map[string]*token, len(recs))
	byAccount := make(map[string]map[string]struct{})
	for _, rec := range recs {
		t := s.tokens[rec.ID]
		if t == nil || !bytes.Equal(t.rec.Hash, rec.Hash) || t.rec.AccountID != rec.AccountID {
			t = &token{rec: rec}
			if !rec.LastUsed.IsZero() {
				t.lastUsed.Store(rec.LastUsed.UnixMilli())
				t.persisted.Store(rec.LastUsed.UnixMilli())
			}
		} else {
			t.rec.Name = rec.Name
		}
		tokens[rec.ID] = t
		ids := byAccount[rec.AccountID]
		if ids == nil {
			ids = make(map[string]struct{})
			byAccount[rec.AccountID] = ids
		}
		ids[rec.ID] = struct{}{}
	}
	s.tokens, s.byAccount = tokens, byAccount
	return nil
}

// MaxTokensPerAccount is the bound on an account's live tokens.
func (s *Service) MaxTokensPerAccount() int { return s.maxTokens }

// Authenticate returns the principal a bearer token stands for, and notes its use.
func (s *Service) Authenticate(token string) (Principal, error) {
	id, ok := ParseToken(token)
	if !ok {
		return Principal{}, ErrUnauthorized
	}
	s.mu.RLock()
	t, found := s.tokens[id]
	var hash []byte
	if found {
		hash = t.rec.Hash
	}
	s.mu.RUnlock()
	// Hash and compare even for unknown ids so timing does not tell them apart.
	if !equalHashes(Hash(token), hash) || !found {
		return Principal{}, ErrUnauthorized
	}
	// Only move the shared word when a second has passed, so that concurrent requests of
	// one token do not all write the same cache line.
	if now := s.now().UnixMilli(); now-t.lastUsed.Load() >= 1000 {
		t.lastUsed.Store(now)
	}
	return Principal{AccountID: t.rec.AccountID, TokenID: t.rec.ID}, nil
}

// Active reports whether tokenID is a live token.
func (s *Service) Active(tokenID string) bool {
	s.mu.RLock()
	_, ok := s.tokens[tokenID]
	s.mu.RUnlock()
	return ok
}

// checkName validates an optional token label.
func checkName(name string) error {
	if name != "" && !tokenName.MatchString(name) {
		return ErrInvalidTokenName
	}
	return nil
}

// CreateAccount creates an account with one token, labelled tokenName when not empty.
func (s *Service) CreateAccount(ctx context.Context, name, tokenName string) (Account, Issued, error) {
	if err := checkName(tokenName); err != nil {
		return Account{}, Issued{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.now().UTC()
	a := Account{ID: NewAccountID(), Name: name, CreatedAt: now}
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: a.ID, Name: tokenName, Hash: hash, CreatedAt: now}
	if err := s.store.CreateAccount(ctx, a, rec); err != nil {
		return Account{}, Issued{}, err
	}
	s.put(rec)
	return a, Issued{AccountID: a.ID, TokenID: tokID, Token: token}, nil
}

// IssueToken adds a token, labelled name when not empty, to an account that has fewer
// than its maximum of live tokens.
func (s *Service) IssueToken(ctx context.Context, accountID, name string) (Issued, error) {
	if err := checkName(name); err != nil {
		return Issued{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.count(accountID) >= s.maxTokens {
		if _, err := s.store.Account(ctx, accountID); err != nil {
			return Issued{}, err
		}
		return Issued{}, ErrTokenLimit
	}
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: accountID, Name: name, Hash: hash, CreatedAt: s.now().UTC()}
	if err := s.store.AddToken(ctx, rec); err != nil {
		return Issued{}, err
	}
	s.put(rec)
	return Issued{AccountID: accountID, TokenID: tokID, Token: token}, nil
}

// Rotate replaces the caller's secret. The token id, and so the holder identity, stays;
// the old secret stops working as soon as the new hash is durable.
func (s *Service) Rotate(ctx context.Context, p Principal) (Issued, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	t, ok := s.tokens[p.TokenID]
	s.mu.RUnlock()
	if !ok {
		return Issued{}, ErrUnauthorized
	}
	token, hash := Mint(t.rec.ID)
	if err := s.store.SetTokenHash(ctx, t.rec.ID, hash); err != nil {
		return Issued{}, err
	}
	s.mu.Lock()
	t.rec.Hash = hash
	s.mu.Unlock()
	return Issued{AccountID: t.rec.AccountID, TokenID: t.rec.ID, Token: token}, nil
}

// Revoke makes token tokenID of accountID dead: refused from the moment Revoke returns,
// and for good. ErrTokenNotFound when the account has no such live token.
func (s *Service) Revoke(ctx context.Context, accountID, tokenID string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	t, ok := s.tokens[tokenID]
	s.mu.RUnlock()
	if !ok || t.rec.AccountID != accountID {
		if _, err := s.store.Account(ctx, accountID); err != nil {
			return err
		}
		return ErrTokenNotFound
	}
	if err := s.store.RevokeToken(ctx, tokenID, s.now().UTC()); err != nil {
		return err
	}
	s.mu.Lock()
	s.dropLocked(t.rec)
	s.mu.Unlock()
	return nil
}

// DeleteAccount deletes an account with its tokens (dead from the moment it returns),
// its stored leases, GitHub link and dashboard sessions. The caller ends its live leases
// and waiting requests.
func (s *Service) DeleteAccount(ctx context.Context, accountID string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.store.DeleteAccount(ctx, accountID); err != nil {
		return err
	}
	s.mu.Lock()
	for id := range s.byAccount[accountID] {
		s.dropLocked(s.tokens[id].rec)
	}
	s.mu.Unlock()
	return nil
}

// Tokens lists an account's live tokens, oldest first, with their last use as known in
// memory. ErrAccountNotFound when there is no such account.
func (s *Service) Tokens(ctx context.Context, accountID string) ([]TokenInfo, error) {
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]TokenInfo, 0, len(s.byAccount[accountID]))
	for id := range s.byAccount[accountID] {
		t := s.tokens[id]
		info := TokenInfo{ID: id, Name: t.rec.Name, CreatedAt: t.rec.CreatedAt}
		if ms := t.lastUsed.Load(); ms > 0 {
			info.LastUsed = time.UnixMilli(ms).UTC()
		}
		out = append(out, info)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID
	})
	return out, nil
}

// FlushLastUsed writes the last-use times that moved since the previous flush, in one
// write. Run calls it once per LastUsedFlushInterval and when it ends.
func (s *Service) FlushLastUsed(ctx context.Context) (int, error) {
	s.mu.RLock()
	changed := make(map[string]int64)
	for id, t := range s.tokens {
		if ms := t.lastUsed.Load(); ms > t.persisted.Load() {
			changed[id] = ms
		}
	}
	s.mu.RUnlock()
	if len(changed) == 0 {
		return 0, nil
	}
	if err := s.store.SetTokensLastUsed(ctx, changed); err != nil {
		return 0, err
	}
	s.mu.RLock()
	for id, ms := range changed {
		if t := s.tokens[id]; t != nil {
			t.persisted.Store(ms)
		}
	}
	s.mu.RUnlock()
	return len(changed), nil
}

// Run writes last-use times every LastUsedFlushInterval until ctx ends, then once more.
// Errors (a degraded disk) are reported to logf and retried at the next tick.
func (s *Service) Run(ctx context.Context, logf func(err error)) {
	tick := time.NewTicker(LastUsedFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if _, err := s.FlushLastUsed(context.WithoutCancel(ctx)); err != nil {
				logf(err)
			}
			return
		case <-tick.C:
			if _, err := s.FlushLastUsed(ctx); err != nil {
				logf(err)
			}
		}
	}
}

// Accounts lists every account, oldest first.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	return s.store.Accounts(ctx)
}

// count returns the live tokens of an account.
func (s *Service) count(accountID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byAccount[accountID])
}

func (s *Service) put(rec TokenRecord) {
	t := &token{rec: rec}
	if !rec.LastUsed.IsZero() {
		t.lastUsed.Store(rec.LastUsed.UnixMilli())
		t.persisted.Store(rec.LastUsed.UnixMilli())
	}
	s.mu.Lock()
	s.tokens[rec.ID] = t
	ids := s.byAccount[rec.AccountID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.byAccount[rec.AccountID] = ids
	}
	ids[rec.ID] = struct{}{}
	s.mu.Unlock()
}

// dropLocked forgets a token. s.mu is held.
func (s *Service) dropLocked(rec TokenRecord) {
	delete(s.tokens, rec.ID)
	if ids := s.byAccount[rec.AccountID]; ids != nil {
		delete(ids, rec.ID)
		if len(ids) == 0 {
			delete(s.byAccount, rec.AccountID)
		}
	}
}
