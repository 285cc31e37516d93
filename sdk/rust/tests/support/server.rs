//! A live octostore-lock started as sdk/conformance/README.md prescribes: the binary from
//! OCTOSTORE_BIN on 127.0.0.1:0 in a fresh directory, an environment of only PATH and its
//! own settings, output to files, the address read from the "listening" line.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octostore::generated;
use octostore::types;

/// A running server; stopped (SIGTERM, then SIGKILL) and its directory removed on drop.
pub struct Server {
    dir: PathBuf,
    child: Child,
    admin_key: String,
    base_url: String,
}

/// The server binary named by OCTOSTORE_BIN, or why it cannot be used.
pub fn binary() -> Result<PathBuf, String> {
    let bin = std::env::var_os("OCTOSTORE_BIN").filter(|b| !b.is_empty()).ok_or(
        "OCTOSTORE_BIN is not set: build the server (go build -o bin/ ./cmd/octostore-lock) and point OCTOSTORE_BIN at it",
    )?;
    let path = PathBuf::from(&bin);
    let meta = fs::metadata(&path).map_err(|e| format!("OCTOSTORE_BIN={}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "OCTOSTORE_BIN={} is not an executable file",
            path.display()
        ));
    }
    fs::canonicalize(path).map_err(|e| e.to_string())
}

/// `n` random lowercase hex digits.
pub fn random_hex(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(n);
    s
}

impl Server {
    /// Starts a server with `env` added to its settings and waits until it listens.
    pub fn start(env: &BTreeMap<String, String>) -> Result<Server, String> {
        let bin = binary()?;
        let dir = std::env::temp_dir().join(format!(
            "octostore-rust-{}-{}",
            std::process::id(),
            random_hex(8)
        ));
        fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let empty_env = dir.join("empty.env");
        fs::write(&empty_env, "").map_err(|e| e.to_string())?;
        let out_path = dir.join("stdout.log");
        let err_path = dir.join("stderr.log");
        let admin_key = random_hex(32);

        let mut cmd = Command::new(&bin);
        cmd.args(["--bind-addr", "127.0.0.1:0"])
            .current_dir(&dir)
            .env_clear()
            .env("ADMIN_KEY", &admin_key)
            .env("DATABASE_URL", dir.join("octostore.db"))
            .env("ENV_FILE", &empty_env)
            .env("LOG_LEVEL", "info")
            .env("LOG_FORMAT", "text")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_path).map_err(|e| e.to_string())?)
            .stderr(fs::File::create(&err_path).map_err(|e| e.to_string())?);
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;

        let deadline = Instant::now() + Duration::from_secs(15);
        let mut exited = false;
        while Instant::now() < deadline {
            let out = fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(addr) = listening_addr(&out) {
                return Ok(Server {
                    dir,
                    child,
                    admin_key,
                    base_url: format!("http://{addr}"),
                });
            }
            if child.try_wait().ok().flatten().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let logs = format!(
            "stdout:\n{}\nstderr:\n{}",
            fs::read_to_string(&out_path).unwrap_or_default(),
            fs::read_to_string(&err_path).unwrap_or_default()
        );
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_dir_all(&dir);
        Err(format!(
            "octostore-lock did not start ({})\n{logs}",
            if exited { "exited" } else { "timeout" }
        ))
    }

    /// Sends `sig` (SIGSTOP, SIGCONT) to the server process.
    #[allow(dead_code)] // used by the conformance runner only
    pub fn signal(&self, sig: i32) -> Result<(), String> {
        let pid = i32::try_from(self.child.id()).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) on our own child, which is not reaped before Drop.
        if unsafe { libc::kill(pid, sig) } != 0 {
            return Err(format!(
                "kill({pid}, {sig}): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// The server's base URL, http://127.0.0.1:PORT.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn admin(&self) -> generated::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "X-Admin-Key",
            self.admin_key.parse().expect("hex is a header value"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        generated::Client::new_with_client(&self.base_url, http)
    }

    /// POST /admin/accounts: a new account with its first token.
    pub async fn create_account(&self, name: &str) -> Result<types::CreatedAccount, String> {
        let body = types::CreateAccountRequest {
            name: name
                .try_into()
                .map_err(|e| format!("account name {name}: {e}"))?,
            token_name: None,
        };
        let r = self
            .admin()
            .create_account(&body)
            .await
            .map_err(|e| format!("create account: {e}"))?;
        Ok(r.into_inner())
    }

    /// POST /admin/accounts/{id}/tokens: another token (another holder) in the account.
    #[allow(dead_code)] // not every test binary makes a second token
    pub async fn create_token(
        &self,
        account_id: &types::AccountId,
    ) -> Result<types::IssuedToken, String> {
        let r = self
            .admin()
            .create_token(account_id, &types::CreateTokenRequest { name: None })
            .await
            .map_err(|e| format!("create token: {e}"))?;
        Ok(r.into_inner())
    }
}

fn listening_addr(out: &str) -> Option<String> {
    let i = out.find("msg=listening addr=")? + "msg=listening addr=".len();
    let rest = &out[i..];
    let end = rest.find(char::is_whitespace)?;
    Some(rest[..end].to_owned())
}

impl Drop for Server {
    /// SIGCONT (it may be paused), SIGTERM, up to 10 s for the exit, then SIGKILL; the
    /// directory is removed.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGCONT);
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
