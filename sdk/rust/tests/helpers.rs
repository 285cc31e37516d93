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
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let Reply(status, text) = {
                    let mut s = script.lock().unwrap();
                    if path.ends_with("/acquire") {
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
                let ct = if status == 200 {
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
