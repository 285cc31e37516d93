//! The helper's reactions to each kind of answer, against a scripted HTTP server on
//! loopback, and against a real octostore-lock (OCTOSTORE_BIN) for what the conformance
//! suite cannot show.

mod support {
    pub mod server;
}

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octostore::{Attempt, Client, Error, LockOptions, LossReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const LEASE_ID: &str = "6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70";

#[derive(Clone)]
struct Reply(u16, String);

#[derive(Default)]
struct Script {
    acquire: VecDeque<Reply>,
    renew: VecDeque<Reply>,
    renew_default: Option<Reply>,
    acquire_bodies: Vec<String>,
    renews: usize,
    releases: usize,
    /// `POST /sessions`: a session of 1 s renewed every 50 ms unless scripted.
    session_create: VecDeque<Reply>,
    /// `POST /sessions/{id}/renew`, then `session_renew_default`.
    session_renew: VecDeque<Reply>,
    session_renew_default: Option<Reply>,
    session_renews: usize,
    session_deletes: usize,
    /// `GET /locks…`: the replies in order, and the request targets (path and query).
    list: VecDeque<Reply>,
    list_targets: Vec<String>,
}

const SESSION_ID: &str = "ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4";

fn session_result(ttl_seconds: u64, renew_after_ms: u64) -> Reply {
    let expires = (chrono::Utc::now() + chrono::Duration::seconds(ttl_seconds as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Reply(
        200,
        format!(
            r#"{{"session_id":"{SESSION_ID}","ttl_seconds":{ttl_seconds},"expires_at":"{expires}","renew_after_ms":{renew_after_ms}}}"#
        ),
    )
}

fn expires() -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn acquired(renew_after_ms: u64) -> Reply {
    Reply(
        200,
        format!(
            r#"{{"status":"acquired","lease_id":"{LEASE_ID}","fencing_token":7,"expires_at":"{}","renew_after_ms":{renew_after_ms}}}"#,
            expires()
        ),
    )
}

fn held(retry_after_ms: u64) -> Reply {
    Reply(
        200,
        format!(
            r#"{{"status":"held","holder_id":"tok_other","expires_at":"{}","retry_after_ms":{retry_after_ms}}}"#,
            expires()
        ),
    )
}

fn renewed(renew_after_ms: u64) -> Reply {
    Reply(
        200,
        format!(
            r#"{{"status":"renewed","lease_id":"{LEASE_ID}","fencing_token":7,"expires_at":"{}","renew_after_ms":{renew_after_ms}}}"#,
            expires()
        ),
    )
}

fn problem(status: u16, code: &str) -> Reply {
    Reply(
        status,
        format!(
            r#"{{"type":"urn:octostore:problem:{code}","title":"t","status":{status},"code":"{code}","request_id":"r"}}"#
        ),
    )
}

/// Serves the script on 127.0.0.1, one request per connection.
async fn scripted(script: Arc<Mutex<Script>>) -> Client {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let script = Arc::clone(&script);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_len, content_length) = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap_or(0));
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_len + content_length {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
                let body =
                    String::from_utf8_lossy(&buf[head_len..head_len + content_length]).into_owned();
                let method = head.split_whitespace().next().unwrap_or("").to_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let Reply(status, text) = {
                    let mut s = script.lock().unwrap();
                    if path == "/sessions" {
                        s.session_create
                            .pop_front()
                            .map(|Reply(_, body)| Reply(201, body))
                            .unwrap_or_else(|| Reply(201, session_result(1, 50).1))
                    } else if path.starts_with("/sessions/") && path.ends_with("/renew") {
                        s.session_renews += 1;
                        let d = s
                            .session_renew_default
                            .clone()
                            .unwrap_or_else(|| session_result(1, 50));
                        s.session_renew.pop_front().unwrap_or(d)
                    } else if path.starts_with("/sessions/") && method == "DELETE" {
                        s.session_deletes += 1;
                        Reply(204, String::new())
                    } else if path.starts_with("/locks?") {
                        s.list_targets.push(path.clone());
                        s.list
                            .pop_front()
                            .unwrap_or_else(|| problem(503, "unavailable"))
                    } else if path.ends_with("/acquire") {
                        s.acquire_bodies.push(body);
                        s.acquire.pop_front().unwrap_or_else(|| acquired(3_600_000))
                    } else if path.ends_with("/renew") {
                        s.renews += 1;
                        let d = s
                            .renew_default
                            .clone()
                            .unwrap_or_else(|| renewed(3_600_000));
                        s.renew.pop_front().unwrap_or(d)
                    } else if path.ends_with("/release") {
                        s.releases += 1;
                        Reply(
                            200,
                            format!(
                                r#"{{"status":"released","lease_id":"{LEASE_ID}","fencing_token":7}}"#
                            ),
                        )
                    } else {
                        problem(404, "not_found")
                    }
                };
                let ct = if status < 300 {
                    "application/json"
                } else {
                    "application/problem+json"
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    Client::new(&format!("http://{addr}"), "oct_test").unwrap()
}

/// Polls `done` every 10 ms for up to 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within 10 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_transient_renewal_failure_is_retried_and_the_lease_kept() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.acquire.push_back(acquired(50));
        s.renew.push_back(problem(503, "unavailable"));
        s.renew.push_back(renewed(3_600_000));
    }
    let client = scripted(Arc::clone(&script)).await;
    let lease = client.try_lock("job").await.unwrap().lease().unwrap();
    eventually("the retried renewal applied", || {
        lease.renew_after() == Some(Duration::from_secs(3600))
    })
    .await;
    assert_eq!(script.lock().unwrap().renews, 2);
    assert!(lease.is_held());
    assert_eq!(lease.loss_reason(), None);
    lease.release().await.unwrap();
    assert_eq!(script.lock().unwrap().releases, 1);
    assert!(!lease.is_held());
}

#[tokio::test]
async fn lease_not_current_is_a_loss() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.acquire.push_back(acquired(50));
        s.renew_default = Some(problem(409, "lease_not_current"));
    }
    let client = scripted(Arc::clone(&script)).await;
    let lease = client.try_lock("job").await.unwrap().lease().unwrap();
    let lost = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("lost in time");
    assert_eq!(lost, LossReason::NotCurrent);
    assert!(!lease.is_held());
    drop(lease);
    tokio::task::yield_now().await;
    assert_eq!(
        script.lock().unwrap().releases,
        0,
        "a lost lease is not released"
    );
}

