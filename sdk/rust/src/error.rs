//! The one error type of the helpers.

use std::fmt;
use std::future::poll_fn;

use progenitor_client::ByteStream;

use crate::generated::types;

/// Why a call failed: the server refused it, the wait for a lock ended, or no answer came.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the request with a problem document (RFC 9457). `code` is its
    /// stable machine-readable code, such as `lease_not_current` or `invalid_lock_name`.
    Api {
        /// The HTTP status.
        status: u16,
        /// The problem's code, when the body was a problem document.
        code: Option<String>,
        /// The problem document, when the client could read it.
        problem: Option<Box<types::Problem>>,
    },
    /// A blocking lock or campaign was not granted before its wait ended; nothing is held.
    Timeout {
        /// Who held the lock when the wait ended, if the server said.
        holder_id: Option<String>,
    },
    /// No usable answer: the connection failed, the request timed out, or the response
    /// could not be read.
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The problem code (`lease_not_current`, `lock_limit_exceeded`, …), or `timeout` for
    /// [`Error::Timeout`]; `None` for transport failures.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            Error::Timeout { .. } => Some("timeout"),
            Error::Transport(_) => None,
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server says the lease is no longer the lock's current one.
    pub fn is_lease_not_current(&self) -> bool {
        self.code() == Some("lease_not_current")
    }

    /// Whether trying again later can succeed: no answer, 429 or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || *status >= 500,
            Error::Timeout { .. } => false,
            Error::Transport(_) => true,
        }
    }

    pub(crate) fn transport(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Transport(e.into())
    }

    /// Whether no usable answer came (connection refused, timed out, unreadable).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport(_))
    }

    pub(crate) fn invalid_lock_name(detail: &str) -> Self {
        Error::refused(400, types::ProblemCode::InvalidLockName, detail)
    }

    pub(crate) fn invalid_request(detail: &str) -> Self {
        Error::refused(400, types::ProblemCode::InvalidRequest, detail)
    }

    /// An acquire through a session that has ended: what the server answers for it.
    pub(crate) fn session_ended(detail: &str) -> Self {
        Error::refused(404, types::ProblemCode::SessionNotFound, detail)
    }

    /// A request the client refuses without sending, with the status and code the server
    /// would answer it with, so that callers handle both alike. Its problem document is
    /// the client's own: `request_id` is empty.
    fn refused(status: u16, code: types::ProblemCode, detail: &str) -> Self {
        Error::Api {
            status,
            code: Some(code.to_string()),
            problem: Some(Box::new(types::Problem {
                code,
                detail: Some(detail.to_owned()),
                request_id: String::new(),
                status: status.into(),
                title: code.to_string(),
                type_: format!("urn:octostore:problem:{code}"),
            })),
        }
    }

    /// This error, naming the base URLs that failed before it.
    pub(crate) fn after(self, failed: &[String]) -> Self {
        match self {
            Error::Transport(e) => {
                Error::transport(format!("{e} (before that: {})", failed.join("; ")))
            }
            other => other,
        }
    }

    /// Translates a generated call's error, reading the problem document it carries.
    pub(crate) async fn from_api(e: progenitor_client::Error<ByteStream>, url: &str) -> Self {
        use progenitor_client::Error as E;
        match e {
            E::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let mut stream = rv.into_inner_stream();
                let mut body = Vec::new();
                while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                    match chunk {
                        Ok(b) => body.extend_from_slice(&b),
                        Err(err) => return Error::transport(format!("{url}: {}", chain(&err))),
                    }
                }
                Self::from_body(status, &body)
            }
            E::UnexpectedResponse(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => Self::from_body(status, &body),
                    Err(err) => Error::transport(format!("{url}: {}", chain(&err))),
                }
            }
            E::CommunicationError(err) => Error::transport(format!("{url}: {}", chain(&err))),
            other => Error::transport(format!("{url}: {}", chain(&other))),
        }
    }

    fn from_body(status: u16, body: &[u8]) -> Self {
        let problem = serde_json::from_slice::<types::Problem>(body).ok();
        let code = match &problem {
            Some(p) => Some(p.code.to_string()),
            // A code this client's spec does not list yet is still a code.
            None => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("code")?.as_str().map(str::to_owned)),
        };
        Error::Api {
            status,
            code,
            problem: problem.map(Box::new),
        }
    }
}

