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

func TestServiceAuthenticatesRotatesAndForgets(t *testing.T) {
	ctx := context.Background()
	svc, err := NewService(ctx, &memStore{tokens: map[string]TokenRecord{}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	acc, issued, err := svc.CreateAccount(ctx, "ci")
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
	if _, err := svc.IssueToken(ctx, "acc_missing"); !errors.Is(err, ErrAccountNotFound) {
		t.Fatal(err)
	}
}