#[tokio::test]
async fn renewals_failing_until_the_ttl_runs_out_are_a_loss() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.acquire.push_back(acquired(50));
        s.renew_default = Some(problem(503, "unavailable"));
    }
    let client = scripted(Arc::clone(&script)).await;
    let o = LockOptions::new().ttl(Duration::from_secs(1));
    let lease = client
        .try_lock_with("job", o)
        .await
        .unwrap()
        .lease()
        .unwrap();
    let lost = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("lost in time");
    assert_eq!(lost, LossReason::Expired);
    let renews = script.lock().unwrap().renews;
    assert!(renews >= 2, "retried before giving up: {renews}");
}

#[tokio::test]
async fn without_auto_renew_the_lease_is_lost_at_its_ttl() {
    let script = Arc::new(Mutex::new(Script::default()));
    script.lock().unwrap().acquire.push_back(acquired(50));
    let client = scripted(Arc::clone(&script)).await;
    let o = LockOptions::new()
        .ttl(Duration::from_secs(1))
        .auto_renew(false);
    let lease = client
        .try_lock_with("job", o)
        .await
        .unwrap()
        .lease()
        .unwrap();
    let lost = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("lost in time");
    assert_eq!(lost, LossReason::Expired);
    assert_eq!(script.lock().unwrap().renews, 0);
}

#[tokio::test]
async fn a_server_that_answers_held_at_once_is_asked_again_at_its_hint() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.acquire.push_back(held(20));
        s.acquire.push_back(held(20));
        s.acquire.push_back(acquired(3_600_000));
    }
    let client = scripted(Arc::clone(&script)).await;
    let o = LockOptions::new().max_wait(Duration::from_secs(10));
    let lease = client.lock_with("job", o).await.unwrap();
    assert_eq!(lease.fencing_token(), 7);
    lease.release().await.unwrap();
    let s = script.lock().unwrap();
    assert_eq!(s.acquire_bodies.len(), 3);
    assert!(
        s.acquire_bodies[0].contains("\"wait_seconds\":"),
        "{}",
        s.acquire_bodies[0]
    );
}

#[tokio::test]
async fn a_wait_of_zero_is_one_attempt() {
    let script = Arc::new(Mutex::new(Script::default()));
    script.lock().unwrap().acquire.push_back(held(20));
    let client = scripted(Arc::clone(&script)).await;
    let err = client
        .lock_with("job", LockOptions::new().max_wait(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { holder_id: Some(h) } if h == "tok_other"),
        "{err:?}"
    );
    let s = script.lock().unwrap();
    assert_eq!(s.acquire_bodies.len(), 1);
    assert!(
        !s.acquire_bodies[0].contains("wait_seconds"),
        "{}",
        s.acquire_bodies[0]
    );
}