/// An error with its causes ("error sending request: client error (Connect): tcp connect
/// error: Connection refused"), so the message names what actually went wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                status,
                code,
                problem,
            } => {
                write!(f, "octostore: HTTP {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                if let Some(detail) = problem.as_ref().and_then(|p| p.detail.as_ref()) {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Error::Timeout { holder_id: Some(h) } => {
                write!(f, "octostore: wait ended with the lock held by {h}")
            }
            Error::Timeout { holder_id: None } => {
                write!(f, "octostore: wait ended without the lock")
            }
            Error::Transport(e) => write!(f, "octostore: no answer: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn reads_the_problem_document() {
        let body = br#"{"type":"urn:octostore:problem:lease_not_current","title":"Lease not current","status":409,
            "detail":"The lease is not this lock's current lease.","code":"lease_not_current","request_id":"r1"}"#;
        let e = Error::from_body(409, body);
        assert_eq!(e.status(), Some(409));
        assert_eq!(e.code(), Some("lease_not_current"));
        assert!(e.is_lease_not_current());
        assert!(!e.is_transient());
        let Error::Api {
            problem: Some(p), ..
        } = &e
        else {
            panic!("no problem: {e:?}");
        };
        assert_eq!(p.request_id, "r1");
        assert!(e.to_string().contains("lease_not_current"), "{e}");
    }

    #[test]
    fn keeps_a_code_this_spec_does_not_list_yet() {
        let e = Error::from_body(400, br#"{"code":"brand_new_code","status":400}"#);
        assert_eq!(e.code(), Some("brand_new_code"));
        assert!(matches!(e, Error::Api { problem: None, .. }));
    }

    #[test]
    fn a_body_that_is_no_problem_keeps_only_the_status() {
        let e = Error::from_body(502, b"<html>bad gateway</html>");
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.code(), None);
        assert!(e.is_transient());
    }

    #[test]
    fn timeout_and_transport_codes() {
        let t = Error::Timeout {
            holder_id: Some("tok_x".into()),
        };
        assert_eq!(t.code(), Some("timeout"));
        assert_eq!(t.status(), None);
        let n = Error::transport("refused");
        assert_eq!(n.code(), None);
        assert!(n.is_transient());
    }
}

/// Why [`Client::with_lock`](crate::Client::with_lock) failed: the lock was not taken,
/// the block failed (its error always comes out, with the release's failure beside it),
/// or the lock was lost while the block ran.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScopedError<E> {
    /// The lock was not taken (a timeout, a refusal, no answer); the block did not run.
    Lock(Error),
    /// The block returned this error. The lease was released on the way out; `release` is
    /// that release's failure, if it failed (for example `lease_not_current` when the
    /// lease had already ended).
    Block {
        /// The block's own error.
        error: E,
        /// The release's failure on the way out, if any.
        release: Option<Error>,
    },
    /// The block returned normally, but the lease was lost while it ran: whatever the
    /// block did may have overlapped with another holder.
    LockLost(crate::LossReason),
    /// The block returned normally but releasing the lease failed without saying it was
    /// lost (no answer): the lease ends by its TTL.
    Release(Error),
}

impl<E> ScopedError<E> {
    /// `lock_lost`, `user_error`, or the code of the lock's or the release's error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ScopedError::Lock(e) | ScopedError::Release(e) => e.code(),
            ScopedError::Block { .. } => Some("user_error"),
            ScopedError::LockLost(_) => Some("lock_lost"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ScopedError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopedError::Lock(e) => write!(f, "{e}"),
            ScopedError::Block {
                error,
                release: None,
            } => write!(f, "{error}"),
            ScopedError::Block {
                error,
                release: Some(r),
            } => write!(f, "{error} (and releasing the lock failed: {r})"),
            ScopedError::LockLost(reason) => {
                write!(
                    f,
                    "octostore: the lock was lost while the block ran ({reason:?})"
                )
            }
            ScopedError::Release(e) => write!(f, "octostore: releasing the lock failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ScopedError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScopedError::Lock(e) | ScopedError::Release(e) => Some(e),
            ScopedError::Block { error, .. } => Some(error),
            ScopedError::LockLost(_) => None,
        }
    }
}
