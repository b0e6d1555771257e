//! Real processes for the multi-process tests (`replicas.rs`, `memory.rs`): the
//! `gigachat-mock` and `gpt2giga` binaries, `redis-server` and `nginx`. Each listens on a
//! loopback port, keeps its files in the caller's temp dir and is stopped by its pid when
//! its guard is dropped — also when the test fails.
//!
//! A missing program is a test failure naming what to install or build, never a skip.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{credentials, free_port, http};

/// How long a process may take to start and answer its first probe.
const START_TIMEOUT: Duration = Duration::from_secs(30);

// ---- finding programs ------------------------------------------------------------------------

/// `name` on `PATH` or in the sbin directories (nginx lives in /usr/sbin, which a non-root
/// `PATH` may lack); panics with `install` as the remedy when it is nowhere.
pub fn find_program(name: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed (not on PATH nor in /usr/sbin): {install}")
        })
}

/// The `gpt2giga` binary cargo built for this test.
pub fn proxy_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gpt2giga"))
}

/// The `gigachat-mock` binary of the same build, next to `gpt2giga` (another crate's
/// binary has no `CARGO_BIN_EXE_*`; `scripts/test.sh` builds every binary first).
pub fn mock_binary() -> PathBuf {
    let path = proxy_binary().with_file_name("gigachat-mock");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` before the tests (scripts/test.sh does)",
        path.display()
    );
    path
}

// ---- a child process -------------------------------------------------------------------------

/// A started process, killed (SIGKILL, by pid) and reaped when dropped.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    child: Child,
    /// Where its stdout (unless piped) and stderr go.
    pub log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdin closed and stderr (and stdout unless `pipe_stdout`) appended
    /// to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path, pipe_stdout: bool) -> Proc {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let stdout = if pipe_stdout {
            Stdio::piped()
        } else {
            Stdio::from(file.try_clone().unwrap())
        };
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(file));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Proc {
            name: name.to_string(),
            pid: child.id(),
            child,
            log: log.to_path_buf(),
        }
    }

    /// `Some(status)` once the process has exited (and is reaped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL by pid, then reap. Idempotent.
    pub fn kill9(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// SIGTERM by pid; SIGKILL if it has not exited within `grace`.
    pub fn terminate(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
    }

    /// The last lines of its log (for failure messages).
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 40)
    }

    /// Resident set size and its peak, in bytes (`VmRSS`, `VmHWM` of `/proc/PID/status`).
    pub fn rss(&self) -> Rss {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_else(|e| {
                panic!("{}: cannot read /proc/{}/status: {e}", self.name, self.pid)
            });
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {key} in /proc/{}/status", self.pid))
        };
        Rss {
            rss: kib("VmRSS:") * 1024,
            hwm: kib("VmHWM:") * 1024,
        }
    }

    fn take_stdout(&mut self) -> std::process::ChildStdout {
        self.child.stdout.take().expect("stdout is piped")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Memory of a process, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the peak resident set so far.
    pub hwm: u64,
}

/// The last `n` lines of a file.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `probe` every 50 ms until it yields `Some`, or panics after `timeout` with `what`
/// and the last `Err` the probe reported.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        assert!(
            Instant::now() < deadline,
            "{what}: not within {timeout:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A GET that yields status and body text, or the transport error as text.
pub async fn probe_get(url: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.map_err(|e| e.to_string())?))
}

// ---- gigachat-mock ---------------------------------------------------------------------------

/// The `gigachat-mock` binary on a random loopback port.
pub struct Emulator {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
}

impl Emulator {
    /// Starts the emulator with `args` (after `--host 127.0.0.1 --port 0`), logging to
    /// `dir/gigachat-mock.log`, and waits for its "listening on" line.
    pub async fn start(dir: &Path, args: &[&str]) -> Emulator {
        let mut cmd = Command::new(mock_binary());
        cmd.args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .current_dir(dir);
        let mut proc = Proc::spawn("gigachat-mock", cmd, &dir.join("gigachat-mock.log"), true);
        let stdout = proc.take_stdout();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Keep the pipe drained for the life of the process.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let line = tokio::task::spawn_blocking(move || rx.recv_timeout(START_TIMEOUT))
            .await
            .unwrap();
        let origin = match line {
            Ok(Ok(line)) => line
                .trim()
                .strip_prefix("gigachat-mock listening on ")
                .map(str::to_owned),
            _ => None,
        }
        .unwrap_or_else(|| {
            panic!(
                "gigachat-mock did not announce its port:\n{}",
                proc.log_tail()
            )
        });
        let emu = Emulator { proc, origin };
        // An older binary lacks the in-flight counters the tests read.
        let stats = emu.stats().await;
        assert!(
            stats.get("max_in_flight").is_some(),
            "{} is older than its source (no max_in_flight in /__mock/stats): run `cargo build --workspace --bins`",
            mock_binary().display()
        );
        emu
    }

    /// `http://127.0.0.1:PORT/api/v1`
    pub fn base_url(&self) -> String {
        format!("{}/api/v1", self.origin)
    }

    /// `http://127.0.0.1:PORT/api/v2/oauth`
    pub fn auth_url(&self) -> String {
        format!("{}/api/v2/oauth", self.origin)
    }

    /// Calls the control API; panics unless it answers 200 with JSON.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = http().request(method, format!("{}/__mock{path}", self.origin));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "/__mock{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// `GET /__mock/stats`
    pub async fn stats(&self) -> Value {
        self.control(reqwest::Method::GET, "/stats", None).await
    }

    /// Merges `patch` into the emulator's config (`latency_ms`, `chunk_delay_ms`, …).
    pub async fn configure(&self, patch: Value) {
        self.control(reqwest::Method::POST, "/config", Some(patch))
            .await;
    }

    /// Restarts the in-flight high-water mark.
    pub async fn reset_max_in_flight(&self) {
        self.control(reqwest::Method::POST, "/max-in-flight/reset", None)
            .await;
    }

    /// The JSON body of the last chat request the emulator recorded.
    pub async fn last_chat(&self) -> Value {
        let recs = self
            .control(
                reqwest::Method::GET,
                "/requests?path_suffix=/chat/completions&limit=1",
                None,
            )
            .await;
        recs[0]["json"].clone()
    }
}

