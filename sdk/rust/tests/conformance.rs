//! The language-neutral conformance suite (sdk/conformance) as one native test per
//! scenario, run through the Rust helper against a live octostore-lock. The directory is
//! OCTOSTORE_CONFORMANCE_DIR when set, else ../conformance beside this SDK; the server is
//! OCTOSTORE_BIN.

mod support {
    pub mod matchers;
    pub mod runner;
    pub mod server;
}

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use support::server::Server;

/// One server per distinct `server.env`, started on first use, stopped after the run.
#[derive(Default)]
struct Servers(Mutex<HashMap<BTreeMap<String, String>, Arc<Server>>>);

impl Servers {
    fn get(&self, env: BTreeMap<String, String>) -> Result<Arc<Server>, String> {
        let mut m = self.0.lock().unwrap();
        if let Some(s) = m.get(&env) {
            return Ok(Arc::clone(s));
        }
        let s = Arc::new(Server::start(&env)?);
        m.insert(env, Arc::clone(&s));
        Ok(s)
    }
}

fn main() {
    let args = Arguments::from_args();
    let servers = Arc::new(Servers::default());
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime"),
    );
    let dir = suite_dir().join("scenarios");
    let trials = match scenario_files(&dir) {
        Err(e) => vec![Trial::test("conformance-suite", move || {
            Err(Failed::from(e))
        })],
        Ok(files) => files
            .into_iter()
            .map(|(name, path)| {
                let (servers, runtime) = (Arc::clone(&servers), Arc::clone(&runtime));
                Trial::test(name.clone(), move || {
                    run_file(&name, &path, &servers, &runtime).map_err(Failed::from)
                })
            })
            .collect(),
    };
    let conclusion = libtest_mimic::run(&args, trials);
    servers.0.lock().unwrap().clear(); // stops the servers before exit skips destructors
    conclusion.exit();
}

fn scenario_files(dir: &std::path::Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "no conformance scenarios at {}: {e} (set OCTOSTORE_CONFORMANCE_DIR to the sdk/conformance directory)",
            dir.display()
        )
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no scenario files in {}", dir.display()));
    }
    Ok(files)
}

fn run_file(
    name: &str,
    path: &std::path::Path,
    servers: &Servers,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if scenario["name"].as_str() != Some(name) {
        return Err(format!("{}: name must equal the file name", path.display()));
    }
    let env: BTreeMap<String, String> = scenario["server"]["env"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let server = if scenario["server"]["dedicated"].as_bool() == Some(true) {
        // Its own server, stopped when the scenario ends (it may be paused meanwhile).
        Arc::new(Server::start(&env)?)
    } else {
        servers.get(env)?
    };
    runtime.block_on(support::runner::run(&scenario, server))
}

/// The suite directory: OCTOSTORE_CONFORMANCE_DIR, else ../conformance beside this SDK.
fn suite_dir() -> PathBuf {
    match std::env::var_os("OCTOSTORE_CONFORMANCE_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance"),
    }
}