// Drop releases before it returns; the scripted server runs in this test's runtime, so
// the runtime needs a second worker to answer while the dropping one waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_held_lease_releases_it() {
    let script = Arc::new(Mutex::new(Script::default()));
    let client = scripted(Arc::clone(&script)).await;
    let lease = client.try_lock("job").await.unwrap().lease().unwrap();
    drop(lease);
    eventually("release sent", || script.lock().unwrap().releases == 1).await;
}

/// A live server with two holders in one account.
async fn live() -> (support::server::Server, Client, Client) {
    let server = support::server::Server::start(&BTreeMap::new()).expect("server");
    let name = format!("live-{}", support::server::random_hex(12));
    let account = server.create_account(&name).await.unwrap();
    let second = server.create_token(&account.account_id).await.unwrap();
    let alice = Client::new(server.base_url(), &account.token).unwrap();
    let bob = Client::new(server.base_url(), &second.token).unwrap();
    (server, alice, bob)
}

#[tokio::test]
async fn a_dropped_guard_frees_the_lock_for_the_next_holder() {
    let (_server, alice, bob) = live().await;
    let token = {
        let lease = alice.lock("job").await.unwrap();
        assert!(matches!(
            bob.try_lock("job").await.unwrap(),
            Attempt::Held(_)
        ));
        lease.fencing_token()
    };
    let o = LockOptions::new().max_wait(Duration::from_secs(10));
    let next = bob.lock_with("job", o).await.unwrap();
    assert!(next.fencing_token() > token);
    next.release().await.unwrap();
    assert_eq!(bob.status("job").await.unwrap().status.to_string(), "free");
}

#[tokio::test]
async fn a_lease_whose_server_is_gone_is_lost_at_its_ttl() {
    let (server, alice, _bob) = live().await;
    let lease = alice
        .lock_with("job", LockOptions::new().ttl(Duration::from_secs(2)))
        .await
        .unwrap();
    let lost = lease.lost();
    drop(server);
    let reason = tokio::time::timeout(Duration::from_secs(15), lost)
        .await
        .expect("lost in time");
    assert_eq!(reason, LossReason::Expired);
    assert!(!lease.is_held());
}

// ---- sessions, semaphores, lock-delay, prefix watches ----------------------------------

#[tokio::test]
async fn locks_through_a_session_send_its_id_and_no_ttl_and_are_not_renewed_on_their_own() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        // Both the session and the lease would be renewed every 50 ms.
        s.session_create.push_back(session_result(1, 50));
        s.acquire.push_back(acquired(50));
        s.acquire.push_back(acquired(50));
    }
    let client = scripted(Arc::clone(&script)).await;
    let session = client
        .session_with_ttl(Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(session.id(), SESSION_ID);
    let o = LockOptions::new().lock_delay(Duration::from_secs(5));
    let lease = session
        .try_lock_with("job", o)
        .await
        .unwrap()
        .lease()
        .unwrap();
    assert_eq!(lease.session_id(), Some(SESSION_ID));
    let slot = session
        .try_semaphore("pool", 3)
        .await
        .unwrap()
        .lease()
        .unwrap();
    eventually("three keep-alives", || {
        script.lock().unwrap().session_renews >= 3
    })
    .await;
    let s = script.lock().unwrap();
    assert_eq!(
        s.renews, 0,
        "the session renews its leases, not they themselves"
    );
    let body: serde_json::Value = serde_json::from_str(&s.acquire_bodies[0]).unwrap();
    assert_eq!(body["session_id"], SESSION_ID, "{body}");
    assert_eq!(body["lock_delay_seconds"], 5, "{body}");
    assert!(body.get("ttl_seconds").is_none(), "{body}");
    assert!(body.get("max_holders").is_none(), "{body}");
    let body: serde_json::Value = serde_json::from_str(&s.acquire_bodies[1]).unwrap();
    assert_eq!(body["session_id"], SESSION_ID, "{body}");
    assert_eq!(body["max_holders"], 3, "{body}");
    drop(s);
    assert!(lease.is_held() && slot.is_held() && session.is_alive());
}

