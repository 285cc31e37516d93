//! Runs one conformance scenario through the Rust helper. `execute_actor_op` and
//! `execute_handle_op` are the translation table: each op is one helper call, and its
//! result becomes the flat map the scenario's matchers read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use octostore::{types, Attempt, Client, Election, Leader, Lease, LockOptions, Session};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use super::matchers;
use super::server::{random_hex, Server};

/// A holder: one helper client with its identity.
#[derive(Clone)]
struct Actor {
    client: Client,
    token: Option<String>,
    token_id: Option<String>,
    account_id: Option<String>,
}

impl Actor {
    /// The owner the helper sends: the scenario's, or the client's own default.
    fn owner(&self) -> Option<String> {
        self.token_id
            .as_ref()
            .map(|_| self.client.owner().to_owned())
    }

    fn holder_id(&self) -> Option<String> {
        self.token_id
            .as_ref()
            .map(|t| format!("{t}/{}", self.client.owner()))
    }

    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("token_id".into(), json!(self.token_id));
        m.insert("account_id".into(), json!(self.account_id));
        m.insert("owner".into(), json!(self.owner()));
        m.insert("holder_id".into(), json!(self.holder_id()));
        m
    }
}

/// The native handle a step produced, for later steps.
#[derive(Clone)]
enum Handle {
    None,
    Lease(Arc<Lease>),
    Campaign(Election, Arc<Lease>),
}

/// A typed SDK error, or a client-side wait that ended (`timeout`).
#[derive(Debug)]
struct StepError {
    code: Option<String>,
    status: Option<u16>,
    message: String,
}

impl From<octostore::Error> for StepError {
    fn from(e: octostore::Error) -> Self {
        let code = match e.code() {
            Some(c) => Some(c.to_owned()),
            None if e.is_transport() => Some("transport".to_owned()),
            None => None,
        };
        StepError {
            code,
            status: e.status(),
            message: e.to_string(),
        }
    }
}

impl From<octostore::ScopedError<String>> for StepError {
    fn from(e: octostore::ScopedError<String>) -> Self {
        match e {
            octostore::ScopedError::Lock(e) | octostore::ScopedError::Release(e) => e.into(),
            other => StepError {
                code: other.code().map(str::to_owned),
                status: None,
                message: other.to_string(),
            },
        }
    }
}

fn timeout(message: String) -> StepError {
    StepError {
        code: Some("timeout".into()),
        status: None,
        message,
    }
}

/// What a step produced: a result and a handle, or an SDK error.
struct Outcome {
    result: Result<(Map<String, Value>, Handle), StepError>,
}

impl Outcome {
    fn ok(result: Map<String, Value>) -> Outcome {
        Outcome {
            result: Ok((result, Handle::None)),
        }
    }

    fn with(result: Map<String, Value>, handle: Handle) -> Outcome {
        Outcome {
            result: Ok((result, handle)),
        }
    }

    fn err(e: impl Into<StepError>) -> Outcome {
        Outcome {
            result: Err(e.into()),
        }
    }
}

/// What every op may use: the server, the actors, the sessions by save name (background
/// tasks take locks through them too), and the leases and sessions to clean up.
struct Env {
    server: Arc<Server>,
    actors: HashMap<String, Actor>,
    leases: Mutex<Vec<Arc<Lease>>>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    all_sessions: Mutex<Vec<Arc<Session>>>,
    raw: reqwest::Client,
}

impl Env {
    fn actor(&self, s: &Map<String, Value>) -> Result<&Actor, String> {
        let name = str_field(s, "actor")?;
        self.actors
            .get(name)
            .ok_or_else(|| format!("unknown actor {name}"))
    }

    fn track(&self, lease: Lease) -> Arc<Lease> {
        let lease = Arc::new(lease);
        self.leases.lock().unwrap().push(Arc::clone(&lease));
        lease
    }

    /// The saved session the step's `session` field names.
    fn session(&self, s: &Map<String, Value>) -> Result<Arc<Session>, String> {
        let name = str_field(s, "session")?;
        self.sessions
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{name} is not a saved session"))
    }

    /// The saved session of a `try_lock` or `lock` step, if it names one.
    fn session_of(&self, s: &Map<String, Value>) -> Result<Option<Arc<Session>>, String> {
        match s.get("session") {
            None => Ok(None),
            Some(_) => self.session(s).map(Some),
        }
    }
}

