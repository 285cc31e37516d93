//! The client: lock, try_lock, status, watch, list, election.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use tokio::time::Instant;

use crate::election::Election;
use crate::generated::{self, types};
use crate::lease::Lease;
use crate::Error;

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
    api: generated::Client,
    owner: Option<String>,
    request_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field(
                "base_url",
                &progenitor_client::ClientInfo::baseurl(&self.inner.api),
            )
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    owner: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl ClientBuilder {
    /// The bearer token (an account token, `oct_…`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The holder name sent with every acquire, for processes sharing one token (a host or
    /// pod name): printable ASCII without spaces, up to 128 characters.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for an answer (default 30 s); requests the server holds open
    /// (blocking acquire, watch) get their wait on top.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
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
        let base = self.base_url.trim_end_matches('/');
        Ok(Client {
            inner: Arc::new(Inner {
                api: generated::Client::new_with_client(base, http),
                owner: self.owner,
                request_timeout: self.request_timeout,
            }),
        })
    }
}

/// How to take a lock: the lease's TTL, how long to wait in line, a metadata value to
/// publish with it, and whether to renew it in the background.
#[derive(Clone, Debug)]
pub struct LockOptions {
    ttl: Duration,
    max_wait: Option<Duration>,
    metadata: Option<String>,
    owner: Option<String>,
    auto_renew: bool,
}

impl Default for LockOptions {
    /// A 30-second lease, waiting without limit, renewed in the background.
    fn default() -> Self {
        LockOptions {
            ttl: Duration::from_secs(30),
            max_wait: None,
            metadata: None,
            owner: None,
            auto_renew: true,
        }
    }
}

impl LockOptions {
    /// The defaults: a 30-second lease, waiting without limit, renewed in the background.
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

    pub(crate) fn ttl_secs(&self) -> u32 {
        u32::try_from(self.ttl.as_secs()).unwrap_or(u32::MAX)
    }

    pub(crate) fn metadata_value(&self) -> Option<&str> {
        self.metadata.as_deref()
    }

    pub(crate) fn renews(&self) -> bool {
        self.auto_renew
    }
}

/// The outcome of [`Client::try_lock`]: the lease, or who holds the lock.
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

/// Who holds a lock that was not granted, and until when.
#[derive(Clone, Debug)]
pub struct Held {
    /// The holder's id: its token id, then `/owner` if it sent one.
    pub holder_id: String,
    /// When the holder's lease ends unless renewed.
    pub expires_at: DateTime<Utc>,
    /// When trying again is worthwhile, when the server said.
    pub retry_after: Option<Duration>,
}

impl Client {
    /// A client for the server at `base_url` that sends `token` as its bearer token.
    pub fn new(base_url: &str, token: &str) -> Result<Client, Error> {
        Client::builder(base_url).token(token).build()
    }

    /// A client configured from the environment: `OCTOSTORE_URL` (default
    /// `http://127.0.0.1:3000`) and `OCTOSTORE_TOKEN`.
    pub fn from_env() -> Result<Client, Error> {
        let url = std::env::var("OCTOSTORE_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
        let mut b = Client::builder(&url);
        if let Ok(token) = std::env::var("OCTOSTORE_TOKEN") {
            b = b.token(token);
        }
        b.build()
    }

    /// Starts configuring a client for the server at `base_url`.
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            token: None,
            owner: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The generated API, for calls the helpers do not cover.
    pub fn api(&self) -> &generated::Client {
        &self.inner.api
    }

    /// Takes the lock, waiting in line as long as it takes, as a 30-second lease renewed in
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
                return Lease::granted(self.clone(), name, r, &options, sent);
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::Timeout {
                    holder_id: r.holder_id.map(|h| h.0),
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

    /// Takes the lock if it is free, asking once, as a 30-second lease renewed in the
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
            )?));
        }
        Ok(Attempt::Held(Held {
            holder_id: r.holder_id.map(|h| h.0).unwrap_or_default(),
            expires_at: r.expires_at.0,
            retry_after: r
                .retry_after_ms
                .map(|ms| Duration::from_millis(ms.0.max(0) as u64)),
        }))
    }

    /// The lock's state: `held` (holder, fencing token, expiry, metadata) or `free`.
    pub async fn status(&self, name: &str) -> Result<types::LockStatus, Error> {
        let name = name.to_owned();
        self.call(
            self.inner.request_timeout,
            self.inner.api.get_lock(&name, None, None),
        )
        .await
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
        let name = name.to_owned();
        let wait_secs = wait.min(MAX_WAIT).as_secs() as u32;
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        let timeout = self.inner.request_timeout + Duration::from_secs(wait_secs.into());
        self.call(
            timeout,
            self.inner
                .api
                .get_lock(&name, Some(index), Some(&wait_secs)),
        )
        .await
    }

    /// The account's active locks, ordered by name.
    pub async fn list(&self) -> Result<Vec<types::LockStatus>, Error> {
        let list = self
            .call(self.inner.request_timeout, self.inner.api.list_locks())
            .await?;
        Ok(list.locks)
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
        let body = types::AcquireRequest {
            ttl_seconds: options.ttl_secs(),
            owner: options.owner.clone().or_else(|| self.inner.owner.clone()),
            metadata: options.metadata.clone(),
            wait_seconds: (wait_secs > 0).then_some(wait_secs),
        };
        let name = name.to_owned();
        let timeout = self.inner.request_timeout + Duration::from_secs(wait_secs.into());
        self.call(timeout, self.inner.api.acquire_lock(&name, &body))
            .await
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
        self.call(
            self.inner.request_timeout,
            self.inner.api.renew_lock(&name, &body),
        )
        .await
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
        self.call(
            self.inner.request_timeout,
            self.inner.api.release_lock(&name, &body),
        )
        .await
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    /// Runs one generated call with a deadline and translates its error.
    async fn call<T>(
        &self,
        timeout: Duration,
        fut: impl Future<
            Output = Result<
                progenitor_client::ResponseValue<T>,
                progenitor_client::Error<progenitor_client::ByteStream>,
            >,
        >,
    ) -> Result<T, Error> {
        match tokio::time::timeout(timeout, fut).await {
            Err(_) => Err(Error::transport(format!("no answer within {timeout:?}"))),
            Ok(Ok(v)) => Ok(v.into_inner()),
            Ok(Err(e)) => Err(Error::from_api(e).await),
        }
    }
}
