//! The client: lock, try_lock, status, watch, list, election.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use tokio::time::Instant;

use crate::election::Election;
use crate::generated::{self, types};
use crate::lease::{Lease, LeaseView, LossReason};
use crate::session::{Binding, Session};
use crate::watch::PrefixWatch;
use crate::{Error, ScopedError};

/// The default TTL of a lock and of a leadership, in seconds: a crashed holder's lock (or
/// a dead leader's leadership) passes on about this long after it stopped renewing.
pub const DEFAULT_TTL_SECS: u64 = 15;

/// The default bound on every request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a server holds a blocking request (the spec's `wait_seconds` maximum).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// Pause before asking again when a server answered `held` early without a retry hint.
pub(crate) const DEFAULT_RETRY: Duration = Duration::from_millis(250);

/// An OctoStore client: locks that renew themselves, leader election, and the generated
/// API ([`Client::api`]) for everything else. Cheap to clone; clones share connections.
///
/// A lease is not a mutex: a process can stall (GC, swap, a paused VM) past its TTL and
/// still believe it holds the lock. Pass [`Lease::fencing_token`] to whatever you protect
/// and have it refuse writes carrying a token smaller than the largest it has seen.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// One generated client per base URL, in the order given; they share connections.
    apis: Vec<generated::Client>,
    /// The index of the URL that answered last: requests start there.
    current: AtomicUsize,
    owner: String,
    request_timeout: Duration,
    /// How the client was built, for the detached release of a dropped lease.
    config: ClientBuilder,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_urls", &self.inner.config.base_urls)
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    base_urls: Vec<String>,
    token: Option<String>,
    owner: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_urls", &self.base_urls)
            .field("owner", &self.owner)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Another base URL, tried after the ones before it when they give a transport error
    /// or answer 503 (a server starting, stopping or not the active one).
    pub fn fallback_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_urls.push(base_url.into());
        self
    }

    /// The bearer token (an account token, `oct_…`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The holder name sent with every acquire (printable ASCII without spaces, up to 128
    /// characters). By default each client makes its own unique one,
    /// `<host>-<pid>-<8 random hex digits>` (see [`Client::owner`]), so two processes or
    /// two clients sharing one token exclude each other. Set it to let a restarted process
    /// take back its own lease (the same owner with the same token is the same holder).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for an answer (default 10 s), for every request; requests the
    /// server holds open (blocking acquire, watch) get their wait on top, and a lease's
    /// renewals are also bounded by what is left of the lease.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        if self.base_urls.is_empty() {
            return Err(Error::transport("no base URL given"));
        }
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.token {
            let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::transport("the token is not a valid header value"))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .default_headers(headers)
            .build()
            .map_err(Error::transport)?;
        let apis = self
            .base_urls
            .iter()
            .map(|u| generated::Client::new_with_client(u.trim_end_matches('/'), http.clone()))
            .collect();
        let owner = self.owner.clone().unwrap_or_else(default_owner);
        Ok(Client {
            inner: Arc::new(Inner {
                apis,
                current: AtomicUsize::new(0),
                owner,
                request_timeout: self.request_timeout,
                config: self,
            }),
        })
    }
}

/// How to take a lock: the lease's TTL, how long to wait in line, a metadata value to
/// publish with it, whether to renew it in the background, and its lock-delay.
#[derive(Clone, Debug)]
pub struct LockOptions {
    ttl: Duration,
    max_wait: Option<Duration>,
    metadata: Option<String>,
    owner: Option<String>,
    auto_renew: bool,
    lock_delay: Option<Duration>,
    /// Set by the semaphore forms: the acquire's `max_holders`.
    pub(crate) max_holders: Option<u32>,
    /// Set by the session forms: the session the lease is bound to.
    pub(crate) session: Option<Binding>,
}

impl Default for LockOptions {
    /// A 15-second lease, waiting without limit, renewed in the background.
    fn default() -> Self {
        LockOptions {
            ttl: Duration::from_secs(DEFAULT_TTL_SECS),
            max_wait: None,
            metadata: None,
            owner: None,
            auto_renew: true,
            lock_delay: None,
            max_holders: None,
            session: None,
        }
    }
}