/// Runs `scenario` against `server`; the error names the failing step.
pub async fn run(scenario: &Value, server: Arc<Server>) -> Result<(), String> {
    let name = scenario["name"].as_str().unwrap_or("?").to_owned();
    let actors = create_actors(
        &name,
        scenario["actors"].as_object().ok_or("no actors")?,
        &server,
    )
    .await?;
    let env = Arc::new(Env {
        server,
        actors,
        leases: Mutex::new(Vec::new()),
        sessions: Mutex::new(HashMap::new()),
        all_sessions: Mutex::new(Vec::new()),
        raw: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
    });
    let mut tasks: HashMap<String, JoinHandle<Result<Outcome, String>>> = HashMap::new();
    let result = run_steps(&name, scenario, &env, &mut tasks).await;

    // Cleanup, also after a failure: tasks, leases and leaderships, sessions, clients.
    for (_, t) in tasks.drain() {
        t.abort();
        let _ = t.await;
    }
    let leases: Vec<Arc<Lease>> = env.leases.lock().unwrap().drain(..).collect();
    for l in leases {
        if l.is_held() {
            let _ = l.release().await;
        }
    }
    let sessions: Vec<Arc<Session>> = env.all_sessions.lock().unwrap().drain(..).collect();
    for session in sessions {
        let _ = session.close().await;
    }
    result
}

async fn run_steps(
    name: &str,
    scenario: &Value,
    env: &Arc<Env>,
    tasks: &mut HashMap<String, JoinHandle<Result<Outcome, String>>>,
) -> Result<(), String> {
    let steps = scenario["steps"].as_array().ok_or("no steps")?;
    let mut saved: HashMap<String, (Map<String, Value>, Handle)> = HashMap::new();
    for (i, raw) in steps.iter().enumerate() {
        let where_ = |msg: String| format!("{name}: step {i} {}: {msg}", short(raw));
        let step = resolve(raw, &env.actors, &saved).map_err(where_)?;
        let s = step
            .as_object()
            .ok_or_else(|| where_("a step is an object".into()))?;
        let op = str_field(s, "op").map_err(where_)?.to_owned();
        if let Some(task) = s.get("background") {
            let task = task
                .as_str()
                .ok_or_else(|| where_("background is a name".into()))?;
            let (env, s, op) = (Arc::clone(env), s.clone(), op.clone());
            tasks.insert(
                task.to_owned(),
                tokio::spawn(async move { execute_actor_op(&env, &op, &s).await }),
            );
            continue;
        }
        let outcome = if op == "await" {
            let task = str_field(s, "task").map_err(where_)?;
            let mut handle = tasks
                .remove(task)
                .ok_or_else(|| where_(format!("no background task {task}")))?;
            let ms = num_field(s, "timeout_ms").map_err(where_)?;
            match tokio::time::timeout(Duration::from_millis(ms), &mut handle).await {
                Err(_) => {
                    handle.abort();
                    return Err(where_("task still running at the deadline".into()));
                }
                Ok(Err(join)) => return Err(where_(format!("task failed: {join}"))),
                Ok(Ok(o)) => o.map_err(where_)?,
            }
        } else if let Some(o) = execute_handle_op(&op, s, &saved).await.map_err(where_)? {
            o
        } else {
            execute_actor_op(env, &op, s).await.map_err(where_)?
        };
        let (result, handle) = check(s, outcome).map_err(where_)?;
        if let Some(save) = s.get("save").and_then(Value::as_str) {
            saved.insert(save.to_owned(), (result, handle));
        }
    }
    Ok(())
}