// ---- gpt2giga --------------------------------------------------------------------------------

/// The `gpt2giga` binary on a free loopback port, in front of an [`Emulator`].
pub struct Gpt2Giga {
    pub proc: Proc,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Gpt2Giga {
    /// Starts `gpt2giga` named `name` with its files in `dir` (log file
    /// `dir/<name>.log`, working directory `dir`, so no `.env` is read) and `args` after
    /// the listen address and the emulator's URLs. Returns at once; see
    /// [`Gpt2Giga::wait_ready`].
    pub fn spawn(dir: &Path, name: &str, emulator: &Emulator, args: &[&str]) -> Gpt2Giga {
        Self::spawn_with(
            dir,
            name,
            (&emulator.base_url(), &emulator.auth_url()),
            args,
            &[],
        )
    }

    /// [`Gpt2Giga::spawn`] in front of any GigaChat (`urls`: base and auth URL, e.g. an
    /// in-process `gigachat_mock::MockServer`'s), with `env` added to its environment.
    pub fn spawn_with(
        dir: &Path,
        name: &str,
        urls: (&str, &str),
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Gpt2Giga {
        let port = free_port();
        let log_file = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(proxy_binary());
        clean_env(&mut cmd);
        cmd.current_dir(dir)
            .env("GIGACHAT_CREDENTIALS", credentials())
            .args([
                "--proxy.host",
                "127.0.0.1",
                "--proxy.port",
                &port.to_string(),
            ])
            .args(["--gigachat.base-url", urls.0])
            .args(["--gigachat.auth-url", urls.1])
            .arg("--proxy.log-filename")
            .arg(&log_file)
            .args(args)
            .envs(env.iter().copied());
        let proc = Proc::spawn(name, cmd, &dir.join(format!("{name}.out")), false);
        Gpt2Giga {
            proc,
            port,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Waits until the proxy is ready: `/ready` answers 200 — or, while the proxy has no
    /// `/ready` yet (404), `/health` answers 200.
    pub async fn wait_ready(&mut self) {
        let (ready, health) = (self.at("/ready"), self.at("/health"));
        let name = self.proc.name.clone();
        let mut exited = None;
        let proc = &mut self.proc;
        wait_for(&format!("{name} ready"), START_TIMEOUT, || {
            exited = exited.or_else(|| proc.exited());
            let (ready, health) = (ready.clone(), health.clone());
            async move {
                if let Some(status) = exited {
                    return Err(format!("exited with {status}"));
                }
                match probe_get(&ready).await? {
                    (200, _) => Ok(()),
                    (404, _) => match probe_get(&health).await? {
                        (200, _) => Ok(()),
                        (s, body) => Err(format!("/health: {s} {body}")),
                    },
                    (s, body) => Err(format!("/ready: {s} {body}")),
                }
            }
        })
        .await;
        if let Some(status) = self.proc.exited() {
            panic!("{name} exited with {status}:\n{}", self.proc.log_tail());
        }
    }
}

/// Removes the proxy's configuration variables inherited from the environment (its own,
/// and OpenTelemetry's, which it honours), so a process runs with exactly the settings
/// the test gives it.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy().to_ascii_uppercase();
        if k.starts_with("GIGACHAT_")
            || k.starts_with("GPT2GIGA_")
            || k.starts_with("OTEL_")
            || k == "RUST_LOG"
        {
            cmd.env_remove(&key);
        }
    }
}

// ---- redis-server ----------------------------------------------------------------------------

/// `redis-server` on a loopback port, without persistence, its files in its own dir.
pub struct Redis {
    pub proc: Proc,
    pub port: u16,
    dir: PathBuf,
    program: PathBuf,
}

impl Redis {
    /// Starts `redis-server` on a free port with `dir` as its working directory.
    pub async fn start(dir: &Path) -> Redis {
        let program = find_program("redis-server", "apt-get install -y redis-server");
        let port = free_port();
        let proc = Self::spawn(&program, dir, port);
        let mut redis = Redis {
            proc,
            port,
            dir: dir.to_path_buf(),
            program,
        };
        redis.wait_ready().await;
        redis
    }

    fn spawn(program: &Path, dir: &Path, port: u16) -> Proc {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "no", "--logfile", ""]);
        Proc::spawn("redis-server", cmd, &dir.join("redis.log"), false)
    }

