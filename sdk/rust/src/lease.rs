//! The lease guard: renews itself in a task, releases on drop, tells when it is lost.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::client::LockOptions;
use crate::generated::types;
use crate::session::{self, Binding};
use crate::{Client, Error};

/// The shortest pause between two renewal attempts after a failure.
const MIN_RETRY: Duration = Duration::from_millis(50);
/// The longest pause between two renewal attempts after a failure.
const MAX_RETRY: Duration = Duration::from_secs(1);

/// Why a [`Lease`] was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossReason {
    /// The server says the lease is no longer the lock's current one: it expired (the
    /// process stalled past its TTL) or was released through another handle.
    NotCurrent,
    /// Renewals failed (no answer, the server unavailable) until the TTL ran out on the
    /// client's clock, or the lease was not renewed at all; it must be assumed gone.
    Expired,
    /// The lease was bound to a [`Session`](crate::Session) that ended without being
    /// closed: the session was lost, or orphaned (no longer kept alive).
    SessionEnded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Held,
    Released,
    Lost,
}

struct State {
    phase: Phase,
    auto_renew: bool,
    ttl_secs: u32,
    expires_at: DateTime<Utc>,
    renew_after_hint: Option<Duration>,
    /// The client's end of the lease: counted from the grant or renewal as the server
    /// reported it (`renew_after_ms` is a third of what is left), never earlier than the
    /// TTL from when the request was sent.
    deadline: Instant,
    /// When the renewer next asks the server.
    next_renew: Instant,
}

struct Shared {
    name: String,
    holder_id: Option<String>,
    id: Uuid,
    fencing_token: u64,
    metadata: Option<String>,
    /// The session the lease is bound to: it keeps the lease alive, and the lease ends
    /// with it.
    session: Option<Binding>,
    state: Mutex<State>,
    lost: watch::Sender<Option<LossReason>>,
    changed: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a grant or renewal sent at `sent` and answered at `received`. A blocking
    /// acquire may be granted long after it was sent, so the lease's end is counted from
    /// the answer: the server's `renew_after_ms` is a third of what is left of the lease.
    fn update(
        &self,
        expires_at: DateTime<Utc>,
        renew_after_ms: Option<i64>,
        sent: Instant,
        received: Instant,
    ) {
        let mut s = self.state();
        s.expires_at = expires_at;
        let ttl = Duration::from_secs(s.ttl_secs.into());
        s.renew_after_hint = renew_after_ms.map(|ms| Duration::from_millis(ms.max(0) as u64));
        let mut deadline = sent + ttl;
        if let Some(after) = s.renew_after_hint {
            deadline = deadline.max(received + (after * 3).min(ttl));
        }
        if deadline > s.deadline {
            s.deadline = deadline;
        }
        let after = s.renew_after_hint.unwrap_or(ttl / 3);
        s.next_renew = received + after;
        drop(s);
        self.changed.notify_one();
    }

    /// Takes in the state of the session the lease is bound to; false once the lease has
    /// ended (with the session, or before).
    fn follow(&self, session: &session::State) -> bool {
        let mut s = self.state();
        if s.phase != Phase::Held {
            return false;
        }
        match session.phase {
            session::Phase::Alive => {
                s.deadline = s.deadline.max(session.deadline);
                s.expires_at = s.expires_at.max(session.expires_at);
                true
            }
            session::Phase::Closed => {
                // Deleting the session released the lock.
                s.phase = Phase::Released;
                drop(s);
                self.changed.notify_one();
                false
            }
            session::Phase::Lost(_) | session::Phase::Orphaned => {
                drop(s);
                self.mark_lost(LossReason::SessionEnded);
                false
            }
        }
    }

    /// Brings a session-bound lease up to date with its session now, without waiting for
    /// the task that follows it: a lease reads as ended as soon as its session has.
    fn settle(&self) {
        if let Some(session) = &self.session {
            let st = session.subscribe().borrow().clone();
            self.follow(&st);
        }
    }

    /// Marks the lease lost once and tells everyone waiting on [`Lease::lost`].
    fn mark_lost(&self, reason: LossReason) {
        let mut s = self.state();
        if s.phase != Phase::Held {
            return;
        }
        s.phase = Phase::Lost;
        drop(s);
        self.lost.send_replace(Some(reason));
        self.changed.notify_one();
    }
}