impl LockOptions {
    /// The defaults: a 15-second lease, waiting without limit, renewed in the background.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lease's TTL, in whole seconds (1..=3600; the server enforces the bounds).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long [`Client::lock_with`] waits in line before failing with
    /// [`Error::Timeout`]; by default it waits without limit. Zero is a single attempt.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }

    /// A value (up to 1024 bytes) stored with the lease and shown to everyone in the
    /// account, such as a leader's address.
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }

    /// The holder name for this lock; overrides the client's owner.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Whether to renew the lease in the background (default true). Without it the lease
    /// ends at its TTL unless [`Lease::renew`] is called, and is then reported lost.
    pub fn auto_renew(mut self, auto_renew: bool) -> Self {
        self.auto_renew = auto_renew;
        self
    }

    /// The lock's lock-delay, in whole seconds (0..=60; the server enforces the bounds):
    /// when this lease *expires* (its holder stopped renewing, or its session died),
    /// nobody is granted the lock for that long, so a holder that lost it without noticing
    /// has time to stop. A release, or closing the session, never starts it. Meanwhile a
    /// try-lock gets [`Attempt::Held`] without a holder and with [`Held::available_at`],
    /// and a blocking lock waits it out.
    pub fn lock_delay(mut self, delay: Duration) -> Self {
        self.lock_delay = Some(delay);
        self
    }

    pub(crate) fn ttl_secs(&self) -> u32 {
        u32::try_from(self.ttl.as_secs()).unwrap_or(u32::MAX)
    }

    pub(crate) fn metadata_value(&self) -> Option<&str> {
        self.metadata.as_deref()
    }

    pub(crate) fn renews(&self) -> bool {
        self.auto_renew
    }

    pub(crate) fn semaphore(mut self, n: u32) -> Self {
        self.max_holders = Some(n);
        self
    }

    pub(crate) fn bound_to(mut self, session: Binding) -> Self {
        self.session = Some(session);
        self
    }
}

/// The outcome of [`Client::try_lock`] (and of the other try forms): the lease, or who
/// holds the lock.
#[derive(Debug)]
pub enum Attempt {
    /// The lock was free and is now held through this lease.
    Acquired(Lease),
    /// Someone else holds the lock.
    Held(Held),
}

impl Attempt {
    /// The lease, when the lock was granted.
    pub fn lease(self) -> Option<Lease> {
        match self {
            Attempt::Acquired(l) => Some(l),
            Attempt::Held(_) => None,
        }
    }
}

/// Who holds a lock that was not granted, and until when; for a semaphore, the holder
/// with the lowest fencing token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Held {
    /// The holder's id: its token id, then `/owner` if it sent one. `None` while a
    /// lock-delay keeps the lock from everyone (nobody holds it; see `available_at`).
    pub holder_id: Option<String>,
    /// When the holder's lease ends unless renewed (during a lock-delay: when the delay
    /// ends).
    pub expires_at: DateTime<Utc>,
    /// When trying again is worthwhile, when the server said.
    pub retry_after: Option<Duration>,
    /// While a lock-delay keeps the lock: when it ends and the lock can be taken again.
    pub available_at: Option<DateTime<Utc>>,
}

