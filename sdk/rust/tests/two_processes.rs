//! Two processes of the same program, sharing ONE token and setting no owner, take turns
//! on a lock (and on an election) around a read-sleep-write of a shared counter file. With
//! mutual exclusion the counter ends at exactly 2N; two processes that both "hold" lose
//! increments. The test binary is its own worker: run with OCTOSTORE_TWO_PROCESS_WORKER
//! set, it does the cycles instead of the test.

mod support {
    pub mod server;
}

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octostore::{Client, LockOptions};

const CYCLES: u32 = 30;

fn main() {
    if std::env::var_os("OCTOSTORE_TWO_PROCESS_WORKER").is_some() {
        std::process::exit(match worker() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("worker: {e}");
                1
            }
        });
    }
    if std::env::args().any(|a| a == "--list") {
        println!("two_processes_lock: test");
        println!("two_processes_election: test");
        println!("sigterm_releases_with_the_shutdown_hook: test");
        println!("a_guard_dropped_at_the_end_of_main_is_released: test");
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = support::server::Server::start(&BTreeMap::new()).expect("server");
    let account = runtime
        .block_on(server.create_account(&format!("two-{}", support::server::random_hex(12))))
        .expect("account");
    let mut failed = 0;
    for mode in ["lock", "election"] {
        let name = format!("two_processes_{mode}");
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match run(server.base_url(), &account.token, mode) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    let name = "sigterm_releases_with_the_shutdown_hook";
    if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
        match runtime.block_on(sigterm(server.base_url(), &account.token)) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    let name = "a_guard_dropped_at_the_end_of_main_is_released";
    if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
        match runtime.block_on(end_of_main(server.base_url(), &account.token)) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    drop(server);
    if failed > 0 {
        std::process::exit(101);
    }
}

/// Two workers on one token, `CYCLES` increments each; the counter must be 2 * CYCLES.
fn run(url: &str, token: &str, mode: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!(
        "octostore-two-{}-{}",
        std::process::id(),
        support::server::random_hex(8)
    ));
    std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
    let counter = dir.join("counter");
    std::fs::write(&counter, "0").map_err(|e| e.to_string())?;
    let lock = format!("counter-{mode}-{}", support::server::random_hex(8));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let spawn = |i: u32| -> Result<Child, String> {
        Command::new(&exe)
            .env("OCTOSTORE_TWO_PROCESS_WORKER", "1")
            .env("OCTOSTORE_URL", url)
            .env("OCTOSTORE_TOKEN", token)
            .env("WORKER_MODE", mode)
            .env("WORKER_LOCK", &lock)
            .env("WORKER_COUNTER", &counter)
            .env("WORKER_CYCLES", CYCLES.to_string())
            .stdin(Stdio::null())
            .stdout(
                std::fs::File::create(dir.join(format!("w{i}.out"))).map_err(|e| e.to_string())?,
            )
            .stderr(
                std::fs::File::create(dir.join(format!("w{i}.err"))).map_err(|e| e.to_string())?,
            )
            .spawn()
            .map_err(|e| format!("spawn worker: {e}"))
    };
    let mut children = [spawn(0)?, spawn(1)?];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut codes = [None, None];
    while codes.iter().any(Option::is_none) && Instant::now() < deadline {
        for (c, code) in children.iter_mut().zip(codes.iter_mut()) {
            if code.is_none() {
                *code = c.try_wait().map_err(|e| e.to_string())?;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (c, code) in children.iter_mut().zip(codes.iter()) {
        if code.is_none() {
            let _ = c.kill(); // by our own child's PID
            let _ = c.wait();
        }
    }
    let logs = || {
        (0..2)
            .map(|i| std::fs::read_to_string(dir.join(format!("w{i}.err"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let result = (|| {
        for code in &codes {
            match code {
                None => return Err(format!("a worker did not finish within 60 s\n{}", logs())),
                Some(c) if !c.success() => return Err(format!("a worker failed: {c}\n{}", logs())),
                Some(_) => {}
            }
        }
        let n: u32 = read_counter(&counter)?;
        if n != 2 * CYCLES {
            return Err(format!(
                "{mode}: counter is {n}, want {} (the two processes overlapped)",
                2 * CYCLES
            ));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A worker holding a 30 s lock with `release_on_shutdown` installed gets SIGTERM: the
/// lock is free long before its TTL.
async fn sigterm(url: &str, token: &str) -> Result<(), String> {
    let lock = format!("sigterm-{}", support::server::random_hex(8));
    let marker = std::env::temp_dir().join(format!("octostore-{lock}"));
    let _ = std::fs::remove_file(&marker);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(&exe)
        .env("OCTOSTORE_TWO_PROCESS_WORKER", "1")
        .env("OCTOSTORE_URL", url)
        .env("OCTOSTORE_TOKEN", token)
        .env("WORKER_MODE", "hold")
        .env("WORKER_LOCK", &lock)
        .env("WORKER_COUNTER", &marker)
        .env("WORKER_CYCLES", "1")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn worker: {e}"))?;
    let client = Client::new(url, token).map_err(|e| e.to_string())?;
    let result = async {
        let until = |want: &'static str, secs: u64| {
            let client = client.clone();
            let lock = lock.clone();
            async move {
                let deadline = Instant::now() + Duration::from_secs(secs);
                loop {
                    let st = client.status(&lock).await.map_err(|e| e.to_string())?;
                    if st.status.to_string() == want {
                        return Ok::<(), String>(());
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("lock not {want} within {secs} s"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        until("held", 10).await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !marker.exists() {
            if Instant::now() >= deadline {
                return Err("the worker did not report holding the lock within 20 s".to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) on our own child, not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        until("free", 15).await
    }
    .await;
    let _ = child.kill(); // by our own child's PID, in case it is still running
    let _ = child.wait();
    let _ = std::fs::remove_file(&marker);
    result
}

/// A worker takes a 30 s lock in `#[tokio::main]` style and lets the guard drop as `main`
/// returns; once the process has exited the lock is free.
async fn end_of_main(url: &str, token: &str) -> Result<(), String> {
    let lock = format!("end-of-main-{}", support::server::random_hex(8));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(&exe)
        .env("OCTOSTORE_TWO_PROCESS_WORKER", "1")
        .env("OCTOSTORE_URL", url)
        .env("OCTOSTORE_TOKEN", token)
        .env("WORKER_MODE", "end_of_main")
        .env("WORKER_LOCK", &lock)
        .env("WORKER_COUNTER", "-")
        .env("WORKER_CYCLES", "1")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn worker: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(c) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(c);
        }
        if Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let Some(code) = code else {
        let _ = child.kill(); // by our own child's PID
        let _ = child.wait();
        return Err("the worker did not exit within 20 s".into());
    };
    if !code.success() {
        return Err(format!("the worker failed: {code}"));
    }
    let client = Client::new(url, token).map_err(|e| e.to_string())?;
    let st = client.status(&lock).await.map_err(|e| e.to_string())?;
    match st.status.to_string().as_str() {
        "free" => Ok(()),
        other => Err(format!(
            "the lock is {other} after the process exited (held by {:?})",
            st.holder_id
        )),
    }
}

fn read_counter(path: &Path) -> Result<u32, String> {
    let t = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    t.trim().parse().map_err(|e| format!("counter {t:?}: {e}"))
}

/// One worker: `WORKER_CYCLES` times lock (or campaign), read, sleep, write +1, unlock
/// (or resign). The client is `Client::from_env()`, with no owner set.
fn worker() -> Result<(), String> {
    let mode = std::env::var("WORKER_MODE").map_err(|e| e.to_string())?;
    let lock = std::env::var("WORKER_LOCK").map_err(|e| e.to_string())?;
    let counter = std::env::var("WORKER_COUNTER").map_err(|e| e.to_string())?;
    let cycles: u32 = std::env::var("WORKER_CYCLES")
        .map_err(|e| e.to_string())?
        .parse()
        .map_err(|e| format!("WORKER_CYCLES: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if mode == "end_of_main" {
        // What #[tokio::main(flavor = "current_thread")] expands to: the guard drops as the
        // async block ends, then the runtime shuts down and the process exits. (A release
        // spawned as a task, the old behaviour, never runs here; on a multi-thread runtime
        // it races the shutdown.)
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let r = rt.block_on(async {
            let client = Client::from_env().map_err(|e| e.to_string())?;
            let lease = client
                .lock_with(&lock, LockOptions::new().ttl(Duration::from_secs(30)))
                .await
                .map_err(|e| e.to_string())?;
            println!("holding {}", lease.fencing_token());
            Ok::<(), String>(())
        });
        drop(rt);
        return r;
    }
    if mode == "hold" {
        octostore::release_on_shutdown().map_err(|e| e.to_string())?;
        return rt.block_on(async {
            let client = Client::from_env().map_err(|e| e.to_string())?;
            let _lease = client
                .lock_with(&lock, LockOptions::new().ttl(Duration::from_secs(30)))
                .await
                .map_err(|e| e.to_string())?;
            // Tell the parent the helper holds it (the server may show the lock held a
            // moment before lock_with has returned and the hook knows the lease).
            std::fs::write(&counter, "held").map_err(|e| e.to_string())?;
            // Held until the parent's SIGTERM ends the process (bounded for safety).
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        });
    }
    rt.block_on(async {
        let mut b = Client::builder(&std::env::var("OCTOSTORE_URL").map_err(|e| e.to_string())?)
            .token(std::env::var("OCTOSTORE_TOKEN").map_err(|e| e.to_string())?);
        // Only for showing the old defect by hand: both workers with one owner.
        if let Ok(o) = std::env::var("WORKER_SHARED_OWNER") {
            b = b.owner(o);
        }
        let client = b.build().map_err(|e| e.to_string())?;
        let options = || LockOptions::new().max_wait(Duration::from_secs(20));
        let election = client.election(&lock);
        for _ in 0..cycles {
            let lease = match mode.as_str() {
                "lock" => client.lock_with(&lock, options()).await,
                _ => election.campaign_with("worker", options()).await,
            }
            .map_err(|e| e.to_string())?;
            let n = read_counter(Path::new(&counter))?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            std::fs::write(&counter, (n + 1).to_string()).map_err(|e| e.to_string())?;
            match mode.as_str() {
                "lock" => lease.release().await,
                _ => election.resign(&lease).await,
            }
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}
