// Package noop is the benchmark ceiling: OctoStore's routes served by the same generated
// router and strict server, with handlers that answer a constant and do nothing else —
// no authentication, no validation, no engine, no disk. octostore-bench measured against
// it tells what this machine's HTTP stack can do at all, so the real server's overhead
// (auth, validation, engine, group commit) can be stated as a fraction of it.
//
// Never use it for anything but measurement: it grants nothing and checks nothing.
package noop

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/octostore/octostore/gen"
)

// Handler returns the no-op API handler.
func Handler() http.Handler {
	strict := gen.NewStrictHandlerWithOptions(server{}, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, `{"code":"invalid_request"}`, http.StatusBadRequest)
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, `{"code":"internal"}`, http.StatusInternalServerError)
		},
	})
	return gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{BaseRouter: http.NewServeMux()})
}

var _ gen.StrictServerInterface = server{}

// server answers every operation with a fixed, well-formed response. Acquire always
// reports "held", so a try-acquire of a held lock is what it costs.
type server struct{}

var (
	leaseID  = uuid.MustParse("6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70")
	token    = int64(42)
	holder   = "tok_8f3a1c9d2e7b"
	expires  = time.Date(2026, 2, 12, 1, 0, 0, 0, time.UTC)
	account  = "acc_3kq9v7x2m4pz"
	tokenID  = "tok_8f3a1c9d2e7b"
	newToken = "oct_tok_8f3a1c9d2e7b_Wm9vQmFyQmF6UXV4UXV1eENvcmdlR3JhdWx0R2FycGx5"
)

func (server) ListAccounts(context.Context, gen.ListAccountsRequestObject) (gen.ListAccountsResponseObject, error) {
	return gen.ListAccounts200JSONResponse{Accounts: []gen.Account{}}, nil
}

func (server) CreateAccount(_ context.Context, req gen.CreateAccountRequestObject) (gen.CreateAccountResponseObject, error) {
	return gen.CreateAccount201JSONResponse{AccountId: account, Name: req.Body.Name, TokenId: tokenID, Token: newToken}, nil
}

func (server) CreateToken(context.Context, gen.CreateTokenRequestObject) (gen.CreateTokenResponseObject, error) {
	return gen.CreateToken201JSONResponse{AccountId: account, TokenId: tokenID, Token: newToken}, nil
}

func (server) GetCluster(context.Context, gen.GetClusterRequestObject) (gen.GetClusterResponseObject, error) {
	return gen.GetCluster200JSONResponse{Nodes: []gen.ClusterNode{}}, nil
}

func (server) AddClusterNode(context.Context, gen.AddClusterNodeRequestObject) (gen.AddClusterNodeResponseObject, error) {
	return gen.AddClusterNode200JSONResponse{Nodes: []gen.ClusterNode{}}, nil
}

func (server) RemoveClusterNode(context.Context, gen.RemoveClusterNodeRequestObject) (gen.RemoveClusterNodeResponseObject, error) {
	return gen.RemoveClusterNode200JSONResponse{Nodes: []gen.ClusterNode{}}, nil
}

func (server) ListTokens(context.Context, gen.ListTokensRequestObject) (gen.ListTokensResponseObject, error) {
	return gen.ListTokens200JSONResponse{Tokens: []gen.TokenInfo{}}, nil
}

func (server) DeleteToken(context.Context, gen.DeleteTokenRequestObject) (gen.DeleteTokenResponseObject, error) {
	return gen.DeleteToken204Response{}, nil
}

func (server) DeleteAccount(context.Context, gen.DeleteAccountRequestObject) (gen.DeleteAccountResponseObject, error) {
	return gen.DeleteAccount204Response{}, nil
}

func (server) RevokeToken(context.Context, gen.RevokeTokenRequestObject) (gen.RevokeTokenResponseObject, error) {
	return gen.RevokeToken204Response{}, nil
}

func (server) SignOutEverywhere(context.Context, gen.SignOutEverywhereRequestObject) (gen.SignOutEverywhereResponseObject, error) {
	return gen.SignOutEverywhere204Response{}, nil
}

func (server) RotateToken(context.Context, gen.RotateTokenRequestObject) (gen.RotateTokenResponseObject, error) {
	return gen.RotateToken200JSONResponse{AccountId: account, TokenId: tokenID, Token: newToken}, nil
}

func (server) GetDocs(context.Context, gen.GetDocsRequestObject) (gen.GetDocsResponseObject, error) {
	return gen.GetDocs200TexthtmlResponse{Body: bytes.NewReader(nil)}, nil
}

func (server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: gen.HealthStatusOk, Storage: gen.StorageState{State: gen.StorageStateStateOk}}, nil
}

func (server) ListLocks(context.Context, gen.ListLocksRequestObject) (gen.ListLocksResponseObject, error) {
	return gen.ListLocks200JSONResponse{Locks: []gen.LockStatus{}}, nil
}