/// Holds the step's expectations against what it produced.
fn check(s: &Map<String, Value>, outcome: Outcome) -> Result<(Map<String, Value>, Handle), String> {
    match (outcome.result, s.get("expect_error")) {
        (Err(e), Some(want)) => {
            let code_ok = want.get("code").and_then(Value::as_str) == e.code.as_deref();
            let status_ok = match want.get("status") {
                Some(st) => st.as_u64() == e.status.map(u64::from),
                None => true,
            };
            let message_ok = match want.get("message_matches").and_then(Value::as_str) {
                Some(re) => regex::Regex::new(re)
                    .map_err(|err| format!("message_matches {re}: {err}"))?
                    .is_match(&e.message),
                None => true,
            };
            if code_ok && status_ok && message_ok {
                Ok((Map::new(), Handle::None))
            } else {
                Err(format!(
                    "error code={:?} status={:?} message {:?}, want {want}",
                    e.code, e.status, e.message
                ))
            }
        }
        (Err(e), None) => Err(format!("failed: {}", e.message)),
        (Ok((result, _)), Some(want)) => Err(format!(
            "succeeded, want error {want}; result {}",
            Value::Object(result)
        )),
        (Ok((result, handle)), None) => {
            if let Some(expect) = s.get("expect").and_then(Value::as_object) {
                matchers::check(&result, expect)
                    .map_err(|m| format!("{m}; result {}", Value::Object(result.clone())))?;
            }
            Ok((result, handle))
        }
    }
}

/// Ops on a saved handle; `None` for ops that are not.
async fn execute_handle_op(
    op: &str,
    s: &Map<String, Value>,
    saved: &HashMap<String, (Map<String, Value>, Handle)>,
) -> Result<Option<Outcome>, String> {
    let lease = || -> Result<Arc<Lease>, String> {
        let name = str_field(s, "lease")?;
        match saved.get(name) {
            Some((_, Handle::Lease(l))) | Some((_, Handle::Campaign(_, l))) => Ok(Arc::clone(l)),
            _ => Err(format!("{name} is not a saved lease")),
        }
    };
    Ok(Some(match op {
        "renew" => {
            let l = lease()?;
            let renewed = match s.get("ttl") {
                Some(_) => l.renew_for(Duration::from_secs(num_field(s, "ttl")?)).await,
                None => l.renew().await,
            };
            match renewed {
                Ok(expires) => {
                    let mut r = lease_fields(&l);
                    r.insert("expires_at".into(), time(expires));
                    r.insert(
                        "renew_after_ms".into(),
                        json!(l.renew_after().map(|d| d.as_millis() as u64)),
                    );
                    Outcome::ok(r)
                }
                Err(e) => Outcome::err(e),
            }
        }
        "release" => {
            let l = lease()?;
            match l.release().await {
                Ok(()) => {
                    let mut r = Map::new();
                    r.insert("lease_id".into(), json!(l.lease_id().to_string()));
                    r.insert("fencing_token".into(), json!(l.fencing_token()));
                    Outcome::ok(r)
                }
                Err(e) => Outcome::err(e),
            }
        }
        "lease_state" => {
            let l = lease()?;
            let mut r = lease_fields(&l);
            r.insert("lost".into(), json!(l.loss_reason().is_some()));
            Outcome::ok(r)
        }
        // A session's loss signal is an actor op: sessions live in the Env.
        "wait_lost" if s.contains_key("session") => return Ok(None),
        "wait_lost" => {
            let l = lease()?;
            let ms = num_field(s, "timeout_ms")?;
            match tokio::time::timeout(Duration::from_millis(ms), l.lost()).await {
                Ok(_) => Outcome::ok(obj(json!({"lost": true}))),
                Err(_) => Outcome::err(timeout(format!("lease not lost within {ms} ms"))),
            }
        }
        "close" => {
            // Rust's end of scope is drop; Lease::close is what drop does, callable on a
            // lease the runner still shares.
            let l = lease()?;
            let ms = num_field(s, "timeout_ms")?;
            let closing = tokio::task::spawn_blocking(move || l.close());
            match tokio::time::timeout(Duration::from_millis(ms), closing).await {
                Ok(Ok(())) => Outcome::ok(Map::new()),
                Ok(Err(join)) => return Err(format!("close panicked: {join}")),
                Err(_) => Outcome::err(timeout(format!("close did not return within {ms} ms"))),
            }
        }
        "resign" => {
            let name = str_field(s, "campaign")?;
            let Some((_, Handle::Campaign(election, l))) = saved.get(name) else {
                return Err(format!("{name} is not a saved campaign"));
            };
            match election.resign(l).await {
                Ok(()) => Outcome::ok(Map::new()),
                Err(e) => Outcome::err(e),
            }
        }
        _ => return Ok(None),
    }))
}

