package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/store"
)

// Accounts, tokens, GitHub links and sessions are replicated too: AuthStore proposes
// every write as a log entry naming the store method and its arguments (all decided by
// the proposer, its clock included), and every node's FSM calls that method on its own
// store. The answer the proposer gets (auth.ErrAccountExists, …) is the one its own FSM
// computed, which every node computes alike. Reads are local: the server forwards to the
// leader whatever must be up to date.

// The auth operations.
const (
	opCreateAccount       = "create_account"
	opAddToken            = "add_token"
	opSetTokenHash        = "set_token_hash"
	opCreateGitHubAccount = "create_github_account"
	opUpdateGitHubProfile = "update_github_profile"
	opCreateSession       = "create_session"
	opDeleteSession       = "delete_session"
	opRevokeToken         = "revoke_token"
	opDeleteAccount       = "delete_account"
	opSetTokensLastUsed   = "set_tokens_last_used"
	opTouchSession        = "touch_session"
	opDeleteSessions      = "delete_sessions"
	opRelinkGitHub        = "relink_github"
	// Dashboard sessions of pasted tokens, and sign-out everywhere of both kinds.
	opCreateTokenSession    = "create_token_session"
	opDeleteAccountSessions = "delete_account_sessions"
)

// authArgs are the arguments of every auth operation; each uses some.
type authArgs struct {
	Account   *auth.Account     `json:"a,omitempty"`
	Token     *auth.TokenRecord `json:"t,omitempty"`
	Link      *auth.GitHubLink  `json:"l,omitempty"`
	Session   *auth.Session     `json:"s,omitempty"`
	TokenID   string            `json:"ti,omitempty"`
	Hash      []byte            `json:"h,omitempty"`
	GitHubID  int64             `json:"g,omitempty"`
	Login     string            `json:"lo,omitempty"`
	AvatarURL string            `json:"av,omitempty"`
	Now       time.Time         `json:"n,omitzero"`
	IdleSince time.Time         `json:"is,omitzero"`
	Max       int               `json:"m,omitempty"`
	AccountID string            `json:"ai,omitempty"`
	LastUsed  map[string]int64  `json:"lu,omitempty"`
}

// applyAuth runs one auth operation on the node's store. It reports whether the tokens
// may have changed.
func applyAuth(ctx context.Context, st *store.Store, op string, a authArgs) (tokens bool, err error) {
	switch op {
	case opCreateAccount:
		return true, st.CreateAccount(ctx, *a.Account, *a.Token)
	case opAddToken:
		return true, st.AddToken(ctx, *a.Token)
	case opSetTokenHash:
		return true, st.SetTokenHash(ctx, a.TokenID, a.Hash)
	case opCreateGitHubAccount:
		return true, st.CreateGitHubAccount(ctx, *a.Account, *a.Token, *a.Link)
	case opUpdateGitHubProfile:
		return false, st.UpdateGitHubProfile(ctx, a.GitHubID, a.Login, a.AvatarURL)
	case opCreateSession:
		return false, st.CreateSession(ctx, *a.Session, a.Now, a.IdleSince, a.Max)
	case opDeleteSession:
		return false, st.DeleteSession(ctx, a.Hash)
	case opRevokeToken:
		return true, st.RevokeToken(ctx, a.TokenID, a.Now)
	case opDeleteAccount:
		return true, st.DeleteAccount(ctx, a.AccountID)
	case opSetTokensLastUsed:
		return false, st.SetTokensLastUsed(ctx, a.LastUsed)
	case opTouchSession:
		return false, st.TouchSession(ctx, a.Hash, a.Now)
	case opDeleteSessions:
		return false, st.DeleteSessions(ctx, a.GitHubID)
	case opRelinkGitHub:
		return true, st.RelinkGitHub(ctx, a.GitHubID, *a.Token)
	case opCreateTokenSession:
		return false, st.CreateTokenSession(ctx, *a.Session, a.Now, a.IdleSince, a.Max)
	case opDeleteAccountSessions:
		return false, st.DeleteAccountSessions(ctx, a.AccountID)
	}
	return false, fmt.Errorf("unknown auth operation %q", op)
}

// AuthStore is the replicated auth.Store and auth.SessionStore of a node.
type AuthStore struct{ n *Node }

var (
	_ auth.Store        = AuthStore{}
	_ auth.SessionStore = AuthStore{}
)

// AuthStore returns the node's replicated account store.
func (n *Node) AuthStore() AuthStore { return AuthStore{n: n} }

// propose commits one auth operation through the log and returns its result.
func (s AuthStore) propose(op string, a authArgs) error {
	n := s.n
	if err := n.Writable(); err != nil {
		return err
	}
	args, err := json.Marshal(a)
	if err != nil {
		return err
	}
	data, err := json.Marshal(entry{Kind: kindAuth, Op: op, Args: args})
	if err != nil {
		return err
	}
	f := n.raft.Apply(data, applyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrEnqueueTimeout) {
			return fmt.Errorf("%w: %w", impl.ErrNoLeader, err)
		}
		return fmt.Errorf("%w: %w", impl.ErrUnavailable, err)
	}
	if r, ok := f.Response().(error); ok {
		return r
	}
	return nil
}