/// Runs one generated call (`api => api.method(..)`) within `timeout` in all, starting at
/// the base URL that answered last and moving on to the next on a transport error or a
/// 503; the error of the last URL tried comes back, naming every URL that failed.
macro_rules! call {
    ($self:expr, $timeout:expr, $api:ident => $call:expr) => {{
        let client: &Client = &$self;
        let timeout: Duration = $timeout;
        let deadline = Instant::now() + timeout;
        let apis = client.apis();
        let n = apis.len();
        let start = client.start_index();
        let mut failed: Vec<String> = Vec::new();
        let mut out = None;
        for k in 0..n {
            let i = (start + k) % n;
            let $api = &apis[i];
            let url = progenitor_client::ClientInfo::baseurl($api).to_owned();
            let left = deadline.saturating_duration_since(Instant::now());
            let e = match tokio::time::timeout(left, $call).await {
                Ok(Ok(v)) => {
                    client.answered(i);
                    out = Some(Ok(v.into_inner()));
                    break;
                }
                Err(_) => Error::transport(format!("{url}: no answer within {timeout:?}")),
                Ok(Err(e)) => Error::from_api(e, &url).await,
            };
            let moves_on = e.is_transport() || e.status() == Some(503);
            if !moves_on || k + 1 == n || Instant::now() >= deadline {
                out = Some(Err(if failed.is_empty() {
                    e
                } else {
                    e.after(&failed)
                }));
                break;
            }
            failed.push(e.to_string());
        }
        out.expect("at least one base URL")
    }};
}

impl Client {
    /// A client for the server at `base_url` that sends `token` as its bearer token.
    pub fn new(base_url: &str, token: &str) -> Result<Client, Error> {
        Client::builder(base_url).token(token).build()
    }

    /// A client configured from the environment: `OCTOSTORE_URL` (default
    /// `http://127.0.0.1:3000`; several base URLs separated by commas) and
    /// `OCTOSTORE_TOKEN`.
    pub fn from_env() -> Result<Client, Error> {
        let urls =
            std::env::var("OCTOSTORE_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
        let mut b = Client::with_urls(urls.split(',').map(str::trim).filter(|u| !u.is_empty()));
        if let Ok(token) = std::env::var("OCTOSTORE_TOKEN") {
            b = b.token(token);
        }
        b.build()
    }

    /// Starts configuring a client for the server at `base_url`.
    pub fn builder(base_url: &str) -> ClientBuilder {
        Client::with_urls([base_url])
    }

    /// Starts configuring a client for several base URLs (the same service behind several
    /// addresses): requests go to the one that answered last and move on to the next on a
    /// transport error or a 503.
    pub fn with_urls<I, S>(base_urls: I) -> ClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ClientBuilder {
            base_urls: base_urls
                .into_iter()
                .map(|u| u.as_ref().to_owned())
                .collect(),
            token: None,
            owner: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// The generated API, for calls the helpers do not cover (the base URL that answered
    /// last; the generated calls do not move between URLs).
    pub fn api(&self) -> &generated::Client {
        &self.inner.apis[self.inner.current.load(Ordering::Relaxed) % self.inner.apis.len()]
    }

    /// The holder name this client sends with every acquire: the one set with
    /// [`ClientBuilder::owner`], or its own unique `<host>-<pid>-<8 hex digits>`.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// A client with the same settings and owner but connections of its own, for a
    /// request made outside this client's runtime (a lease dropped at the end of `main`).
    pub(crate) fn detached(&self) -> Result<Client, Error> {
        self.inner
            .config
            .clone()
            .owner(self.inner.owner.clone())
            .build()
    }

    /// Takes the lock, waiting in line as long as it takes, as a 15-second lease renewed in
    /// the background until it is released or dropped.
    pub async fn lock(&self, name: &str) -> Result<Lease, Error> {
        self.lock_with(name, LockOptions::default()).await
    }

    /// Takes the lock, waiting in line (first come, first served) up to the options'
    /// `max_wait`; [`Error::Timeout`] when the wait ends with the lock held by another.
    pub async fn lock_with(&self, name: &str, options: LockOptions) -> Result<Lease, Error> {
        let deadline = options.max_wait.map(|w| Instant::now() + w);
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let wait = remaining.map_or(MAX_WAIT, |r| r.min(MAX_WAIT));
            let wait_secs = wait.as_secs() as u32;
            let sent = Instant::now();
            let r = self.acquire(name, &options, wait_secs).await?;
            if r.status == types::AcquireResultStatus::Acquired {
                return Lease::granted(self.clone(), name, r, &options, sent, Instant::now());
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::Timeout {
                    holder_id: r.holder_id.and_then(|h| h.0),
                });
            }
            // The server answered before the wait it was given ran out (it cannot hold
            // requests, or the lock changed hands under us): pause as it suggests.
            let early = now.duration_since(sent) + Duration::from_millis(100)
                < Duration::from_secs(wait_secs.into());
            if wait_secs == 0 || early {
                let hint = r.retry_after_ms.map_or(DEFAULT_RETRY, |ms| {
                    Duration::from_millis(ms.0.max(10) as u64)
                });
                let until = match deadline {
                    Some(d) => d.min(now + hint),
                    None => now + hint,
                };
                tokio::time::sleep_until(until).await;
            }
        }
    }