#[tokio::test]
async fn a_session_the_server_no_longer_knows_is_lost_and_so_are_its_locks() {
    let script = Arc::new(Mutex::new(Script::default()));
    script.lock().unwrap().session_renew_default = Some(problem(404, "session_not_found"));
    let client = scripted(Arc::clone(&script)).await;
    let session = client.session().await.unwrap();
    let lease = session.try_lock("job").await.unwrap().lease().unwrap();
    let lost = tokio::time::timeout(Duration::from_secs(10), session.lost())
        .await
        .expect("the session's loss signal");
    assert_eq!(lost, LossReason::NotCurrent);
    let lease_lost = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("the lease's loss signal");
    assert_eq!(lease_lost, LossReason::SessionEnded);
    assert!(!session.is_alive());
    assert_eq!(session.loss_reason(), Some(LossReason::NotCurrent));
    // Taking a lock through it again is refused as the server would, without asking it.
    let err = session.try_lock("job").await.unwrap_err();
    assert_eq!(err.code(), Some("session_not_found"));
    assert_eq!(err.status(), Some(404));
    assert_eq!(script.lock().unwrap().acquire_bodies.len(), 1);
    drop(lease);
    tokio::task::yield_now().await;
    assert_eq!(
        script.lock().unwrap().releases,
        0,
        "a lost lease is not released"
    );
}

#[tokio::test]
async fn a_session_whose_renewals_fail_is_lost_at_its_deadline_and_not_before() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.session_create.push_back(session_result(1, 300));
        s.session_renew_default = Some(problem(503, "unavailable"));
    }
    let client = scripted(Arc::clone(&script)).await;
    let started = tokio::time::Instant::now();
    let session = client
        .session_with_ttl(Duration::from_secs(1))
        .await
        .unwrap();
    let lost = tokio::time::timeout(Duration::from_secs(10), session.lost())
        .await
        .expect("lost in time");
    assert_eq!(lost, LossReason::Expired);
    // The deadline: three renew_after_ms from when the creation was sent.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "lost after {:?}, before the session's end",
        started.elapsed()
    );
    let renews = script.lock().unwrap().session_renews;
    assert!(renews >= 2, "retried before giving up: {renews}");
}

#[tokio::test]
async fn closing_a_session_deletes_it_once_and_is_no_loss() {
    let script = Arc::new(Mutex::new(Script::default()));
    let client = scripted(Arc::clone(&script)).await;
    let session = client.session().await.unwrap();
    let lease = session.try_lock("job").await.unwrap().lease().unwrap();
    session.close().await.unwrap();
    session.close().await.unwrap();
    assert_eq!(script.lock().unwrap().session_deletes, 1);
    assert!(!session.is_alive());
    assert_eq!(session.loss_reason(), None, "closing is not a loss");
    eventually("the bound lease ended", || !lease.is_held()).await;
    assert_eq!(lease.loss_reason(), None, "its lock was released, not lost");
    let err = session.try_lock("job").await.unwrap_err();
    assert_eq!(err.code(), Some("session_not_found"));
}

#[tokio::test]
async fn orphaning_a_session_stops_its_keep_alive_and_loses_its_locks() {
    let script = Arc::new(Mutex::new(Script::default()));
    let client = scripted(Arc::clone(&script)).await;
    let session = client.session().await.unwrap();
    let lease = session.try_lock("job").await.unwrap().lease().unwrap();
    session.orphan();
    let reason = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("the bound lease is lost");
    assert_eq!(reason, LossReason::SessionEnded);
    assert!(!session.is_alive());
    assert_eq!(session.loss_reason(), None, "orphaning is not a loss");
    session.close().await.unwrap();
    assert_eq!(
        script.lock().unwrap().session_deletes,
        0,
        "an orphaned session is left to expire"
    );
}

#[tokio::test]
async fn a_held_answer_during_a_lock_delay_has_no_holder_and_says_when() {
    let script = Arc::new(Mutex::new(Script::default()));
    let until = expires();
    script.lock().unwrap().acquire.push_back(Reply(
        200,
        format!(
            r#"{{"status":"held","holder_id":null,"expires_at":"{until}","retry_after_ms":900,"available_at":"{until}"}}"#
        ),
    ));
    let client = scripted(Arc::clone(&script)).await;
    let Attempt::Held(held) = client.try_lock("job").await.unwrap() else {
        panic!("granted during a lock-delay");
    };
    assert_eq!(held.holder_id, None);
    assert_eq!(
        held.available_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        Some(until)
    );
    assert_eq!(held.retry_after, Some(Duration::from_millis(900)));
}

#[tokio::test]
async fn a_semaphore_of_no_places_and_a_bad_prefix_are_refused_without_a_request() {
    let script = Arc::new(Mutex::new(Script::default()));
    let client = scripted(Arc::clone(&script)).await;
    let err = client.try_semaphore("pool", 0).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let err = client.prefix_index("jobs/").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    assert_eq!(err.status(), Some(400));
    let s = script.lock().unwrap();
    assert!(s.acquire_bodies.is_empty() && s.list_targets.is_empty());
}