    /// `redis://127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts it again on the same port and dir (with `--save ''` its data is gone).
    pub async fn restart(&mut self) {
        self.proc.kill9();
        self.proc = Self::spawn(&self.program, &self.dir, self.port);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let port = self.port;
        let proc = &mut self.proc;
        let mut exited = None;
        wait_for("redis-server answers PING", START_TIMEOUT, || {
            exited = exited.or_else(|| proc.exited());
            async move {
                if let Some(status) = exited {
                    return Err(format!("exited with {status}"));
                }
                tokio::task::spawn_blocking(move || redis_ping(port))
                    .await
                    .map_err(|e| e.to_string())?
            }
        })
        .await;
    }
}

/// One `PING` over a fresh connection; `Ok` on `+PONG`.
fn redis_ping(port: u16) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"PING\r\n").map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&buf[..n]);
    if reply.starts_with("+PONG") {
        Ok(())
    } else {
        Err(format!("PING answered {reply:?}"))
    }
}

// ---- nginx -----------------------------------------------------------------------------------

/// nginx as a round-robin HTTP/1.1 load balancer in front of several ports, one process
/// (`master_process off`), every file in its own dir.
pub struct Nginx {
    pub proc: Proc,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Nginx {
    /// Starts nginx balancing over `upstreams` (loopback ports) and waits until it
    /// answers `/health` (passed through to a replica).
    pub async fn start(dir: &Path, upstreams: &[u16]) -> Nginx {
        let program = find_program("nginx", "apt-get install -y nginx-light");
        let root = dir.join("nginx");
        for sub in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let port = free_port();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        let r = root.display();
        // A dead upstream refuses connections: `proxy_next_upstream error` passes the
        // request to the next one (also a POST: it was never sent), `max_fails` takes the
        // dead one out of the rotation.
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {r}/nginx.pid;
error_log {r}/logs/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {r}/logs/access.log;
    client_body_temp_path {r}/client_body;
    proxy_temp_path {r}/proxy;
    fastcgi_temp_path {r}/fastcgi;
    uwsgi_temp_path {r}/uwsgi;
    scgi_temp_path {r}/scgi;
    upstream replicas {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64m;
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }}
    }}
}}
"
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(program);
        cmd.current_dir(&root)
            .arg("-p")
            .arg(&root)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(root.join("logs/error.log"));
        let mut proc = Proc::spawn("nginx", cmd, &root.join("logs/nginx.out"), false);
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/health");
        let mut exited = None;
        let p = &mut proc;
        wait_for("nginx serves /health", START_TIMEOUT, || {
            exited = exited.or_else(|| p.exited());
            let health = health.clone();
            async move {
                if let Some(status) = exited {
                    return Err(format!("exited with {status}"));
                }
                match probe_get(&health).await? {
                    (200, _) => Ok(()),
                    (s, body) => Err(format!("{s} {body}")),
                }
            }
        })
        .await;
        Nginx { proc, port, url }
    }
}

