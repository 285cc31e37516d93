//! The OctoStore client: leader election and distributed locking as a service.
//!
//! [`generated`] is the client generated from the repository's `openapi.yaml` by
//! progenitor at build time, one async method per endpoint. On top of it:
//!
//! - [`Client::lock`] / [`Client::try_lock`] return a [`Lease`], a guard that renews
//!   itself in a task at the server's `renew_after_ms`, releases on drop (or explicitly
//!   with [`Lease::release`]), exposes the [`Lease::fencing_token`] and resolves
//!   [`Lease::lost`] when the lock is lost.
//! - [`Client::semaphore`] / [`Client::try_semaphore`]: the same [`Lease`] for one of N
//!   places of a lock that N holders share.
//! - [`Session`] ([`Client::session`]): one keep-alive for many locks; locks taken
//!   through it ([`Session::lock`], [`Session::semaphore`]) end when it does, and
//!   [`Session::lost`] resolves when it is lost.
//! - [`LockOptions::lock_delay`]: after a lease *expires*, nobody gets the lock for a
//!   while ([`Held::available_at`] says until when).
//! - [`Client::watch_prefix`]: every change of the locks under a name prefix, from the
//!   index [`Client::prefix_index`] gives.
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
mod session;
mod shutdown;
mod watch;

pub use client::{
    Attempt, Client, ClientBuilder, Held, LockOptions, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL_SECS,
};
pub use election::{Election, Leader, Observer};
pub use error::{Error, ScopedError};
pub use generated::types;
pub use lease::{Lease, LeaseView, LossReason};
pub use session::Session;
#[cfg(unix)]
pub use shutdown::release_on_shutdown;
pub use watch::{PrefixChanges, PrefixWatch};