/// A held lock. It renews itself in a background task at the server's `renew_after_ms`,
/// is released by [`Lease::release`] or, in the background, when dropped, and reports its
/// loss through [`Lease::lost`] when a renewal finds it gone or its TTL runs out
/// unrenewed.
///
/// ```no_run
/// # async fn run(client: octostore::Client) -> Result<(), octostore::Error> {
/// let lease = client.lock("nightly-report").await?;
/// tokio::select! {
///     reason = lease.lost() => eprintln!("lock lost: {reason:?}"),
///     _ = write_report(lease.fencing_token()) => {}
/// }
/// lease.release().await?;
/// # Ok(()) }
/// # async fn write_report(_token: u64) {}
/// ```
///
/// Dropping a lease that is still held releases it before `drop` returns (see
/// [`Lease::close`]), also at the end of `main` when the runtime is shutting down; a lease
/// that was lost or released is dropped at once. [`Lease::release`] is the async way and
/// reports errors.
pub struct Lease {
    client: Client,
    shared: Arc<Shared>,
    renewer: Mutex<Option<JoinHandle<()>>>,
}

/// A view of a [`Lease`] for the block of [`Client::with_lock`](crate::Client::with_lock):
/// its identity and its loss signal. Cheap to clone; the lease itself stays with the
/// helper, which releases it when the block ends.
#[derive(Clone)]
pub struct LeaseView {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LeaseView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseView")
            .field("name", &self.shared.name)
            .field("fencing_token", &self.shared.fencing_token)
            .finish_non_exhaustive()
    }
}

impl LeaseView {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The lease id.
    pub fn lease_id(&self) -> Uuid {
        self.shared.id
    }

    /// The fencing token of this grant; send it with every write to the resource.
    pub fn fencing_token(&self) -> u64 {
        self.shared.fencing_token
    }

    /// Whether the lease is still believed held.
    pub fn is_held(&self) -> bool {
        self.shared.settle();
        self.shared.state().phase == Phase::Held
    }

    /// Why the lease was lost, if it was.
    pub fn loss_reason(&self) -> Option<LossReason> {
        self.shared.settle();
        *self.shared.lost.borrow()
    }

    /// Resolves when the lease is lost; see [`Lease::lost`].
    pub fn lost(&self) -> impl Future<Output = LossReason> + Send + 'static {
        lost_signal(&self.shared)
    }
}

fn lost_signal(shared: &Shared) -> impl Future<Output = LossReason> + Send + 'static {
    let mut rx = shared.lost.subscribe();
    async move {
        let reason = match rx.wait_for(Option::is_some).await {
            Ok(reason) => *reason,
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            // The lease is gone without being lost: released.
            None => std::future::pending().await,
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.shared.name)
            .field("fencing_token", &self.shared.fencing_token)
            .field("phase", &self.shared.state().phase)
            .finish_non_exhaustive()
    }
}

