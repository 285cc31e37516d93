//! The OctoStore client: leader election and distributed locking as a service.
//!
//! [`generated`] is the client generated from the repository's `openapi.yaml` by
//! progenitor at build time, one async method per endpoint. On top of it:
//!
//! - [`Client::lock`] / [`Client::try_lock`] return a [`Lease`], a guard that renews
//!   itself in a task at the server's `renew_after_ms`, releases on drop (or explicitly
//!   with [`Lease::release`]), exposes the [`Lease::fencing_token`] and resolves
//!   [`Lease::lost`] when the lock is lost.
//! - [`Election`]: campaign with a value, read or observe the leader, resign.
//!
//! ```no_run
//! # async fn run() -> Result<(), octostore::Error> {
//! let client = octostore::Client::new("http://127.0.0.1:3000", "oct_tok_…")?;
//! let lease = client.lock("nightly-report").await?;      // waits in line
//! println!("fencing token {}", lease.fencing_token());
//! lease.release().await?;
//! # Ok(()) }
//! ```
//!
//! A lease is not a mutex: a process can stall past its TTL and still believe it holds
//! the lock. Pass the fencing token to whatever you protect and have it refuse writes
//! carrying a token smaller than the largest it has seen.

#![warn(missing_docs)]

/// The client generated from `openapi.yaml`: [`generated::Client`] and
/// [`generated::types`].
#[allow(missing_docs, clippy::all, unused_imports, dead_code)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

mod client;
mod election;
mod error;
mod lease;
mod shutdown;

pub use client::{
    Attempt, Client, ClientBuilder, Held, LockOptions, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL_SECS,
};
pub use election::{Election, Leader, Observer};
pub use error::{Error, ScopedError};
pub use generated::types;
pub use lease::{Lease, LeaseView, LossReason};
#[cfg(unix)]
pub use shutdown::release_on_shutdown;