#[tokio::test]
async fn a_prefix_watch_waits_out_503_skips_empty_answers_and_goes_on_from_each_index() {
    let script = Arc::new(Mutex::new(Script::default()));
    {
        let mut s = script.lock().unwrap();
        s.list.push_back(problem(503, "unavailable"));
        s.list.push_back(Reply(
            200,
            r#"{"index":5,"complete":true,"locks":[],"changes":[{"name":"jobs.a","status":"held","revision":5,"holder_id":"tok_x"}]}"#.into(),
        ));
        s.list.push_back(Reply(
            200,
            r#"{"index":5,"complete":true,"locks":[]}"#.into(),
        ));
        s.list.push_back(Reply(
            200,
            r#"{"index":9,"complete":false,"locks":[],"changes":[{"name":"jobs.b","status":"held","revision":8}]}"#.into(),
        ));
    }
    let client = scripted(Arc::clone(&script)).await;
    let mut watch = client.watch_prefix("jobs.", 0);
    let first = watch.next().await.unwrap();
    assert_eq!(first.index, 5);
    assert!(first.complete);
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].name, "jobs.a");
    assert_eq!(watch.index(), 5);
    let second = watch.next().await.unwrap();
    assert_eq!((second.index, second.complete), (9, false));
    assert_eq!(second.changes[0].name, "jobs.b");
    let s = script.lock().unwrap();
    let targets = &s.list_targets;
    assert_eq!(targets.len(), 4, "{targets:?}");
    for (t, index) in targets.iter().zip(["0", "0", "5", "5"]) {
        assert!(t.contains("prefix=jobs."), "{t}");
        assert!(
            t.contains(&format!("index={index}&")) || t.ends_with(&format!("index={index}")),
            "{t}"
        );
        assert!(t.contains("wait_seconds=60"), "{t}");
    }
}

#[tokio::test]
async fn a_session_deleted_behind_the_helpers_back_fires_its_loss_signal() {
    let (_server, alice, bob) = live().await;
    let session = alice
        .session_with_ttl(Duration::from_secs(2))
        .await
        .unwrap();
    let lease = session.lock("job").await.unwrap();
    let id = octostore::types::SessionId::try_from(session.id()).unwrap();
    alice.api().delete_session(&id).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(10), session.lost())
        .await
        .expect("the session's loss signal");
    assert_eq!(reason, LossReason::NotCurrent);
    let reason = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("the lease's loss signal");
    assert_eq!(reason, LossReason::SessionEnded);
    let next = bob
        .try_lock("job")
        .await
        .unwrap()
        .lease()
        .expect("the lock is free");
    assert!(next.fencing_token() > lease.fencing_token());
}

#[tokio::test]
async fn a_session_whose_server_is_gone_is_lost_at_its_deadline() {
    let (server, alice, _bob) = live().await;
    let session = alice
        .session_with_ttl(Duration::from_secs(2))
        .await
        .unwrap();
    let lease = session.lock("job").await.unwrap();
    let lost = session.lost();
    drop(server);
    let reason = tokio::time::timeout(Duration::from_secs(15), lost)
        .await
        .expect("lost in time");
    assert_eq!(reason, LossReason::Expired);
    let reason = tokio::time::timeout(Duration::from_secs(10), lease.lost())
        .await
        .expect("the lease's loss signal");
    assert_eq!(reason, LossReason::SessionEnded);
}

#[tokio::test]
async fn a_closed_session_frees_its_locks_at_once_and_a_dropped_one_a_ttl_later() {
    let (_server, alice, bob) = live().await;
    let session = alice
        .session_with_ttl(Duration::from_secs(1))
        .await
        .unwrap();
    let lease = session
        .lock_with("a", LockOptions::new().lock_delay(Duration::from_secs(30)))
        .await
        .unwrap();
    session.close().await.unwrap();
    assert!(!lease.is_held());
    let a = bob.try_lock("a").await.unwrap();
    assert!(
        matches!(a, Attempt::Acquired(_)),
        "no lock-delay after close: {a:?}"
    );

    let session = alice
        .session_with_ttl(Duration::from_secs(1))
        .await
        .unwrap();
    let _slot = session.semaphore("b", 2).await.unwrap();
    drop(session);
    // Nobody renews the session any more: the server ends it, and its lock, a TTL later.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let st = bob.status("b").await.unwrap();
        if st.status.to_string() == "free" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still held: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
