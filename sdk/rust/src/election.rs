//! Leader election on one lock: campaign, leader, observe, resign.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::client::{LockOptions, DEFAULT_RETRY};
use crate::generated::types;
use crate::{Client, Error, Lease};

/// How long one watch request of an [`Observer`] may wait before asking again.
const WATCH_WAIT: Duration = Duration::from_secs(30);

/// Leader election on one lock: the leader is whoever holds it, and the value it
/// campaigned with (an address, say) is the lock's metadata for everyone in the account.
///
/// ```no_run
/// # async fn run(client: octostore::Client) -> Result<(), octostore::Error> {
/// let election = client.election("scheduler");
/// let leadership = election.campaign("10.0.0.7:8080").await?; // waits until elected
/// tokio::select! {
///     reason = leadership.lost() => eprintln!("no longer leader: {reason:?}"),
///     _ = lead(leadership.fencing_token()) => {}
/// }
/// election.resign(&leadership).await?;
/// # Ok(()) }
/// # async fn lead(_token: u64) {}
/// ```
#[derive(Clone, Debug)]
pub struct Election {
    client: Client,
    name: String,
}

/// The current leader of an [`Election`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    /// The holder's id: its token id, then `/owner` if it sent one.
    pub holder_id: String,
    /// The value the leader campaigned with.
    pub value: Option<String>,
    /// The leader's fencing token.
    pub fencing_token: u64,
    /// When the leader's lease ends unless renewed.
    pub expires_at: Option<DateTime<Utc>>,
    /// The lock's revision when this was read.
    pub revision: u64,
}

impl Election {
    pub(crate) fn new(client: Client, name: &str) -> Election {
        Election {
            client,
            name: name.to_owned(),
        }
    }

    /// The election's lock name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits in line until elected, then holds the leadership (a 15-second lease renewed
    /// in the background, so a leader that dies is replaced about 15 s later) with
    /// `value` published as the leader value.
    pub async fn campaign(&self, value: &str) -> Result<Lease, Error> {
        self.campaign_with(value, LockOptions::default()).await
    }

    /// Waits in line until elected or the options' `max_wait` passes
    /// ([`Error::Timeout`]), with `value` published as the leader value.
    pub async fn campaign_with(&self, value: &str, options: LockOptions) -> Result<Lease, Error> {
        self.client
            .lock_with(&self.name, options.metadata(value))
            .await
    }

    /// The current leader, or `None` when nobody leads.
    pub async fn leader(&self) -> Result<Option<Leader>, Error> {
        Ok(leader_of(self.client.status(&self.name).await?))
    }

    /// Follows the leadership: the first [`Observer::next`] returns the current leader,
    /// each later one the state after the next change.
    pub fn observe(&self) -> Observer {
        Observer {
            client: self.client.clone(),
            name: self.name.clone(),
            index: None,
        }
    }

    /// Gives up the leadership: releases the lease [`Election::campaign`] returned.
    pub async fn resign(&self, leadership: &Lease) -> Result<(), Error> {
        leadership.release().await
    }
}

/// A long-poll of an election's lock; see [`Election::observe`].
#[derive(Debug)]
pub struct Observer {
    client: Client,
    name: String,
    index: Option<u64>,
}

impl Observer {
    /// The leader (or `None`) now on the first call; afterwards waits, as long as it
    /// takes, for the lock's next change and returns the state after it. No change is
    /// missed: one that happens between two calls is returned at once.
    pub async fn next(&mut self) -> Result<Option<Leader>, Error> {
        let Some(index) = self.index else {
            let s = self.client.status(&self.name).await?;
            self.index = Some(s.revision.0.max(0) as u64);
            return Ok(leader_of(s));
        };
        loop {
            let sent = Instant::now();
            let s = self.client.watch(&self.name, index, WATCH_WAIT).await?;
            let revision = s.revision.0.max(0) as u64;
            if revision > index {
                self.index = Some(revision);
                return Ok(leader_of(s));
            }
            if sent.elapsed() + Duration::from_secs(1) < WATCH_WAIT {
                // Answered early without a change: a server that cannot hold watches.
                tokio::time::sleep(DEFAULT_RETRY * 4).await;
            }
        }
    }
}

/// The leader in a lock's status: nobody when it is free, or kept only by a lock-delay
/// (held without a holder).
fn leader_of(s: types::LockStatus) -> Option<Leader> {
    if s.status != types::LockStatusStatus::Held {
        return None;
    }
    let holder_id = s.holder_id.and_then(|h| h.0)?;
    Some(Leader {
        holder_id,
        value: s.metadata,
        fencing_token: s.fencing_token.map_or(0, |t| t.0.get()),
        expires_at: s.expires_at.map(|t| t.0),
        revision: s.revision.0.max(0) as u64,
    })
}
