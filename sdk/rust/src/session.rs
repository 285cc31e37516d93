//! Sessions: one lease on this process's liveness that many locks share.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::LockOptions;
use crate::generated::types;
use crate::{Attempt, Client, Error, Lease, LossReason};

/// The shortest pause between two keep-alive attempts after a failure.
const MIN_RETRY: Duration = Duration::from_millis(50);
/// The longest pause between two keep-alive attempts after a failure.
const MAX_RETRY: Duration = Duration::from_secs(1);

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Kept alive in the background.
    Alive,
    /// Ended without [`Session::close`]: the server no longer knows it, or no renewal
    /// succeeded before it would have expired.
    Lost(LossReason),
    /// Deleted on the server by [`Session::close`]; its locks were released.
    Closed,
    /// No longer renewed ([`Session::orphan`], or the handle was dropped): the server ends
    /// it, and its locks, one TTL after its last renewal.
    Orphaned,
}

#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    /// The client's end of the session, never later than the server's: counted from when
    /// the last successful renewal was sent, three of the server's `renew_after_ms`.
    pub(crate) deadline: Instant,
    /// When the server ends the session unless renewed, as of the latest renewal.
    pub(crate) expires_at: DateTime<Utc>,
    renew_after: Duration,
    /// When the keep-alive next asks the server.
    next_renew: Instant,
}

pub(crate) struct Shared {
    id: types::SessionId,
    ttl_secs: u32,
    state: watch::Sender<State>,
}

impl Shared {
    /// Takes in a creation or renewal sent at `sent` and answered at `received`. The
    /// server answered after `sent`, so its end is at least three `renew_after_ms` from
    /// then; the estimates never move earlier.
    fn record(
        &self,
        expires_at: DateTime<Utc>,
        renew_after_ms: i64,
        sent: Instant,
        received: Instant,
    ) {
        let after = Duration::from_millis(renew_after_ms.max(10) as u64);
        let ttl = Duration::from_secs(self.ttl_secs.into());
        self.state.send_modify(|s| {
            let deadline = sent + (after * 3).min(ttl);
            if deadline > s.deadline {
                s.deadline = deadline;
            }
            if expires_at > s.expires_at {
                s.expires_at = expires_at;
            }
            s.renew_after = after;
            s.next_renew = received + after;
        });
    }

    /// Moves an alive session to `phase`, once; a session that already ended keeps how
    /// it ended.
    fn end(&self, phase: Phase) {
        self.state.send_if_modified(|s| {
            if s.phase != Phase::Alive {
                return false;
            }
            s.phase = phase;
            true
        });
    }

    fn phase(&self) -> Phase {
        self.state.borrow().phase
    }
}

/// What a lease bound to a session holds of it: the session's id for the acquire, and its
/// state to follow (the lease ends when the session does).
#[derive(Clone)]
pub(crate) struct Binding(Arc<Shared>);

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Session").field(&self.0.id.as_str()).finish()
    }
}

impl Binding {
    /// The id to send with an acquire, or the server's answer for a session that ended
    /// (`session_not_found`) without asking it.
    pub(crate) fn usable_id(&self) -> Result<types::SessionId, Error> {
        match self.0.phase() {
            Phase::Alive => Ok(self.0.id.clone()),
            Phase::Lost(_) => Err(Error::session_ended(
                "the session was lost; start a new one and acquire its locks again",
            )),
            Phase::Closed => Err(Error::session_ended("the session was closed")),
            Phase::Orphaned => Err(Error::session_ended(
                "the session was orphaned: it is no longer kept alive",
            )),
        }
    }

    /// An acquire through the session was answered `session_not_found`: the server no
    /// longer knows it, so it is lost now (and every lease bound to it), not when the
    /// next keep-alive finds out.
    pub(crate) fn forgotten(&self) {
        self.0.end(Phase::Lost(LossReason::NotCurrent));
    }

    pub(crate) fn id(&self) -> &str {
        self.0.id.as_str()
    }