func (server) GetLock(_ context.Context, req gen.GetLockRequestObject) (gen.GetLockResponseObject, error) {
	return gen.GetLock200JSONResponse{Name: req.Name, Status: gen.LockStatusStatusHeld, HolderId: nullable.NewNullableWithValue(holder), FencingToken: &token, ExpiresAt: &expires}, nil
}

// AcquireLock grants every lock at once, with a fresh fencing token, except the one
// octostore-bench's status and tryheld scenarios probe (its name ends in "-held"), which
// it reports held: the ceiling of a lock cycle, and of a try of a held lock.
func (server) AcquireLock(_ context.Context, req gen.AcquireLockRequestObject) (gen.AcquireLockResponseObject, error) {
	if strings.HasSuffix(req.Name, "-held") {
		return gen.AcquireLock200JSONResponse{Status: gen.AcquireResultStatusHeld, HolderId: nullable.NewNullableWithValue(holder), ExpiresAt: expires}, nil
	}
	tok, renew := nextToken.Add(1), int64(20_000)
	return gen.AcquireLock200JSONResponse{Status: gen.AcquireResultStatusAcquired, LeaseId: &leaseID, FencingToken: &tok, ExpiresAt: expires, RenewAfterMs: &renew}, nil
}

// nextToken numbers the ceiling's grants, so that they pass the bench's fencing check.
var nextToken atomic.Int64

func (server) ReleaseLock(_ context.Context, req gen.ReleaseLockRequestObject) (gen.ReleaseLockResponseObject, error) {
	return gen.ReleaseLock200JSONResponse{Status: gen.Released, LeaseId: req.Body.LeaseId, FencingToken: token}, nil
}

func (server) RenewLock(context.Context, gen.RenewLockRequestObject) (gen.RenewLockResponseObject, error) {
	return gen.RenewLock200JSONResponse{Status: gen.Renewed, LeaseId: leaseID, FencingToken: token, ExpiresAt: expires}, nil
}

func (server) GetOpenAPI(context.Context, gen.GetOpenAPIRequestObject) (gen.GetOpenAPIResponseObject, error) {
	return gen.GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(gen.SpecYAML), ContentLength: int64(len(gen.SpecYAML))}, nil
}

// Sign-in and the dashboard answer as a server without GitHub sign-in does.
var notConfigured = gen.SignInNotConfiguredApplicationProblemPlusJSONResponse{
	Type: "urn:octostore:problem:signin_not_configured", Title: "Sign-in not configured",
	Status: http.StatusNotFound, Code: gen.ProblemCodeSigninNotConfigured,
}

func (server) StartGitHubSignIn(context.Context, gen.StartGitHubSignInRequestObject) (gen.StartGitHubSignInResponseObject, error) {
	return gen.StartGitHubSignIn404ApplicationProblemPlusJSONResponse{SignInNotConfiguredApplicationProblemPlusJSONResponse: notConfigured}, nil
}

func (server) FinishGitHubSignIn(context.Context, gen.FinishGitHubSignInRequestObject) (gen.FinishGitHubSignInResponseObject, error) {
	return gen.FinishGitHubSignIn404ApplicationProblemPlusJSONResponse{SignInNotConfiguredApplicationProblemPlusJSONResponse: notConfigured}, nil
}

func (server) GetDashboard(context.Context, gen.GetDashboardRequestObject) (gen.GetDashboardResponseObject, error) {
	return gen.GetDashboard200TexthtmlResponse{Body: strings.NewReader(""), ContentLength: 0}, nil
}

func (server) GetDashboardAvatar(context.Context, gen.GetDashboardAvatarRequestObject) (gen.GetDashboardAvatarResponseObject, error) {
	return gen.GetDashboardAvatar200ImageResponse{Body: strings.NewReader(""), ContentType: "image/png"}, nil
}

func (server) ListDashboardLocks(context.Context, gen.ListDashboardLocksRequestObject) (gen.ListDashboardLocksResponseObject, error) {
	return gen.ListDashboardLocks200JSONResponse{Locks: []gen.LockStatus{}}, nil
}

func (server) GetDashboardSession(context.Context, gen.GetDashboardSessionRequestObject) (gen.GetDashboardSessionResponseObject, error) {
	return gen.GetDashboardSession200JSONResponse{Body: gen.DashboardSession{AccountId: account, TokenId: tokenID, ExpiresAt: expires}}, nil
}

func (server) SignOut(context.Context, gen.SignOutRequestObject) (gen.SignOutResponseObject, error) {
	return gen.SignOut204Response{}, nil
}

func (server) RotateDashboardToken(context.Context, gen.RotateDashboardTokenRequestObject) (gen.RotateDashboardTokenResponseObject, error) {
	return gen.RotateDashboardToken200JSONResponse{Body: gen.IssuedToken{AccountId: account, TokenId: tokenID, Token: newToken}}, nil
}

func (server) GetReady(context.Context, gen.GetReadyRequestObject) (gen.GetReadyResponseObject, error) {
	return gen.GetReady200JSONResponse{Status: gen.ReadyStatusReady}, nil
}