    /// Takes the lock if it is free, asking once, as a 15-second lease renewed in the
    /// background.
    pub async fn try_lock(&self, name: &str) -> Result<Attempt, Error> {
        self.try_lock_with(name, LockOptions::default()).await
    }

    /// Takes the lock if it is free, asking once (the options' `max_wait` is ignored).
    /// "Held by someone else" is an [`Attempt::Held`], not an error.
    pub async fn try_lock_with(&self, name: &str, options: LockOptions) -> Result<Attempt, Error> {
        let sent = Instant::now();
        let r = self.acquire(name, &options, 0).await?;
        if r.status == types::AcquireResultStatus::Acquired {
            return Ok(Attempt::Acquired(Lease::granted(
                self.clone(),
                name,
                r,
                &options,
                sent,
                Instant::now(),
            )?));
        }
        Ok(Attempt::Held(Held {
            holder_id: r.holder_id.and_then(|h| h.0),
            expires_at: r.expires_at.0,
            retry_after: r
                .retry_after_ms
                .map(|ms| Duration::from_millis(ms.0.max(0) as u64)),
            available_at: r.available_at.map(|t| t.0),
        }))
    }

    /// Takes one of the `n` places of the semaphore `name` (a lock that up to `n` distinct
    /// holders hold at once, each with a lease and fencing token of its own), waiting in
    /// line as long as it takes, as a 15-second lease renewed in the background. Every
    /// holder of a name must use the same `n` (1..=64): another is refused with
    /// `max_holders_mismatch`.
    ///
    /// ```no_run
    /// # async fn run(client: octostore::Client) -> Result<(), octostore::Error> {
    /// let slot = client.semaphore("transcoders", 3).await?; // one of three at once
    /// transcode(slot.fencing_token()).await;
    /// slot.release().await?;
    /// # Ok(()) }
    /// # async fn transcode(_token: u64) {}
    /// ```
    pub async fn semaphore(&self, name: &str, n: u32) -> Result<Lease, Error> {
        self.semaphore_with(name, n, LockOptions::default()).await
    }

    /// Takes one of the `n` places of the semaphore `name`, waiting in line up to the
    /// options' `max_wait`, as [`Client::lock_with`] does for a lock.
    pub async fn semaphore_with(
        &self,
        name: &str,
        n: u32,
        options: LockOptions,
    ) -> Result<Lease, Error> {
        self.lock_with(name, options.semaphore(n)).await
    }

    /// Takes one of the `n` places of the semaphore `name` if one is free, asking once;
    /// all `n` taken is an [`Attempt::Held`].
    pub async fn try_semaphore(&self, name: &str, n: u32) -> Result<Attempt, Error> {
        self.try_semaphore_with(name, n, LockOptions::default())
            .await
    }

    /// Takes one of the `n` places of the semaphore `name` if one is free, asking once.
    pub async fn try_semaphore_with(
        &self,
        name: &str,
        n: u32,
        options: LockOptions,
    ) -> Result<Attempt, Error> {
        self.try_lock_with(name, options.semaphore(n)).await
    }

    /// Starts a [`Session`] of the default TTL (15 s), kept alive in the background; see
    /// [`Client::session_with_ttl`].
    pub async fn session(&self) -> Result<Session, Error> {
        self.session_with_ttl(Duration::from_secs(DEFAULT_TTL_SECS))
            .await
    }