impl Lease {
    pub(crate) fn granted(
        client: Client,
        name: &str,
        r: types::AcquireResult,
        options: &LockOptions,
        sent: Instant,
        received: Instant,
    ) -> Result<Lease, Error> {
        let (Some(id), Some(token)) = (r.lease_id, r.fencing_token) else {
            return Err(Error::transport(
                "acquired answer without lease_id or fencing_token",
            ));
        };
        let session = options.session.clone();
        let ttl_secs = session
            .as_ref()
            .map_or_else(|| options.ttl_secs(), Binding::ttl_secs);
        let deadline = match &session {
            Some(session) => session.subscribe().borrow().deadline,
            None => sent + Duration::from_secs(ttl_secs.into()),
        };
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            holder_id: r.holder_id.as_ref().and_then(|h| h.0.clone()),
            id: id.0,
            fencing_token: token.0.get(),
            metadata: options.metadata_value().map(str::to_owned),
            session: session.clone(),
            state: Mutex::new(State {
                phase: Phase::Held,
                auto_renew: options.renews(),
                ttl_secs,
                expires_at: r.expires_at.0,
                renew_after_hint: session.as_ref().and_then(|_| {
                    r.renew_after_ms
                        .as_ref()
                        .map(|ms| Duration::from_millis(ms.0.max(0) as u64))
                }),
                deadline,
                next_renew: deadline,
            }),
            lost: watch::Sender::new(None),
            changed: Notify::new(),
        });
        let renewer = match session {
            // The session's keep-alive renews the lease; its end is the session's.
            Some(session) => tokio::spawn(follow_session(Arc::clone(&shared), session)),
            None => {
                shared.update(
                    r.expires_at.0,
                    r.renew_after_ms.map(|m| m.0),
                    sent,
                    received,
                );
                tokio::spawn(renew_loop(client.clone(), Arc::clone(&shared)))
            }
        };
        register(&shared, &client);
        Ok(Lease {
            client,
            shared,
            renewer: Mutex::new(Some(renewer)),
        })
    }

    /// A cloneable view of this lease (identity and loss signal).
    pub fn view(&self) -> LeaseView {
        LeaseView {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The holder id the server reported with the grant (`token_id/owner`), when it did.
    pub fn holder_id(&self) -> Option<&str> {
        self.shared.holder_id.as_deref()
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The lease id; only the holder knows it.
    pub fn lease_id(&self) -> Uuid {
        self.shared.id
    }

    /// The fencing token of this grant, larger than every token issued before it. Send it
    /// with every write to the resource the lock protects.
    pub fn fencing_token(&self) -> u64 {
        self.shared.fencing_token
    }

    /// The id of the [`Session`](crate::Session) the lease is bound to, if it is.
    pub fn session_id(&self) -> Option<&str> {
        self.shared.session.as_ref().map(Binding::id)
    }

    /// The metadata published with the lease.
    pub fn metadata(&self) -> Option<&str> {
        self.shared.metadata.as_deref()
    }

    /// When the lease ends unless renewed, as the server last reported it.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.shared.state().expires_at
    }

    /// The server's last renewal hint, counted from its last grant or renewal (the client
    /// renews at a third of the TTL when there is none).
    pub fn renew_after(&self) -> Option<Duration> {
        self.shared.state().renew_after_hint
    }

    /// The TTL the lease is renewed with.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.shared.state().ttl_secs.into())
    }

    /// Whether the lease is still believed held: not released, not lost (nor ended with
    /// its session).
    pub fn is_held(&self) -> bool {
        self.shared.settle();
        self.shared.state().phase == Phase::Held
    }

    /// Why the lease was lost, if it was.
    pub fn loss_reason(&self) -> Option<LossReason> {
        self.shared.settle();
        *self.shared.lost.borrow()
    }

    /// Resolves when the lease is lost, with the reason; never resolves for a lease that
    /// is released. Independent of the lease's lifetime, so it can be moved into a task.
    pub fn lost(&self) -> impl Future<Output = LossReason> + Send + 'static {
        lost_signal(&self.shared)
    }

    /// Renews the lease now for its TTL; returns the new expiry.
    pub async fn renew(&self) -> Result<DateTime<Utc>, Error> {
        let ttl = self.shared.state().ttl_secs;
        self.renew_for(Duration::from_secs(ttl.into())).await
    }

    /// Renews the lease now: it ends `ttl` from now (never earlier than it already would),
    /// and later background renewals use this TTL. A `lease_not_current` answer marks the
    /// lease lost.
    pub async fn renew_for(&self, ttl: Duration) -> Result<DateTime<Utc>, Error> {
        let ttl_secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX);
        let sent = Instant::now();
        match self
            .client
            .renew(&self.shared.name, self.shared.id, ttl_secs)
            .await
        {
            Ok(r) => {
                let held = {
                    let mut s = self.shared.state();
                    s.ttl_secs = ttl_secs;
                    s.phase == Phase::Held
                };
                if held {
                    self.shared.update(
                        r.expires_at.0,
                        Some(r.renew_after_ms.0),
                        sent,
                        Instant::now(),
                    );
                } else {
                    self.shared.state().expires_at = r.expires_at.0;
                }
                Ok(r.expires_at.0)
            }
            Err(e) => {
                if e.is_lease_not_current() {
                    self.shared.mark_lost(LossReason::NotCurrent);
                }
                Err(e)
            }
        }
    }

    /// Gives the lock back now and stops renewing. Always asks the server: a lease that
    /// already ended gets `lease_not_current` (and is then lost); after a transport error
    /// the lease ends by its TTL.
    pub async fn release(&self) -> Result<(), Error> {
        self.shared.state().auto_renew = false;
        self.shared.changed.notify_one();
        match self.client.release(&self.shared.name, self.shared.id).await {
            Ok(_) => {
                let mut s = self.shared.state();
                if s.phase == Phase::Held {
                    s.phase = Phase::Released;
                }
                drop(s);
                self.shared.changed.notify_one();
                Ok(())
            }
            Err(e) => {
                if e.is_lease_not_current() {
                    self.shared.mark_lost(LossReason::NotCurrent);
                }
                Err(e)
            }
        }
    }
}

impl Lease {
    /// Ends the lease's life here, as dropping it does: stops renewing and, when the lease
    /// is still held, releases it before returning (bounded by the client's request
    /// timeout and by what is left of the lease; errors are ignored, the lease then ends by
    /// its TTL). A lease that was lost or released returns at once. The release runs on a
    /// thread of its own with its own connections, so it works at the end of `main`, while
    /// the runtime shuts down, or outside any runtime. It blocks the calling thread; in
    /// async code prefer `release().await`.
    pub fn close(&self) {
        if let Some(r) = self
            .renewer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            r.abort();
        }
        self.shared.settle();
        let deadline = {
            let mut s = self.shared.state();
            if s.phase != Phase::Held {
                return;
            }
            s.phase = Phase::Released;
            s.deadline
        };
        self.shared.changed.notify_one();
        let left = deadline
            .into_std()
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        let timeout = self.client.request_timeout().min(left);
        let Some(thread) = release_detached(
            self.client.clone(),
            self.shared.name.clone(),
            self.shared.id,
            timeout,
        ) else {
            return;
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            // Let the runtime move this worker's other tasks elsewhere while it waits.
            tokio::task::block_in_place(|| {
                let _ = thread.join();
            });
        } else {
            let _ = thread.join();
        }
    }
}