func (server) GetBackup(context.Context, gen.GetBackupRequestObject) (gen.GetBackupResponseObject, error) {
	return gen.GetBackup200ApplicationoctetStreamResponse{Body: strings.NewReader(""), Headers: gen.GetBackup200ResponseHeaders{ContentDisposition: `attachment; filename="noop.db"`}}, nil
}

var sessionID = "ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4"

func (server) CreateSession(context.Context, gen.CreateSessionRequestObject) (gen.CreateSessionResponseObject, error) {
	return gen.CreateSession201JSONResponse{SessionId: sessionID, TtlSeconds: 15, ExpiresAt: expires, RenewAfterMs: 5000}, nil
}

func (server) GetSession(context.Context, gen.GetSessionRequestObject) (gen.GetSessionResponseObject, error) {
	return gen.GetSession200JSONResponse{SessionId: sessionID, TtlSeconds: 15, ExpiresAt: expires, RenewAfterMs: 5000, Locks: []gen.LockStatus{}}, nil
}

func (server) RenewSession(context.Context, gen.RenewSessionRequestObject) (gen.RenewSessionResponseObject, error) {
	return gen.RenewSession200JSONResponse{SessionId: sessionID, TtlSeconds: 15, ExpiresAt: expires, RenewAfterMs: 5000}, nil
}

func (server) DeleteSession(context.Context, gen.DeleteSessionRequestObject) (gen.DeleteSessionResponseObject, error) {
	return gen.DeleteSession204Response{}, nil
}

func (server) ForceRelease(_ context.Context, req gen.ForceReleaseRequestObject) (gen.ForceReleaseResponseObject, error) {
	return gen.ForceRelease200JSONResponse{Name: req.Name, FencingTokens: []int64{}}, nil
}

func (server) GetDashboardMethods(context.Context, gen.GetDashboardMethodsRequestObject) (gen.GetDashboardMethodsResponseObject, error) {
	return gen.GetDashboardMethods200JSONResponse{Token: true}, nil
}

func (server) SignInWithToken(context.Context, gen.SignInWithTokenRequestObject) (gen.SignInWithTokenResponseObject, error) {
	return gen.SignInWithToken204Response{}, nil
}

func (server) ReleaseDashboardLock(context.Context, gen.ReleaseDashboardLockRequestObject) (gen.ReleaseDashboardLockResponseObject, error) {
	return gen.ReleaseDashboardLock200JSONResponse{Status: gen.Released, LeaseId: leaseID, FencingToken: token}, nil
}

func (server) SignInAsOperator(context.Context, gen.SignInAsOperatorRequestObject) (gen.SignInAsOperatorResponseObject, error) {
	return gen.SignInAsOperator204Response{}, nil
}

func (server) GetOperatorSession(context.Context, gen.GetOperatorSessionRequestObject) (gen.GetOperatorSessionResponseObject, error) {
	return gen.GetOperatorSession200JSONResponse{Body: gen.OperatorSession{ExpiresAt: expires}}, nil
}

func (server) SignOutOperator(context.Context, gen.SignOutOperatorRequestObject) (gen.SignOutOperatorResponseObject, error) {
	return gen.SignOutOperator204Response{}, nil
}

func (server) ListAccountLocks(context.Context, gen.ListAccountLocksRequestObject) (gen.ListAccountLocksResponseObject, error) {
	return gen.ListAccountLocks200JSONResponse{Locks: []gen.LockStatus{}}, nil
}

func (server) ListOperatorAccounts(context.Context, gen.ListOperatorAccountsRequestObject) (gen.ListOperatorAccountsResponseObject, error) {
	return gen.ListOperatorAccounts200JSONResponse{Accounts: []gen.Account{}}, nil
}

func (server) DeleteOperatorAccount(context.Context, gen.DeleteOperatorAccountRequestObject) (gen.DeleteOperatorAccountResponseObject, error) {
	return gen.DeleteOperatorAccount204Response{}, nil
}

func (server) ListOperatorTokens(context.Context, gen.ListOperatorTokensRequestObject) (gen.ListOperatorTokensResponseObject, error) {
	return gen.ListOperatorTokens200JSONResponse{Tokens: []gen.TokenInfo{}}, nil
}

func (server) RevokeOperatorToken(context.Context, gen.RevokeOperatorTokenRequestObject) (gen.RevokeOperatorTokenResponseObject, error) {
	return gen.RevokeOperatorToken204Response{}, nil
}

func (server) ListOperatorAccountLocks(context.Context, gen.ListOperatorAccountLocksRequestObject) (gen.ListOperatorAccountLocksResponseObject, error) {
	return gen.ListOperatorAccountLocks200JSONResponse{Locks: []gen.LockStatus{}}, nil
}

func (server) GetOperatorCluster(context.Context, gen.GetOperatorClusterRequestObject) (gen.GetOperatorClusterResponseObject, error) {
	return gen.GetOperatorCluster200JSONResponse{Nodes: []gen.ClusterNode{}}, nil
}