    /// Starts a [`Session`] of `ttl` (whole seconds, 1..=3600; the server enforces the
    /// bounds) and renews it in the background until it is closed, orphaned or dropped.
    /// Locks taken through it are bound to it: they live exactly as long as the session.
    pub async fn session_with_ttl(&self, ttl: Duration) -> Result<Session, Error> {
        let body = types::CreateSessionRequest {
            ttl_seconds: u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX),
        };
        let sent = Instant::now();
        let r = call!(self, self.inner.request_timeout, api => api.create_session(&body))?;
        Ok(Session::start(self.clone(), r, sent))
    }

    /// Runs `block` while holding the lock, and releases it when the block ends, whatever
    /// way it ends. Waits in line up to the options' `max_wait` (without limit by default).
    ///
    /// - The block's error always comes out ([`ScopedError::Block`]), with the release's
    ///   failure beside it, never instead of it.
    /// - When the lease was lost while the block ran and the block returned normally, the
    ///   result is [`ScopedError::LockLost`]: select on [`LeaseView::lost`] in the block to
    ///   stop early.
    ///
    /// ```no_run
    /// # async fn run(client: octostore::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use octostore::LockOptions;
    /// let rows = client
    ///     .with_lock("nightly-report", LockOptions::new(), |lease| async move {
    ///         write_report(lease.fencing_token()).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// # async fn write_report(_token: u64) -> Result<u64, std::io::Error> { Ok(1) }
    /// ```
    pub async fn with_lock<T, E, F, Fut>(
        &self,
        name: &str,
        options: LockOptions,
        block: F,
    ) -> Result<T, ScopedError<E>>
    where
        F: FnOnce(LeaseView) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let lease = self
            .lock_with(name, options)
            .await
            .map_err(ScopedError::Lock)?;
        let result = block(lease.view()).await;
        let lost_before = lease.loss_reason();
        let released = if lost_before.is_some() {
            None
        } else {
            Some(lease.release().await)
        };
        match (result, lost_before, released) {
            (Err(error), _, released) => Err(ScopedError::Block {
                error,
                release: released.and_then(Result::err),
            }),
            (Ok(_), Some(reason), _) => Err(ScopedError::LockLost(reason)),
            (Ok(v), None, Some(Ok(()))) => Ok(v),
            (Ok(_), None, Some(Err(e))) if e.is_lease_not_current() => {
                Err(ScopedError::LockLost(LossReason::NotCurrent))
            }
            (Ok(_), None, Some(Err(e))) => Err(ScopedError::Release(e)),
            (Ok(v), None, None) => Ok(v),
        }
    }

    /// The lock's state: `held` (holder, fencing token, expiry, metadata) or `free`.
    pub async fn status(&self, name: &str) -> Result<types::LockStatus, Error> {
        check_name(name)?;
        let name = name.to_owned();
        call!(self, self.inner.request_timeout, api => api.get_lock(&name, None, None, None))
    }

    /// Waits until the lock's revision is greater than `index`, or `wait` (at most 60 s)
    /// passes, and returns its state then. Pass the `revision` you last saw: a change in
    /// between returns at once, so no change is ever missed.
    pub async fn watch(
        &self,
        name: &str,
        index: u64,
        wait: Duration,
    ) -> Result<types::LockStatus, Error> {
        check_name(name)?;
        let name = name.to_owned();
        let wait_secs = wait.min(MAX_WAIT).as_secs() as u32;
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        let timeout = self.inner.request_timeout + Duration::from_secs(wait_secs.into());
        call!(self, timeout, api => api.get_lock(&name, None, Some(index), Some(&wait_secs)))
    }

    /// The account's active locks, ordered by name.
    pub async fn list(&self) -> Result<Vec<types::LockStatus>, Error> {
        let list = call!(self, self.inner.request_timeout, api => api.list_locks(None, None, None, None, None, None))?;
        Ok(list.locks)
    }

    /// The index to watch the locks under `prefix` from (see [`Client::watch_prefix`]):
    /// every change under it so far is at or below this index.
    pub async fn prefix_index(&self, prefix: &str) -> Result<u64, Error> {
        let prefix = check_prefix(prefix)?;
        let limit = std::num::NonZeroU32::MIN;
        let list = call!(self, self.inner.request_timeout, api => api.list_locks(None, None, None, Some(limit), Some(&prefix), None))?;
        let index = list
            .index
            .ok_or_else(|| Error::transport("a prefix list without index"))?;
        Ok(index.max(0) as u64)
    }

    /// Follows every change of the locks under `prefix` after `index`: each
    /// [`PrefixWatch::next`] waits for the next answer with changes. Index 0 starts with
    /// every lock the server knows under the prefix; [`Client::prefix_index`] gives the
    /// current index, to see only what changes from now on.
    ///
    /// ```no_run
    /// # async fn run(client: octostore::Client) -> Result<(), octostore::Error> {
    /// let index = client.prefix_index("jobs.").await?;
    /// let mut watch = client.watch_prefix("jobs.", index);
    /// loop {
    ///     let answer = watch.next().await?;
    ///     for lock in &answer.changes {
    ///         println!("{} is now {}", lock.name, lock.status);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn watch_prefix(&self, prefix: &str, index: u64) -> PrefixWatch {
        PrefixWatch::new(self.clone(), prefix, index)
    }

    /// A leader election on the lock `name`.
    pub fn election(&self, name: &str) -> Election {
        Election::new(self.clone(), name)
    }

    pub(crate) async fn acquire(
        &self,
        name: &str,
        options: &LockOptions,
        wait_secs: u32,
    ) -> Result<types::AcquireResult, Error> {
        check_name(name)?;
        let max_holders = match options.max_holders {
            None => None,
            Some(n) => Some(types::MaxHolders(std::num::NonZeroU32::new(n).ok_or_else(
                || Error::invalid_request("a semaphore admits 1 to 64 holders, not 0"),
            )?)),
        };
        let session_id = match &options.session {
            None => None,
            Some(session) => Some(session.usable_id()?),
        };
        let body = types::AcquireRequest {
            // A session's TTL rules the leases bound to it.
            ttl_seconds: session_id.is_none().then(|| options.ttl_secs()),
            owner: Some(
                options
                    .owner
                    .clone()
                    .unwrap_or_else(|| self.inner.owner.clone()),
            ),
            metadata: options.metadata.clone(),
            wait_seconds: (wait_secs > 0).then_some(wait_secs),
            session_id,
            lock_delay_seconds: options
                .lock_delay
                .map(|d| types::LockDelaySeconds(i32::try_from(d.as_secs()).unwrap_or(i32::MAX))),
            max_holders,
        };
        let name = name.to_owned();
        let timeout = self.inner.request_timeout + Duration::from_secs(wait_secs.into());
        let result = call!(self, timeout, api => api.acquire_lock(&name, &body));
        if let (Err(e), Some(session)) = (&result, &options.session) {
            if e.code() == Some("session_not_found") {
                session.forgotten();
            }
        }
        result
    }

    pub(crate) async fn renew(
        &self,
        name: &str,
        lease_id: uuid::Uuid,
        ttl_secs: u32,
    ) -> Result<types::RenewResult, Error> {
        let body = types::RenewRequest {
            lease_id: types::LeaseId(lease_id),
            ttl_seconds: ttl_secs,
        };
        let name = name.to_owned();
        call!(self, self.inner.request_timeout, api => api.renew_lock(&name, &body))
    }

    pub(crate) async fn release(
        &self,
        name: &str,
        lease_id: uuid::Uuid,
    ) -> Result<types::ReleaseResult, Error> {
        let body = types::ReleaseRequest {
            lease_id: types::LeaseId(lease_id),
        };
        let name = name.to_owned();
        call!(self, self.inner.request_timeout, api => api.release_lock(&name, &body))
    }

    pub(crate) async fn renew_session(
        &self,
        id: &types::SessionId,
    ) -> Result<types::SessionResult, Error> {
        call!(self, self.inner.request_timeout, api => api.renew_session(id))
    }

    pub(crate) async fn delete_session(&self, id: &types::SessionId) -> Result<(), Error> {
        call!(self, self.inner.request_timeout, api => api.delete_session(id))
    }

    /// One long-poll of a prefix watch: the answer once a lock under `prefix` changed past
    /// `index`, or when `wait` ends.
    pub(crate) async fn watch_prefix_once(
        &self,
        prefix: &str,
        index: u64,
        wait: Duration,
    ) -> Result<types::LockList, Error> {
        let prefix = check_prefix(prefix)?;
        let wait_secs = wait.min(MAX_WAIT).as_secs() as u32;
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        let timeout = self.inner.request_timeout + Duration::from_secs(wait_secs.into());
        call!(self, timeout, api => api.list_locks(None, None, Some(index), None, Some(&prefix), Some(&wait_secs)))
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    pub(crate) fn start_index(&self) -> usize {
        self.inner.current.load(Ordering::Relaxed)
    }

    pub(crate) fn answered(&self, i: usize) {
        self.inner.current.store(i, Ordering::Relaxed);
    }

    pub(crate) fn apis(&self) -> &[generated::Client] {
        &self.inner.apis
    }
}

