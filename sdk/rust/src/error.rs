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

    /// Translates a generated call's error, reading the problem document it carries.
    pub(crate) async fn from_api(e: progenitor_client::Error<ByteStream>) -> Self {
        use progenitor_client::Error as E;
        match e {
            E::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let mut stream = rv.into_inner_stream();
                let mut body = Vec::new();
                while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                    match chunk {
                        Ok(b) => body.extend_from_slice(&b),
                        Err(err) => return Error::transport(err),
                    }
                }
                Self::from_body(status, &body)
            }
            E::UnexpectedResponse(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => Self::from_body(status, &body),
                    Err(err) => Error::transport(err),
                }
            }
            other => Error::transport(other.to_string()),
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