/// Releases a lease on a thread of its own, with its own runtime and connections: works
/// while the lease's runtime shuts down, outside any runtime, or from a signal thread.
fn release_detached(
    client: Client,
    name: String,
    id: Uuid,
    timeout: Duration,
) -> Option<std::thread::JoinHandle<()>> {
    let release = move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            if let Ok(c) = client.detached() {
                let _ = tokio::time::timeout(timeout, c.release(&name, id)).await;
            }
        });
    };
    std::thread::Builder::new()
        .name("octostore-release".into())
        .spawn(release)
        .ok()
}

/// Every lease granted in this process (weakly), for [`release_all_held`].
static REGISTRY: Mutex<Vec<(std::sync::Weak<Shared>, Client)>> = Mutex::new(Vec::new());

fn register(shared: &Arc<Shared>, client: &Client) {
    let mut r = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    r.retain(|(w, _)| w.strong_count() > 0);
    r.push((Arc::downgrade(shared), client.clone()));
}

/// Releases every lease of this process that is still held, in parallel, each bounded by
/// its client's request timeout and what is left of it; returns when all are done.
pub(crate) fn release_all_held() {
    let entries: Vec<_> = REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|(w, c)| Some((w.upgrade()?, c.clone())))
        .collect();
    let mut threads = Vec::new();
    for (shared, client) in entries {
        let deadline = {
            let mut s = shared.state();
            if s.phase != Phase::Held {
                continue;
            }
            s.phase = Phase::Released;
            s.deadline
        };
        shared.changed.notify_one();
        let left = deadline
            .into_std()
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            continue;
        }
        let timeout = client.request_timeout().min(left);
        threads.extend(release_detached(
            client,
            shared.name.clone(),
            shared.id,
            timeout,
        ));
    }
    for t in threads {
        let _ = t.join();
    }
}

impl Drop for Lease {
    /// [`Lease::close`]: stops renewing and releases the lease if it is still held.
    fn drop(&mut self) {
        self.close();
    }
}

/// A lease bound to a session: follows the session's deadline and expiry, which its
/// keep-alive moves, and ends with it: released when the session is closed (deleting it
/// released the lock), lost when it is lost or orphaned.
async fn follow_session(shared: Arc<Shared>, session: Binding) {
    let mut rx = session.subscribe();
    loop {
        let st = rx.borrow_and_update().clone();
        if !shared.follow(&st) {
            return;
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = shared.changed.notified() => {}
        }
    }
}

/// Renews at the hint until released or lost; declares the lease lost at its deadline.
async fn renew_loop(client: Client, shared: Arc<Shared>) {
    loop {
        let (phase, auto_renew, deadline, next_renew, ttl_secs) = {
            let s = shared.state();
            (s.phase, s.auto_renew, s.deadline, s.next_renew, s.ttl_secs)
        };
        if phase != Phase::Held {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            // Not renewed in time: the server may have handed the lock on already.
            shared.mark_lost(LossReason::Expired);
            return;
        }
        let wake = if auto_renew {
            next_renew.min(deadline)
        } else {
            deadline
        };
        if now < wake {
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shared.changed.notified() => {}
            }
            continue;
        }
        let sent = Instant::now();
        let timeout = client.request_timeout().min(deadline - sent);
        let result =
            tokio::time::timeout(timeout, client.renew(&shared.name, shared.id, ttl_secs)).await;
        match result {
            Ok(Ok(r)) => {
                if shared.state().phase == Phase::Held {
                    shared.update(
                        r.expires_at.0,
                        Some(r.renew_after_ms.0),
                        sent,
                        Instant::now(),
                    );
                }
            }
            Ok(Err(e)) if e.is_lease_not_current() => {
                shared.mark_lost(LossReason::NotCurrent);
                return;
            }
            // Anything else (no answer, 503, 429, even a refused token) is retried until
            // the deadline: only the server can say the lease is gone before then.
            _ => {
                let mut s = shared.state();
                let left = s.deadline.saturating_duration_since(Instant::now());
                s.next_renew = Instant::now() + (left / 3).clamp(MIN_RETRY, MAX_RETRY);
            }
        }
    }
}