/// Ops on an actor's client; these may also run in the background.
async fn execute_actor_op(env: &Env, op: &str, s: &Map<String, Value>) -> Result<Outcome, String> {
    Ok(match op {
        "try_lock" => {
            let a = env.actor(s)?;
            match try_acquire(env, a, s).await? {
                Ok(Attempt::Acquired(l)) => {
                    let l = env.track(l);
                    let mut r = grant(&l);
                    let holder = l.holder_id().map(str::to_owned).or_else(|| a.holder_id());
                    r.insert("holder_id".into(), json!(holder));
                    Outcome::with(r, Handle::Lease(l))
                }
                Ok(Attempt::Held(h)) => {
                    let mut r = Map::new();
                    r.insert("acquired".into(), json!(false));
                    r.insert("holder_id".into(), json!(h.holder_id));
                    r.insert("expires_at".into(), time(h.expires_at));
                    r.insert(
                        "retry_after_ms".into(),
                        json!(h.retry_after.map(|d| d.as_millis() as u64)),
                    );
                    r.insert(
                        "available_at".into(),
                        h.available_at.map_or(Value::Null, time),
                    );
                    Outcome::ok(r)
                }
                Err(e) => Outcome::err(e),
            }
        }
        "lock" => {
            let a = env.actor(s)?;
            match acquire(env, a, s).await? {
                Ok(l) => {
                    let l = env.track(l);
                    Outcome::with(grant(&l), Handle::Lease(l))
                }
                Err(e) => Outcome::err(e),
            }
        }
        "status" => match env.actor(s)?.client.status(str_field(s, "lock")?).await {
            Ok(st) => Outcome::ok(status(&st)),
            Err(e) => Outcome::err(e),
        },
        "wait_until" => {
            let a = env.actor(s)?;
            let until = s
                .get("until")
                .and_then(Value::as_object)
                .ok_or("until is an object")?;
            let ms = num_field(s, "timeout_ms")?;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
            loop {
                let last = match a.client.status(str_field(s, "lock")?).await {
                    Ok(st) => status(&st),
                    Err(e) => return Ok(Outcome::err(e)),
                };
                if matchers::check(&last, until).is_ok() {
                    break Outcome::ok(last);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "wait_until {} not reached within {ms} ms; last status {}",
                        Value::Object(until.clone()),
                        Value::Object(last)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "watch" => {
            let a = env.actor(s)?;
            let index = s
                .get("index")
                .and_then(Value::as_u64)
                .ok_or("index is an integer")?;
            let wait = Duration::from_secs(num_field(s, "wait")?);
            match a.client.watch(str_field(s, "lock")?, index, wait).await {
                Ok(st) => Outcome::ok(status(&st)),
                Err(e) => Outcome::err(e),
            }
        }
        "list" => match env.actor(s)?.client.list().await {
            Ok(locks) => {
                let names: Vec<Value> = locks.iter().map(|l| json!(l.name)).collect();
                Outcome::ok(obj(json!({"count": names.len(), "names": names})))
            }
            Err(e) => Outcome::err(e),
        },
        "campaign" => {
            let a = env.actor(s)?;
            let election = a.client.election(str_field(s, "election")?);
            let o = LockOptions::new()
                .ttl(Duration::from_secs(num_field(s, "ttl")?))
                .max_wait(Duration::from_secs(num_field(s, "wait")?));
            match election.campaign_with(str_field(s, "value")?, o).await {
                Ok(l) => {
                    let l = env.track(l);
                    let mut r = lease_fields(&l);
                    r.insert("value".into(), json!(l.metadata()));
                    Outcome::with(r, Handle::Campaign(election, l))
                }
                Err(e) => Outcome::err(e),
            }
        }
        "leader" => match env
            .actor(s)?
            .client
            .election(str_field(s, "election")?)
            .leader()
            .await
        {
            Ok(l) => Outcome::ok(leader(l.as_ref())),
            Err(e) => Outcome::err(e),
        },
        "observe" => {
            let a = env.actor(s)?;
            let want = s
                .get("until_value")
                .ok_or("until_value is required")?
                .as_str()
                .map(str::to_owned);
            let ms = num_field(s, "timeout_ms")?;
            let mut observer = a.client.election(str_field(s, "election")?).observe();
            let follow = async {
                loop {
                    let l = observer.next().await?;
                    let value = l.as_ref().and_then(|l| l.value.clone());
                    let matched = match &want {
                        None => l.is_none(),
                        Some(w) => l.is_some() && value.as_deref() == Some(w.as_str()),
                    };
                    if matched {
                        return Ok::<_, octostore::Error>(l);
                    }
                }
            };
            match tokio::time::timeout(Duration::from_millis(ms), follow).await {
                Err(_) => Outcome::err(timeout(format!(
                    "no leader with value {want:?} within {ms} ms"
                ))),
                Ok(Err(e)) => Outcome::err(e),
                Ok(Ok(l)) => Outcome::ok(leader(l.as_ref())),
            }
        }
        "session_open" => {
            let a = env.actor(s)?;
            match a
                .client
                .session_with_ttl(Duration::from_secs(num_field(s, "ttl")?))
                .await
            {
                Ok(session) => {
                    let session = Arc::new(session);
                    env.all_sessions.lock().unwrap().push(Arc::clone(&session));
                    if let Some(save) = s.get("save").and_then(Value::as_str) {
                        env.sessions
                            .lock()
                            .unwrap()
                            .insert(save.to_owned(), Arc::clone(&session));
                    }
                    let mut r = Map::new();
                    r.insert("session_id".into(), json!(session.id()));
                    r.insert("expires_at".into(), time(session.expires_at()));
                    Outcome::ok(r)
                }
                Err(e) => Outcome::err(e),
            }
        }
        "session_state" => {
            let session = env.session(s)?;
            let mut r = Map::new();
            r.insert("lost".into(), json!(session.loss_reason().is_some()));
            r.insert("session_id".into(), json!(session.id()));
            Outcome::ok(r)
        }
        "session_close" => match env.session(s)?.close().await {
            Ok(()) => Outcome::ok(Map::new()),
            Err(e) => Outcome::err(e),
        },
        "session_orphan" => {
            env.session(s)?.orphan();
            Outcome::ok(Map::new())
        }
        "wait_lost" => {
            let session = env.session(s)?;
            let ms = num_field(s, "timeout_ms")?;
            match tokio::time::timeout(Duration::from_millis(ms), session.lost()).await {
                Ok(_) => Outcome::ok(obj(json!({"lost": true}))),
                Err(_) => Outcome::err(timeout(format!("session not lost within {ms} ms"))),
            }
        }
        "prefix_index" => {
            let a = env.actor(s)?;
            match a.client.prefix_index(str_field(s, "prefix")?).await {
                Ok(index) => Outcome::ok(obj(json!({ "index": index }))),
                Err(e) => Outcome::err(e),
            }
        }
        "watch_prefix" => {
            let a = env.actor(s)?;
            let index = s
                .get("index")
                .and_then(Value::as_u64)
                .ok_or("index is an integer")?;
            let wait = Duration::from_secs(num_field(s, "wait")?);
            let mut watch = a.client.watch_prefix(str_field(s, "prefix")?, index);
            match tokio::time::timeout(wait, watch.next()).await {
                Err(_) => Outcome::ok(obj(
                    json!({"index": index, "changes": [], "count": 0, "complete": true}),
                )),
                Ok(Err(e)) => Outcome::err(e),
                Ok(Ok(answer)) => {
                    let changes: Vec<Value> = answer
                        .changes
                        .iter()
                        .map(|st| json!(format!("{}:{}", st.name, st.status)))
                        .collect();
                    Outcome::ok(obj(json!({
                        "index": answer.index,
                        "count": changes.len(),
                        "changes": changes,
                        "complete": answer.complete,
                    })))
                }
            }
        }
        "raw" => Outcome::ok(raw(env, s).await?),
        "with_lock" => with_lock(env, s).await?,
        "server_pause" => {
            env.server.signal(libc::SIGSTOP)?;
            Outcome::ok(Map::new())
        }
        "server_resume" => {
            env.server.signal(libc::SIGCONT)?;
            Outcome::ok(Map::new())
        }
        other => return Err(format!("the Rust runner does not know op {other}")),
    })
}

/// The scoped form: `Client::with_lock` around a block doing what `body` says.
async fn with_lock(env: &Env, s: &Map<String, Value>) -> Result<Outcome, String> {
    let a = env.actor(s)?;
    let body = str_field(s, "body")?.to_owned();
    let name = str_field(s, "lock")?.to_owned();
    let wait = s.get("wait").and_then(Value::as_u64).unwrap_or(0);
    let o = lock_options(s)?.max_wait(Duration::from_secs(wait));
    let token = a.token.clone();
    let url = env.server.base_url().to_owned();
    let raw = env.raw.clone();
    let path_name = name.clone();
    let result = a
        .client
        .with_lock(&name, o, |lease| async move {
            let mut r = Map::new();
            r.insert("ran".into(), json!(true));
            r.insert("lease_id".into(), json!(lease.lease_id().to_string()));
            r.insert("fencing_token".into(), json!(lease.fencing_token()));
            let release_behind = || async {
                let mut req = raw
                    .post(format!("{url}/locks/{path_name}/release"))
                    .json(&json!({"lease_id": lease.lease_id().to_string()}));
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                match req.send().await {
                    Ok(resp) if resp.status().is_success() => Ok(()),
                    Ok(resp) => Err(format!("release behind: HTTP {}", resp.status())),
                    Err(e) => Err(format!("release behind: {e}")),
                }
            };
            match body.as_str() {
                "return" => Ok(r),
                "raise" => Err("user error raised by the block".to_owned()),
                "release_behind_then_raise" => {
                    release_behind().await?;
                    Err("user error raised by the block".to_owned())
                }
                "release_behind_then_wait_lost" => {
                    release_behind().await?;
                    match tokio::time::timeout(Duration::from_secs(10), lease.lost()).await {
                        Ok(_) => Ok(r),
                        Err(_) => Err("no loss signal within 10 s".to_owned()),
                    }
                }
                other => Err(format!("unknown with_lock body {other}")),
            }
        })
        .await;
    Ok(match result {
        Ok(r) => Outcome::ok(r),
        Err(e) => Outcome::err(e),
    })
}

/// `try_lock`: `Client::try_lock_with`, or `try_semaphore_with` with `max_holders`; with
/// `session`, the same forms of that saved session.
async fn try_acquire(
    env: &Env,
    a: &Actor,
    s: &Map<String, Value>,
) -> Result<Result<Attempt, octostore::Error>, String> {
    let name = str_field(s, "lock")?;
    let o = lock_options(s)?;
    Ok(match (env.session_of(s)?, max_holders(s)?) {
        (Some(session), Some(n)) => session.try_semaphore_with(name, n, o).await,
        (Some(session), None) => session.try_lock_with(name, o).await,
        (None, Some(n)) => a.client.try_semaphore_with(name, n, o).await,
        (None, None) => a.client.try_lock_with(name, o).await,
    })
}

/// `lock`: `Client::lock_with` waiting at most `wait`, or `semaphore_with` with
/// `max_holders`; with `session`, the same forms of that saved session.
async fn acquire(
    env: &Env,
    a: &Actor,
    s: &Map<String, Value>,
) -> Result<Result<Lease, octostore::Error>, String> {
    let name = str_field(s, "lock")?;
    let o = lock_options(s)?.max_wait(Duration::from_secs(num_field(s, "wait")?));
    Ok(match (env.session_of(s)?, max_holders(s)?) {
        (Some(session), Some(n)) => session.semaphore_with(name, n, o).await,
        (Some(session), None) => session.lock_with(name, o).await,
        (None, Some(n)) => a.client.semaphore_with(name, n, o).await,
        (None, None) => a.client.lock_with(name, o).await,
    })
}

fn max_holders(s: &Map<String, Value>) -> Result<Option<u32>, String> {
    match s.get("max_holders") {
        None => Ok(None),
        Some(_) => Ok(Some(
            u32::try_from(num_field(s, "max_holders")?).map_err(|e| e.to_string())?,
        )),
    }
}

fn lock_options(s: &Map<String, Value>) -> Result<LockOptions, String> {
    let mut o = LockOptions::new().ttl(Duration::from_secs(num_field(s, "ttl")?));
    if let Some(m) = s.get("metadata") {
        o = o.metadata(m.as_str().ok_or("metadata is a string")?);
    }
    if let Some(r) = s.get("auto_renew") {
        o = o.auto_renew(r.as_bool().ok_or("auto_renew is a boolean")?);
    }
    if s.contains_key("lock_delay") {
        o = o.lock_delay(Duration::from_secs(num_field(s, "lock_delay")?));
    }
    Ok(o)
}

fn lease_fields(l: &Lease) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("lease_id".into(), json!(l.lease_id().to_string()));
    r.insert("fencing_token".into(), json!(l.fencing_token()));
    r.insert("expires_at".into(), time(l.expires_at()));
    r
}

fn grant(l: &Lease) -> Map<String, Value> {
    let mut r = lease_fields(l);
    r.insert("acquired".into(), json!(true));
    r.insert(
        "renew_after_ms".into(),
        json!(l.renew_after().map(|d| d.as_millis() as u64)),
    );
    r
}

fn status(st: &types::LockStatus) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("name".into(), json!(st.name));
    r.insert("status".into(), json!(st.status.to_string()));
    r.insert("revision".into(), json!(st.revision.0));
    r.insert(
        "holder_id".into(),
        json!(st.holder_id.as_ref().and_then(|h| h.0.clone())),
    );
    r.insert(
        "fencing_token".into(),
        json!(st.fencing_token.as_ref().map(|t| t.0.get())),
    );
    r.insert(
        "expires_at".into(),
        st.expires_at.as_ref().map_or(Value::Null, |t| time(t.0)),
    );
    r.insert("metadata".into(), json!(st.metadata));
    r.insert(
        "max_holders".into(),
        json!(st.max_holders.as_ref().map(|n| n.0.get())),
    );
    r.insert("holder_count".into(), json!(st.holders.len()));
    r.insert(
        "available_at".into(),
        st.available_at.as_ref().map_or(Value::Null, |t| time(t.0)),
    );
    r
}

fn leader(l: Option<&Leader>) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("elected".into(), json!(l.is_some()));
    r.insert("value".into(), json!(l.and_then(|l| l.value.clone())));
    r.insert("holder_id".into(), json!(l.map(|l| l.holder_id.clone())));
    r.insert("fencing_token".into(), json!(l.map(|l| l.fencing_token)));
    r.insert("revision".into(), json!(l.map(|l| l.revision)));
    r
}

