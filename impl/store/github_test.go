package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
)

func TestGitHubAccountConflictsTellTheNameFromTheUser(t *testing.T) {
	s, _ := openTemp(t, Options{})
	defer s.Close()
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000).UTC()
	if err := s.CreateAccount(ctx, auth.Account{ID: "acc_admin", Name: "github-7", CreatedAt: now}, auth.TokenRecord{ID: "tok_admin", AccountID: "acc_admin", Hash: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	gh := func(acc, tok, name string) error {
		return s.CreateGitHubAccount(ctx, auth.Account{ID: acc, Name: name, CreatedAt: now},
			auth.TokenRecord{ID: tok, AccountID: acc, Hash: []byte{2}, CreatedAt: now},
			auth.GitHubLink{GitHubID: 7, AccountID: acc, TokenID: tok, Login: "mona"})
	}
	if err := gh("acc_a", "tok_a", "github-7"); !errors.Is(err, auth.ErrNameTaken) || errors.Is(err, auth.ErrAccountExists) {
		t.Fatalf("name taken by an admin's account: %v", err)
	}
	if err := gh("acc_a", "tok_a", "github-7-acc_a"); err != nil {
		t.Fatal(err)
	}
	if err := gh("acc_b", "tok_b", "github-7-acc_b"); !errors.Is(err, auth.ErrAccountExists) {
		t.Fatalf("second account for one GitHub user: %v", err)
	}
	logins, err := s.GitHubLogins(ctx, []string{"acc_admin", "acc_a", "acc_missing"})
	if err != nil || len(logins) != 1 || logins["acc_a"] != "mona" {
		t.Fatalf("logins %v, %v", logins, err)
	}
	accs, _ := s.Accounts(ctx)
	if len(accs) != 2 {
		t.Fatalf("accounts %+v", accs)
	}
}

func TestSecretsAreMadeOnceAndSurviveReopening(t *testing.T) {
	s, path := openTemp(t, Options{})
	ctx := context.Background()
	k1, err := s.Secret(ctx, "signin_state", 32)
	if err != nil || len(k1) != 32 || bytes.Equal(k1, make([]byte, 32)) {
		t.Fatalf("%x %v", k1, err)
	}
	if k2, _ := s.Secret(ctx, "signin_state", 32); !bytes.Equal(k1, k2) {
		t.Fatal("a second call made another secret")
	}
	if other, _ := s.Secret(ctx, "other", 32); bytes.Equal(other, k1) {
		t.Fatal("two secrets are one")
	}
	if _, err := s.Secret(ctx, "signin_state", 16); err == nil {
		t.Fatal("a secret of another size was accepted")
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k3, _ := s.Secret(ctx, "signin_state", 32); !bytes.Equal(k1, k3) {
		t.Fatal("the secret changed across a restart")
	}
}