/// An empty name would address the collection, not a lock: refuse it here, as the server
/// does, with `invalid_lock_name`.
fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid_lock_name("the lock name is empty"));
    }
    Ok(())
}

/// A prefix as the API takes it (up to 128 of `A-Za-z0-9.-`, possibly empty); another is
/// refused here with the server's `invalid_request`.
fn check_prefix(prefix: &str) -> Result<types::ListLocksPrefix, Error> {
    types::ListLocksPrefix::try_from(prefix)
        .map_err(|e| Error::invalid_request(&format!("the prefix {prefix:?}: {e}")))
}

/// `<host>-<pid>-<8 random hex digits>`: unique per client, readable in a holder id.
fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    // An owner is printable ASCII without spaces, up to 128 characters.
    let mut host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(96)
        .collect();
    if host.is_empty() {
        host.push_str("host");
    }
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &hex[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_owner_is_host_pid_and_8_hex_digits_and_unique() {
        let a = Client::builder("http://127.0.0.1:1").build().unwrap();
        let b = Client::builder("http://127.0.0.1:1").build().unwrap();
        let pid = format!("-{}-", std::process::id());
        assert!(a.owner().contains(&pid), "{}", a.owner());
        let hex = a.owner().rsplit('-').next().unwrap();
        assert_eq!(hex.len(), 8, "{}", a.owner());
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{}", a.owner());
        assert!(a.owner().chars().all(|c| c.is_ascii_graphic()));
        assert_ne!(a.owner(), b.owner());
        let c = Client::builder("http://127.0.0.1:1")
            .owner("worker-7")
            .build()
            .unwrap();
        assert_eq!(c.owner(), "worker-7");
    }

    #[test]
    fn defaults_are_15_s_ttl_and_10_s_requests() {
        let o = LockOptions::new();
        assert_eq!(o.ttl_secs(), 15);
        let c = Client::builder("http://127.0.0.1:1").build().unwrap();
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn an_empty_lock_name_is_invalid_without_a_request() {
        let c = Client::builder("http://127.0.0.1:1").build().unwrap();
        let e = c.try_lock("").await.unwrap_err();
        assert_eq!(e.code(), Some("invalid_lock_name"));
        assert_eq!(e.status(), Some(400));
    }

    #[tokio::test]
    async fn a_dead_url_is_named_with_its_cause() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let c = Client::builder(&format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap();
        let e = c.status("job").await.unwrap_err();
        assert!(e.is_transport());
        let m = e.to_string();
        assert!(m.contains(&format!("127.0.0.1:{port}")), "{m}");
        assert!(m.to_lowercase().contains("refused"), "{m}");
    }
}