async fn raw(env: &Env, s: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let method = reqwest::Method::from_bytes(str_field(s, "method")?.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut url = format!("{}{}", env.server.base_url(), str_field(s, "path")?);
    if let Some(q) = s.get("query").and_then(Value::as_object) {
        let pairs: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        url.push('?');
        url.push_str(&serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?);
    }
    let mut req = env.raw.request(method, url);
    let body = match (s.get("body"), s.get("body_text")) {
        (Some(b), _) => Some(b.to_string()),
        (None, Some(t)) => Some(t.as_str().ok_or("body_text is a string")?.to_owned()),
        (None, None) => None,
    };
    if let Some(body) = body {
        let ct = s
            .get("content_type")
            .and_then(Value::as_str)
            .unwrap_or("application/json");
        req = req.header("Content-Type", ct).body(body);
    }
    if s.contains_key("actor") {
        if let Some(token) = &env.actor(s)?.token {
            req = req.bearer_auth(token);
        }
    }
    let resp = req.send().await.map_err(|e| format!("raw request: {e}"))?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let media =
        header("content-type").map(|ct| ct.split(';').next().unwrap_or("").trim().to_owned());
    let (www, rid, code) = (
        header("www-authenticate"),
        header("x-request-id"),
        resp.status().as_u16(),
    );
    let text = resp.text().await.map_err(|e| format!("raw body: {e}"))?;
    let mut r = Map::new();
    if media
        .as_deref()
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
    {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
            r.extend(m);
        }
    }
    r.insert("http_status".into(), json!(code));
    r.insert("content_type".into(), json!(media));
    r.insert("www_authenticate".into(), json!(www));
    r.insert("x_request_id".into(), json!(rid));
    Ok(r)
}