    pub(crate) fn ttl_secs(&self) -> u32 {
        self.0.ttl_secs
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<State> {
        self.0.state.subscribe()
    }
}

/// A session: a lease on this process's liveness that many locks share, as etcd's
/// `concurrency.Session`. [`Client::session`] creates it on the server and keeps it alive
/// in a background task, every `renew_after_ms` the server suggests. Locks and semaphores
/// taken through it ([`Session::lock`], [`Session::semaphore`] and their forms) have no
/// TTL of their own and are not renewed on their own: they live exactly as long as the
/// session.
///
/// - [`Session::close`] deletes the session, which releases every lock bound to it at
///   once (no lock-delay).
/// - [`Session::orphan`] (and dropping the handle) only stops the keep-alive, as a killed
///   process does: the server ends the session, and its locks, one TTL later, and their
///   lock-delays apply then.
/// - [`Session::lost`] resolves when the session ended otherwise: the server no longer
///   knows it (heard by a keep-alive, or by an acquire through the session, which then
///   fails with `session_not_found`, unretried), or no renewal succeeded before it would
///   have expired. Every lock bound to it is lost then too.
///
/// ```no_run
/// # async fn run(client: octostore::Client) -> Result<(), octostore::Error> {
/// let session = client.session().await?; // 15 s, renewed in the background
/// let lease = session.lock("leader.billing").await?;
/// tokio::select! {
///     reason = session.lost() => eprintln!("session lost: {reason:?}"),
///     _ = lead(lease.fencing_token()) => {}
/// }
/// session.close().await?; // releases every lock taken through it
/// # Ok(()) }
/// # async fn lead(_token: u64) {}
/// ```
///
/// As with any lease, a stalled process learns of the loss only when it next runs: pass
/// the locks' fencing tokens to what they protect.
pub struct Session {
    client: Client,
    shared: Arc<Shared>,
    keeper: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.shared.id.as_str())
            .field("phase", &self.shared.phase())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn start(client: Client, r: types::SessionResult, sent: Instant) -> Session {
        let received = Instant::now();
        let shared = Arc::new(Shared {
            id: r.session_id,
            ttl_secs: r.ttl_seconds,
            state: watch::Sender::new(State {
                phase: Phase::Alive,
                deadline: sent,
                expires_at: r.expires_at.0,
                renew_after: Duration::ZERO,
                next_renew: received,
            }),
        });
        shared.record(r.expires_at.0, r.renew_after_ms.0, sent, received);
        let keeper = tokio::spawn(keep_alive(client.clone(), Arc::clone(&shared)));
        Session {
            client,
            shared,
            keeper: Mutex::new(Some(keeper)),
        }
    }

    /// The session's id (`ses_…`), for acquires made without this helper (`session_id`).
    pub fn id(&self) -> &str {
        self.shared.id.as_str()
    }