// CreateAccount stores an account and its first token on every node.
func (s AuthStore) CreateAccount(_ context.Context, a auth.Account, t auth.TokenRecord) error {
	return s.propose(opCreateAccount, authArgs{Account: &a, Token: &t})
}

// AddToken stores another token of an account on every node.
func (s AuthStore) AddToken(_ context.Context, t auth.TokenRecord) error {
	return s.propose(opAddToken, authArgs{Token: &t})
}

// SetTokenHash replaces a token's hash on every node.
func (s AuthStore) SetTokenHash(_ context.Context, tokenID string, hash []byte) error {
	return s.propose(opSetTokenHash, authArgs{TokenID: tokenID, Hash: hash})
}

// Accounts lists the accounts this node has.
func (s AuthStore) Accounts(ctx context.Context) ([]auth.Account, error) {
	return s.n.st.Accounts(ctx)
}

// Tokens lists the token hashes this node has.
func (s AuthStore) Tokens(ctx context.Context) ([]auth.TokenRecord, error) {
	return s.n.st.Tokens(ctx)
}

// GitHubLink reads a link from this node's file.
func (s AuthStore) GitHubLink(ctx context.Context, githubID int64) (auth.GitHubLink, error) {
	return s.n.st.GitHubLink(ctx, githubID)
}

// CreateGitHubAccount stores an account, its token and its GitHub link on every node.
func (s AuthStore) CreateGitHubAccount(_ context.Context, a auth.Account, t auth.TokenRecord, l auth.GitHubLink) error {
	return s.propose(opCreateGitHubAccount, authArgs{Account: &a, Token: &t, Link: &l})
}

// UpdateGitHubProfile records a user's login and avatar on every node.
func (s AuthStore) UpdateGitHubProfile(_ context.Context, githubID int64, login, avatarURL string) error {
	return s.propose(opUpdateGitHubProfile, authArgs{GitHubID: githubID, Login: login, AvatarURL: avatarURL})
}

// CreateSession stores a session on every node (and drops the expired, idle and
// surplus ones).
func (s AuthStore) CreateSession(_ context.Context, sess auth.Session, now, idleSince time.Time, maxSessions int) error {
	return s.propose(opCreateSession, authArgs{Session: &sess, Now: now, IdleSince: idleSince, Max: maxSessions})
}

// CreateTokenSession stores a pasted token's dashboard session on every node.
func (s AuthStore) CreateTokenSession(_ context.Context, sess auth.Session, now, idleSince time.Time, maxSessions int) error {
	return s.propose(opCreateTokenSession, authArgs{Session: &sess, Now: now, IdleSince: idleSince, Max: maxSessions})
}

// DeleteAccountSessions ends every dashboard session of an account on every node.
func (s AuthStore) DeleteAccountSessions(_ context.Context, accountID string) error {
	return s.propose(opDeleteAccountSessions, authArgs{AccountID: accountID})
}

// Account reads one account from this node's file.
func (s AuthStore) Account(ctx context.Context, id string) (auth.Account, error) {
	return s.n.st.Account(ctx, id)
}

// RevokeToken kills a token on every node.
func (s AuthStore) RevokeToken(_ context.Context, tokenID string, now time.Time) error {
	return s.propose(opRevokeToken, authArgs{TokenID: tokenID, Now: now})
}

// DeleteAccount deletes an account and what belongs to it on every node.
func (s AuthStore) DeleteAccount(_ context.Context, accountID string) error {
	return s.propose(opDeleteAccount, authArgs{AccountID: accountID})
}

// SetTokensLastUsed records last uses through the log on the leader. Elsewhere it drops
// them: a node that does not lead serves no token, and the times are informational.
func (s AuthStore) SetTokensLastUsed(_ context.Context, lastUsed map[string]int64) error {
	if len(lastUsed) == 0 || s.n.Writable() != nil {
		return nil
	}
	return s.propose(opSetTokensLastUsed, authArgs{LastUsed: lastUsed})
}

// TouchSession records a session's last use on every node.
func (s AuthStore) TouchSession(_ context.Context, hash []byte, at time.Time) error {
	return s.propose(opTouchSession, authArgs{Hash: hash, Now: at})
}

// DeleteSessions removes a GitHub user's sessions on every node.
func (s AuthStore) DeleteSessions(_ context.Context, githubID int64) error {
	return s.propose(opDeleteSessions, authArgs{GitHubID: githubID})
}

// RelinkGitHub gives a GitHub user's account a new sign-in token on every node.
func (s AuthStore) RelinkGitHub(_ context.Context, githubID int64, t auth.TokenRecord) error {
	return s.propose(opRelinkGitHub, authArgs{GitHubID: githubID, Token: &t})
}

// Session reads a session from this node's file.
func (s AuthStore) Session(ctx context.Context, hash []byte) (auth.Session, error) {
	return s.n.st.Session(ctx, hash)
}

// DeleteSession removes a session on every node.
func (s AuthStore) DeleteSession(_ context.Context, hash []byte) error {
	return s.propose(opDeleteSession, authArgs{Hash: hash})
}

// OnTokensChanged sets the function called (on raft's goroutine) after a committed entry
// may have changed the tokens, so the node's in-memory token cache follows; the server's
// ReloadTokens.
func (n *Node) OnTokensChanged(fn func()) { n.fsm.onTokens.Store(&fn) }