async fn create_actors(
    name: &str,
    defs: &Map<String, Value>,
    server: &Server,
) -> Result<HashMap<String, Actor>, String> {
    let mut actors: HashMap<String, Actor> = HashMap::new();
    let mut accounts: HashMap<String, types::AccountId> = HashMap::new();
    for (label, def) in defs {
        let owner = def.get("owner").and_then(Value::as_str).map(str::to_owned);
        let (token, token_id, account_id) =
            if let Some(acc) = def.get("account").and_then(Value::as_str) {
                let (token, token_id, account_id) = match accounts.get(acc) {
                    Some(id) => {
                        let t = server.create_token(id).await?;
                        (t.token, t.token_id, t.account_id)
                    }
                    None => {
                        let a = server
                            .create_account(&format!("{acc}-{}", random_hex(12)))
                            .await?;
                        accounts.insert(acc.to_owned(), a.account_id.clone());
                        (a.token, a.token_id, a.account_id)
                    }
                };
                (
                    Some(token),
                    Some(token_id.to_string()),
                    Some(account_id.to_string()),
                )
            } else if let Some(other) = def.get("same_token_as").and_then(Value::as_str) {
                let o = actors.get(other).ok_or_else(|| {
                    format!("{name}: actor {label} refers to unknown actor {other}")
                })?;
                (o.token.clone(), o.token_id.clone(), o.account_id.clone())
            } else if let Some(t) = def.get("token").and_then(Value::as_str) {
                (Some(t.to_owned()), None, None)
            } else if def.get("anonymous") == Some(&Value::Bool(true)) {
                (None, None, None)
            } else {
                return Err(format!("{name}: actor {label} has no identity: {def}"));
            };
        let mut b = match def.get("urls").and_then(Value::as_str) {
            None => Client::builder(server.base_url()),
            Some("dead_first") => {
                Client::builder(&dead_url()?).fallback_url(server.base_url().to_owned())
            }
            Some("dead_only") => Client::builder(&dead_url()?),
            Some(other) => return Err(format!("{name}: actor {label}: unknown urls {other}")),
        };
        if let Some(t) = &token {
            b = b.token(t);
        }
        if let Some(o) = &owner {
            b = b.owner(o);
        }
        let client = b.build().map_err(|e| e.to_string())?;
        actors.insert(
            label.clone(),
            Actor {
                client,
                token,
                token_id,
                account_id,
            },
        );
    }
    Ok(actors)
}

