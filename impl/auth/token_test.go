package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintedTokensParseAndCarry256Bits(t *testing.T) {
	id := NewTokenID()
	tok, hash := Mint(id)
	if got, ok := ParseToken(tok); !ok || got != id {
		t.Fatalf("parse %q: %q %v", tok, got, ok)
	}
	if secret := tok[strings.LastIndex(tok[:len(tok)-secretChars], "_")+1:]; len(secret) != secretChars {
		t.Fatalf("secret %q", secret)
	}
	if len(hash) != 32 || string(hash) != string(Hash(tok)) {
		t.Fatal("hash is not SHA-256 of the token")
	}
	other, _ := Mint(id)
	if other == tok {
		t.Fatal("two mints gave one token")
	}
}

func TestParseRejectsMalformedTokens(t *testing.T) {
	tok, _ := Mint(NewTokenID())
	for _, bad := range []string{"", "oct_", tok[:len(tok)-1], tok + "x", "xyz" + tok[3:], strings.Replace(tok, "tok_", "acc_", 1)} {
		if _, ok := ParseToken(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	if tokOut, ok := ParseBearer("bearer  " + tok); !ok || tokOut != tok {
		t.Fatal("scheme is case-insensitive")
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic abc", tok} {
		if _, ok := ParseBearer(h); ok {
			t.Errorf("bearer %q accepted", h)
		}
	}
}

func TestKeyMatches(t *testing.T) {
	if !KeyMatches("k-0123456789abcdef", "k-0123456789abcdef") || KeyMatches("k", "k-0123456789abcdef") || KeyMatches("", "") {
		t.Fatal("KeyMatches")
	}
}

// memStore is an in-memory Store for the service's unit tests.
type memStore struct {
	accounts []Account
	tokens   map[string]TokenRecord
	flushes  int
}

func (m *memStore) CreateAccount(_ context.Context, a Account, t TokenRecord) error {
	for _, x := range m.accounts {
		if x.Name == a.Name {
			return ErrAccountExists
		}
	}
	m.accounts = append(m.accounts, a)
	m.tokens[t.ID] = t
	return nil
}
func (m *memStore) AddToken(_ context.Context, t TokenRecord) error {
	for _, x := range m.accounts {
		if x.ID == t.AccountID {
			m.tokens[t.ID] = t
			return nil
		}
	}
	return ErrAccountNotFound
}
func (m *memStore) SetTokenHash(_ context.Context, id string, h []byte) error {
	t := m.tokens[id]
	t.Hash = h
	m.tokens[id] = t
	return nil
}
func (m *memStore) Accounts(context.Context) ([]Account, error) { return m.accounts, nil }
func (m *memStore) Tokens(context.Context) ([]TokenRecord, error) {
	var out []TokenRecord
	for _, t := range m.tokens {
		out = append(out, t)
	}
	return out, nil
}

func (m *memStore) Account(_ context.Context, id string) (Account, error) {
	for _, a := range m.accounts {
		if a.ID == id {
			return a, nil
		}
	}
	return Account{}, ErrAccountNotFound
}
func (m *memStore) RevokeToken(_ context.Context, id string, _ time.Time) error {
	if _, ok := m.tokens[id]; !ok {
		return ErrTokenNotFound
	}
	delete(m.tokens, id)
	return nil
}
func (m *memStore) DeleteAccount(_ context.Context, id string) error {
	for i, a := range m.accounts {
		if a.ID == id {
			m.accounts = append(m.accounts[:i], m.accounts[i+1:]...)
			for tid, t := range m.tokens {
				if t.AccountID == id {
					delete(m.tokens, tid)
				}
			}
			return nil
		}
	}
	return ErrAccountNotFound
}
func (m *memStore) SetTokensLastUsed(_ context.Context, used map[string]int64) error {
	m.flushes++
	for id, ms := range used {
		t := m.tokens[id]
		t.LastUsed = time.UnixMilli(ms)
		m.tokens[id] = t
	}
	return nil
}

func TestServiceRevokesLabelsBoundsAndTracksUse(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	st := &memStore{tokens: map[string]TokenRecord{}}
	svc, err := NewService(ctx, st, func() time.Time { return now }, 3)
	if err != nil {
		t.Fatal(err)
	}
	acc, first, err := svc.CreateAccount(ctx, "ci", "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IssueToken(ctx, acc.ID, "bad name!"); !errors.Is(err, ErrInvalidTokenName) {
		t.Fatalf("bad label: %v", err)
	}
	now = now.Add(time.Millisecond) // the list is oldest first
	second, err := svc.IssueToken(ctx, acc.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Millisecond)
	if _, err := svc.IssueToken(ctx, acc.ID, "third"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IssueToken(ctx, acc.ID, "fourth"); !errors.Is(err, ErrTokenLimit) {
		t.Fatalf("a fourth token past a bound of 3: %v", err)
	}
	now = now.Add(time.Minute)
	for range 1000 {
		if _, err := svc.Authenticate(first.Token); err != nil {
			t.Fatal(err)
		}
	}
	list, err := svc.Tokens(ctx, acc.ID)
	if err != nil || len(list) != 3 || list[0].Name != "first" || !list[0].LastUsed.Equal(now) || !list[1].LastUsed.IsZero() {
		t.Fatalf("%+v %v", list, err)
	}
	if n, err := svc.FlushLastUsed(ctx); n != 1 || err != nil || st.flushes != 1 {
		t.Fatalf("flush wrote %d tokens in %d writes after 1000 requests: %v", n, st.flushes, err)
	}
	if n, _ := svc.FlushLastUsed(ctx); n != 0 {
		t.Fatalf("a flush without new use wrote %d tokens", n)
	}
	if err := svc.Revoke(ctx, acc.ID, second.TokenID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(second.Token); !errors.Is(err, ErrUnauthorized) {
		t.Fatal("a revoked token still works")
	}
	if err := svc.Revoke(ctx, acc.ID, second.TokenID); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	if err := svc.Revoke(ctx, "acc_missing", first.TokenID); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("another account's token: %v", err)
	}
	if _, err := svc.IssueToken(ctx, acc.ID, ""); err != nil {
		t.Fatalf("a slot freed by revocation: %v", err)
	}
	if err := svc.DeleteAccount(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(first.Token); !errors.Is(err, ErrUnauthorized) {
		t.Fatal("a deleted account's token still works")
	}
	if _, _, err := svc.CreateAccount(ctx, "ci", ""); err != nil {
		t.Fatalf("the name of a deleted account: %v", err)
	}
}

func TestServiceAuthenticatesRotatesAndForgets(t *testing.T) {
	ctx := context.Background()
	svc, err := NewService(ctx, &memStore{tokens: map[string]TokenRecord{}}, time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	acc, issued, err := svc.CreateAccount(ctx, "ci", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(issued.Token)
	if err != nil || p.AccountID != acc.ID || p.TokenID != issued.TokenID {
		t.Fatalf("%+v %v", p, err)
	}
	rotated, err := svc.Rotate(ctx, p)
	if err != nil || rotated.TokenID != issued.TokenID {
		t.Fatalf("%+v %v", rotated, err)
	}
	if _, err := svc.Authenticate(issued.Token); !errors.Is(err, ErrUnauthorized) {
		t.Fatal("old token still works")
	}
	if _, err := svc.Authenticate(rotated.Token); err != nil {
		t.Fatal(err)
	}
	forged, _ := Mint(issued.TokenID)
	if _, err := svc.Authenticate(forged); !errors.Is(err, ErrUnauthorized) {
		t.Fatal("a token with a known id and a made-up secret was accepted")
	}
	if _, err := svc.IssueToken(ctx, "acc_missing", ""); !errors.Is(err, ErrAccountNotFound) {
		t.Fatal(err)
	}
}