// ---- inputs ----------------------------------------------------------------------------------

/// About `len` bytes of pseudo-random lowercase ASCII words, different for every `seed`.
pub fn words(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let r = next();
        let n = 2 + (r % 9) as usize;
        for i in 0..n {
            out.push(char::from(b'a' + ((r >> (8 + 5 * i)) % 26) as u8));
        }
        out.push(' ');
    }
    out.truncate(len);
    out
}

// ---- PostgreSQL ------------------------------------------------------------------------------

/// A throw-away PostgreSQL server: `initdb` in its own dir, `postgres` on a free loopback
/// port (trust auth, no fsync), stopped by its pid when dropped. As root (initdb refuses
/// to run as root) both run as the `postgres` user, or `nobody`, through `setpriv`.
pub struct Postgres {
    pub proc: Proc,
    pub port: u16,
}

/// The directory of the PostgreSQL server programs: `pg_config --bindir`, else the
/// newest `/usr/lib/postgresql/*/bin`, else wherever `initdb` is on `PATH`.
fn postgres_bindir() -> PathBuf {
    const INSTALL: &str = "apt-get install -y postgresql";
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&dir) {
            return dir;
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    if let Some(d) = dirs.into_iter().rev().find(|d| has(d)) {
        return d;
    }
    find_program("initdb", INSTALL)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `(uid, gid)` to run PostgreSQL as when this process is root.
fn postgres_account() -> Option<(u32, u32)> {
    let uid = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if uid(&["-u"])? != 0 {
        return None;
    }
    match (uid(&["-u", "postgres"]), uid(&["-g", "postgres"])) {
        (Some(u), Some(g)) => Some((u, g)),
        _ => Some((65534, 65534)),
    }
}

/// `program` as a command, switched to `account` when given.
fn as_account(program: &Path, account: Option<(u32, u32)>) -> Command {
    match account {
        Some((uid, gid)) => {
            let mut cmd = Command::new(find_program("setpriv", "apt-get install -y util-linux"));
            cmd.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

impl Postgres {
    /// Initialises a cluster under `dir/pg` and starts it; waits until it accepts
    /// connections.
    pub async fn start(dir: &Path) -> Postgres {
        use std::os::unix::fs::PermissionsExt as _;
        let bin = postgres_bindir();
        let account = postgres_account();
        let root = dir.join("pg");
        let data = root.join("data");
        std::fs::create_dir_all(&root).unwrap();
        if let Some((uid, gid)) = account {
            // The unprivileged account must reach its directory.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).unwrap();
        }
        let init = as_account(&bin.join("initdb"), account)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let mut cmd = as_account(&bin.join("postgres"), account);
        cmd.arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&root)
            .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"]);
        let log = root.join("postgres.log");
        let mut proc = Proc::spawn("postgres", cmd, &log, false);
        let mut exited = None;
        wait_for("postgres accepts connections", START_TIMEOUT, || {
            exited = exited.or_else(|| proc.exited());
            async move {
                if let Some(status) = exited {
                    return Err(format!("exited with {status}"));
                }
                TcpStream::connect(("127.0.0.1", port))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        Postgres { proc, port }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    /// Fast shutdown (SIGINT: clients disconnected, backends stopped), then SIGKILL.
    fn drop(&mut self) {
        if self.proc.exited().is_none() {
            let _ = Command::new("kill")
                .args(["-INT", &self.proc.pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && self.proc.exited().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.proc.kill9();
    }
}
