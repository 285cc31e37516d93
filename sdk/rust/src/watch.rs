//! Prefix watches: every change of the locks under a name prefix, in order.

use std::time::Duration;

use tokio::time::Instant;

use crate::client::{DEFAULT_RETRY, MAX_WAIT};
use crate::generated::types;
use crate::{Client, Error};

/// The longest pause before asking again after a 429 or a 503.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One answer of a [`PrefixWatch`]: the locks under the prefix that changed past the
/// index it was asked from, by name (a released or expired one has `status` `free`), and
/// the index the watch goes on from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PrefixChanges {
    /// The index of this answer: every change it reports is at or below it.
    pub index: u64,
    /// The locks that changed, by name, as they are now. A lock that changed several
    /// times between two answers is reported once.
    pub changes: Vec<types::LockStatus>,
    /// False when the server no longer remembered every lock freed since the index asked
    /// from: `changes` then holds every lock held under the prefix, and any other lock the
    /// caller knew of is free.
    pub complete: bool,
}

/// A watch of every lock under a prefix; see [`Client::watch_prefix`]. Each
/// [`PrefixWatch::next`] returns the next answer with changes and goes on from its index,
/// so no change is missed between two calls.
#[derive(Debug)]
pub struct PrefixWatch {
    client: Client,
    prefix: String,
    index: u64,
}

impl PrefixWatch {
    pub(crate) fn new(client: Client, prefix: &str, index: u64) -> PrefixWatch {
        PrefixWatch {
            client,
            prefix: prefix.to_owned(),
            index,
        }
    }

    /// The prefix watched.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The index the next call watches from: that of the last answer (or the one the
    /// watch started from).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Waits, as long as it takes, for the next change of a lock under the prefix past
    /// [`PrefixWatch::index`] and returns the answer. 429 and 503 answers are waited out;
    /// any other error comes back, and the next call asks again from the same index.
    /// Cancel-safe: dropping the future (a `select!` or a timeout around it) loses no
    /// change.
    pub async fn next(&mut self) -> Result<PrefixChanges, Error> {
        let mut backoff = DEFAULT_RETRY;
        loop {
            let sent = Instant::now();
            let list = match self
                .client
                .watch_prefix_once(&self.prefix, self.index, MAX_WAIT)
                .await
            {
                Ok(list) => list,
                Err(e) if matches!(e.status(), Some(429 | 503)) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                Err(e) => return Err(e),
            };
            backoff = DEFAULT_RETRY;
            let index = list
                .index
                .ok_or_else(|| Error::transport("a prefix watch answer without index"))?
                .max(0) as u64;
            self.index = self.index.max(index);
            let complete = list.complete.unwrap_or(true);
            if !list.changes.is_empty() || !complete {
                return Ok(PrefixChanges {
                    index,
                    changes: list.changes,
                    complete,
                });
            }
            if sent.elapsed() + Duration::from_secs(1) < MAX_WAIT {
                // Answered early without a change: a server that cannot hold watches.
                tokio::time::sleep(DEFAULT_RETRY * 4).await;
            }
        }
    }
}
