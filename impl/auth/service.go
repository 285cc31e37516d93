package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of the account service.
var (
	// ErrUnauthorized means a token is malformed, unknown or rotated away.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrAccountExists means an account with that name exists already.
	ErrAccountExists = errors.New("account exists")
	// ErrAccountNotFound means no account has that id.
	ErrAccountNotFound = errors.New("account not found")
)

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
	Hash      []byte
	CreatedAt time.Time
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
	Tokens(ctx context.Context) ([]TokenRecord, error)
}

// Service authenticates tokens from an in-memory copy of the stored hashes and writes
// every change through to the Store before it takes effect.
type Service struct {
	store Store
	now   func() time.Time

	mu     sync.RWMutex
	tokens map[string]TokenRecord // by token id
	wmu    sync.Mutex             // serialises writers so store and memory agree
}

// NewService loads every token from store.
func NewService(ctx context.Context, store Store, now func() time.Time) (*Service, error) {
	recs, err := store.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	s := &Service{store: store, now: now, tokens: make(map[string]TokenRecord, len(recs))}
	for _, r := range recs {
		s.tokens[r.ID] = r
	}
	return s, nil
}

// Authenticate returns the principal a bearer token stands for.
func (s *Service) Authenticate(token string) (Principal, error) {
	id, ok := ParseToken(token)
	if !ok {
		return Principal{}, ErrUnauthorized
	}
	s.mu.RLock()
	rec, found := s.tokens[id]
	s.mu.RUnlock()
	// Hash and compare even for unknown ids so timing does not tell them apart.
	if !equalHashes(Hash(token), rec.Hash) || !found {
		return Principal{}, ErrUnauthorized
	}
	return Principal{AccountID: rec.AccountID, TokenID: rec.ID}, nil
}

// CreateAccount creates an account with one token.
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, Issued, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.now().UTC()
	a := Account{ID: NewAccountID(), Name: name, CreatedAt: now}
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: a.ID, Hash: hash, CreatedAt: now}
	if err := s.store.CreateAccount(ctx, a, rec); err != nil {
		return Account{}, Issued{}, err
	}
	s.put(rec)
	return a, Issued{AccountID: a.ID, TokenID: tokID, Token: token}, nil
}

// IssueToken adds a token to an account.
func (s *Service) IssueToken(ctx context.Context, accountID string) (Issued, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tokID := NewTokenID()
	token, hash := Mint(tokID)
	rec := TokenRecord{ID: tokID, AccountID: accountID, Hash: hash, CreatedAt: s.now().UTC()}
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
	rec, ok := s.tokens[p.TokenID]
	s.mu.RUnlock()
	if !ok {
		return Issued{}, ErrUnauthorized
	}
	token, hash := Mint(rec.ID)
	if err := s.store.SetTokenHash(ctx, rec.ID, hash); err != nil {
		return Issued{}, err
	}
	rec.Hash = hash
	s.put(rec)
	return Issued{AccountID: rec.AccountID, TokenID: rec.ID, Token: token}, nil
}

// Accounts lists every account, oldest first.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	return s.store.Accounts(ctx)
}

func (s *Service) put(rec TokenRecord) {
	s.mu.Lock()
	s.tokens[rec.ID] = rec
	s.mu.Unlock()
}

// HasAccount reports whether an account with that id exists (every account has a token).
func (s *Service) HasAccount(accountID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.tokens {
		if r.AccountID == accountID {
			return true
		}
	}
	return false
}