/// A base URL nobody listens on: a port bound on loopback and closed again.
fn dead_url() -> Result<String, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    drop(l);
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Replaces `${x.f}` references; an exact reference keeps the value's type.
fn resolve(
    v: &Value,
    actors: &HashMap<String, Actor>,
    saved: &HashMap<String, (Map<String, Value>, Handle)>,
) -> Result<Value, String> {
    let re = reference_pattern();
    Ok(match v {
        Value::String(s) => {
            if let Some(c) = re.captures(s) {
                if c.get(0).map(|m| m.as_str().len()) == Some(s.len()) {
                    return lookup(&c[1], &c[2], actors, saved);
                }
            }
            let mut err = None;
            let out = re.replace_all(s, |c: &regex::Captures| {
                match lookup(&c[1], &c[2], actors, saved) {
                    Ok(Value::String(x)) => x,
                    Ok(x) => x.to_string(),
                    Err(e) => {
                        err = Some(e);
                        String::new()
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            Value::String(out.into_owned())
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve(x, actors, saved))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x, actors, saved)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn reference_pattern() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}").expect("pattern"))
}

fn lookup(
    x: &str,
    f: &str,
    actors: &HashMap<String, Actor>,
    saved: &HashMap<String, (Map<String, Value>, Handle)>,
) -> Result<Value, String> {
    let fields = match (actors.get(x), saved.get(x)) {
        (Some(a), _) => a.fields(),
        (None, Some((r, _))) => r.clone(),
        _ => return Err(format!("unknown reference ${{{x}.{f}}}")),
    };
    fields.get(f).cloned().ok_or_else(|| {
        format!(
            "unknown reference ${{{x}.{f}}}: {x} has {:?}",
            fields.keys().collect::<Vec<_>>()
        )
    })
}

fn str_field<'a>(s: &'a Map<String, Value>, k: &str) -> Result<&'a str, String> {
    s.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{k} is a string"))
}

fn num_field(s: &Map<String, Value>, k: &str) -> Result<u64, String> {
    s.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{k} is a non-negative integer"))
}

fn time(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn short(step: &Value) -> String {
    let mut t = step.to_string();
    if t.len() > 600 {
        let mut cut = 600;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        t.push('…');
    }
    t
}