    /// The session's TTL: how long the server keeps it, and its locks, after the last
    /// renewal.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.shared.ttl_secs.into())
    }

    /// When the server ends the session unless it is renewed, as of the latest renewal.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.shared.state.borrow().expires_at
    }

    /// Whether the session is still kept alive: not lost, closed or orphaned.
    pub fn is_alive(&self) -> bool {
        self.shared.phase() == Phase::Alive
    }

    /// Why the session was lost, if it was (`None` too after close or orphan, which are
    /// not losses).
    pub fn loss_reason(&self) -> Option<LossReason> {
        match self.shared.phase() {
            Phase::Lost(reason) => Some(reason),
            _ => None,
        }
    }

    /// Resolves when the session is lost, with the reason: [`LossReason::NotCurrent`] when
    /// the server no longer knows it, [`LossReason::Expired`] when no renewal succeeded
    /// before it would have expired. Never resolves for a session that is closed or
    /// orphaned. Independent of the session's lifetime, so it can be moved into a task.
    pub fn lost(&self) -> impl Future<Output = LossReason> + Send + 'static {
        let mut rx = self.shared.state.subscribe();
        async move {
            let phase = match rx.wait_for(|s| s.phase != Phase::Alive).await {
                Ok(s) => Some(s.phase),
                Err(_) => None,
            };
            match phase {
                Some(Phase::Lost(reason)) => reason,
                _ => std::future::pending().await,
            }
        }
    }

    /// Stops the keep-alive and deletes the session on the server, which releases every
    /// lock bound to it at once (no lock-delay applies). Closing twice, or after
    /// [`Session::orphan`], does nothing. A session the server no longer knows gets its
    /// `session_not_found` (and counts as lost, if it did not already). After any other
    /// error the session is left to expire, as an orphaned one.
    pub async fn close(&self) -> Result<(), Error> {
        if let Some(keeper) = self.take_keeper() {
            keeper.abort();
            let _ = keeper.await;
        }
        if matches!(self.shared.phase(), Phase::Closed | Phase::Orphaned) {
            return Ok(());
        }
        match self.client.delete_session(&self.shared.id).await {
            Ok(()) => {
                self.shared.end(Phase::Closed);
                Ok(())
            }
            Err(e) => {
                if e.code() == Some("session_not_found") {
                    self.shared.end(Phase::Lost(LossReason::NotCurrent));
                } else {
                    self.shared.end(Phase::Orphaned);
                }
                Err(e)
            }
        }
    }

    /// Stops the keep-alive without deleting the session, as etcd's `Session.Orphan`
    /// does: the server ends the session, and every lock bound to it, one TTL after its
    /// last renewal, and their lock-delays apply then. It is what a process that dies
    /// does; use it to hand the session's end to the server. The locks bound to it count
    /// as lost at once ([`LossReason::SessionEnded`]) and are not released when dropped.
    pub fn orphan(&self) {
        if let Some(keeper) = self.take_keeper() {
            keeper.abort();
        }
        self.shared.end(Phase::Orphaned);
    }

    /// Takes the lock through this session, waiting in line as long as it takes.
    pub async fn lock(&self, name: &str) -> Result<Lease, Error> {
        self.lock_with(name, LockOptions::default()).await
    }

    /// Takes the lock through this session, waiting in line up to the options' `max_wait`
    /// ([`Error::Timeout`] then). The options' TTL and `auto_renew` do not apply: the
    /// session keeps the lease alive.
    pub async fn lock_with(&self, name: &str, options: LockOptions) -> Result<Lease, Error> {
        self.client.lock_with(name, self.bind(options)).await
    }

    /// Takes the lock through this session if it is free, asking once.
    pub async fn try_lock(&self, name: &str) -> Result<Attempt, Error> {
        self.try_lock_with(name, LockOptions::default()).await
    }

    /// Takes the lock through this session if it is free, asking once (the options'
    /// `max_wait`, TTL and `auto_renew` do not apply).
    pub async fn try_lock_with(&self, name: &str, options: LockOptions) -> Result<Attempt, Error> {
        self.client.try_lock_with(name, self.bind(options)).await
    }

    /// Takes one of the `n` places of the semaphore `name` through this session, waiting
    /// in line as long as it takes; see [`Client::semaphore`].
    pub async fn semaphore(&self, name: &str, n: u32) -> Result<Lease, Error> {
        self.semaphore_with(name, n, LockOptions::default()).await
    }

    /// Takes one of the `n` places of the semaphore `name` through this session, waiting
    /// in line up to the options' `max_wait`.
    pub async fn semaphore_with(
        &self,
        name: &str,
        n: u32,
        options: LockOptions,
    ) -> Result<Lease, Error> {
        self.client
            .semaphore_with(name, n, self.bind(options))
            .await
    }

    /// Takes one of the `n` places of the semaphore `name` through this session if one is
    /// free, asking once.
    pub async fn try_semaphore(&self, name: &str, n: u32) -> Result<Attempt, Error> {
        self.try_semaphore_with(name, n, LockOptions::default())
            .await
    }

    /// Takes one of the `n` places of the semaphore `name` through this session if one is
    /// free, asking once.
    pub async fn try_semaphore_with(
        &self,
        name: &str,
        n: u32,
        options: LockOptions,
    ) -> Result<Attempt, Error> {
        self.client
            .try_semaphore_with(name, n, self.bind(options))
            .await
    }

    fn bind(&self, options: LockOptions) -> LockOptions {
        options.bound_to(Binding(Arc::clone(&self.shared)))
    }

    fn take_keeper(&self) -> Option<JoinHandle<()>> {
        self.keeper.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for Session {
    /// [`Session::orphan`]: stops the keep-alive; the server ends the session one TTL
    /// later. Call [`Session::close`] to end it, and release its locks, at once.
    fn drop(&mut self) {
        self.orphan();
    }
}

/// Renews at the server's `renew_after_ms`, sooner after a failure, until the session
/// ends; declares it lost when the server no longer knows it or when the client's
/// deadline passes without a successful renewal.
async fn keep_alive(client: Client, shared: Arc<Shared>) {
    loop {
        let (phase, deadline, next_renew) = {
            let s = shared.state.borrow();
            (s.phase, s.deadline, s.next_renew)
        };
        if phase != Phase::Alive {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            // Not renewed in time: the server may have ended it, and its locks, already.
            shared.end(Phase::Lost(LossReason::Expired));
            return;
        }
        let wake = next_renew.min(deadline);
        if now < wake {
            tokio::time::sleep_until(wake).await;
            continue;
        }
        let sent = Instant::now();
        let timeout = client.request_timeout().min(deadline - sent);
        match tokio::time::timeout(timeout, client.renew_session(&shared.id)).await {
            Ok(Ok(r)) => shared.record(r.expires_at.0, r.renew_after_ms.0, sent, Instant::now()),
            Ok(Err(e)) if e.code() == Some("session_not_found") => {
                shared.end(Phase::Lost(LossReason::NotCurrent));
                return;
            }
            // Anything else (no answer, 503, 429, even a refused token) is retried until
            // the deadline: only the server can say the session is gone before then.
            _ => {
                let now = Instant::now();
                let left = deadline.saturating_duration_since(now);
                shared.state.send_modify(|s| {
                    s.next_renew = now + (left / 3).clamp(MIN_RETRY, MAX_RETRY);
                });
            }
        }
    }
}
