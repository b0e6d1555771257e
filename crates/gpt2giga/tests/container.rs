//! The container image and the compose files, end to end and offline.
//!
//! `image_builds_offline_and_runs_as_designed` starts a private `dockerd` (its own socket,
//! data and exec roots under a temporary directory; no bridge, no iptables), builds the
//! image with `scripts/build-image.sh` (a release musl build: minutes on a small machine,
//! seconds when the binary is up to date), runs it with `--network host` in `--demo` mode
//! and checks `/health`, `/ready`, a chat completion, Docker's own health status (the
//! `HEALTHCHECK` runs `gpt2giga healthcheck`: no shell), the non-root user (image config
//! and the real uid of the container's process), the writable working directory, the
//! image's file list (no shell, nothing but the binary and a few files), its size, and a
//! prompt graceful stop on SIGTERM. Everything it started is stopped and removed, also on
//! failure.
//!
//! `compose_files_validate` runs `docker-compose config` on both compose files and both
//! profiles, with `.env.example` as `.env`, in a scratch directory.
//!
//! Needs (the tests fail, never skip, without them): root, `dockerd`, `docker` and
//! `docker-compose` (Debian: `docker.io docker-compose`), `tar`, `musl-gcc` (`musl-tools`)
//! and the `x86_64-unknown-linux-musl` Rust target (`scripts/setup.sh` installs all of them). A
//! summary (image size, storage driver, timings) is written to
//! `target/tmp/container/summary.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const IMAGE: &str = "gpt2giga:latest";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn read_tail(path: &Path, lines: usize) -> String {
    tail(
        &String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()),
        lines,
    )
}

fn require_tool(name: &str, hint: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(found, "`{name}` is not installed: {hint}");
}

// ---------------------------------------------------------------- a private dockerd

/// A `dockerd` of our own. Dropping it removes its containers, stops it (SIGTERM, by
/// pid), stops its containerd if that outlived it, unmounts what it left mounted and
/// deletes its directory.
struct Dockerd {
    child: Child,
    dir: PathBuf,
    host: String,
    driver: &'static str,
    config: PathBuf,
}

impl Dockerd {
    /// Starts one, trying the overlay2 storage driver first and vfs (which works
    /// everywhere, slowly) when overlay2 is not available.
    fn start() -> Dockerd {
        require_tool(
            "dockerd",
            "install Docker (Debian: apt-get install docker.io)",
        );
        require_tool(
            "docker",
            "install Docker (Debian: apt-get install docker.io)",
        );
        let mut failures = String::new();
        for driver in ["overlay2", "vfs"] {
            match Self::start_with(driver) {
                Ok(d) => return d,
                Err(why) => {
                    let _ = writeln!(failures, "--- with --storage-driver={driver}:\n{why}");
                }
            }
        }
        panic!("cannot start dockerd (the container test needs root and Docker):\n{failures}");
    }

    fn start_with(driver: &'static str) -> Result<Dockerd, String> {
        // Under /tmp whatever TMPDIR says: unix socket paths must stay short.
        let dir = tempfile::Builder::new()
            .prefix("g2g-docker-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let config = dir.join("cli");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let host = format!("unix://{}", dir.join("docker.sock").display());
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .args(["-H", &host])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .arg(format!("--storage-driver={driver}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run dockerd: {e}"))?;
        let mut d = Dockerd {
            child,
            dir,
            host,
            driver,
            config,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = d.child.try_wait().unwrap() {
                return Err(format!(
                    "dockerd exited ({status}); its log ends with:\n{}",
                    read_tail(&d.dir.join("dockerd.log"), 30)
                ));
            }
            let probe = d.docker(&["version", "--format", "{{.Server.Version}}"]);
            if probe.status.success() {
                return Ok(d);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "dockerd did not answer within 60 s; its log ends with:\n{}",
                    read_tail(&d.dir.join("dockerd.log"), 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A `docker` command talking to this daemon only (its own CLI config, too).
    fn command(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config)
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs `docker ARGS`, panicking with its output unless it succeeds; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn log_tail(&self) -> String {
        read_tail(&self.dir.join("dockerd.log"), 30)
    }

    fn stop(&mut self) {
        // Containers first, so that no shim outlives the daemon.
        let ids = self.docker(&["ps", "-aq"]);
        let ids = String::from_utf8_lossy(&ids.stdout).to_string();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = self.docker(&args);
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if self.child.try_wait().ok().flatten().is_none() {
                eprintln!("dockerd ignored SIGTERM for 30 s: killing it");
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // dockerd stops the containerd it started; make sure, by that containerd's pid.
        let pid_file = self.dir.join("exec/containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let pid = pid.trim();
            if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                let cmdline =
                    std::fs::read(Path::new("/proc").join(pid).join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&*self.dir.to_string_lossy()) {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
        }
        unmount_under(&self.dir);
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Unmounts (lazily, deepest first) whatever is still mounted under `dir`.
fn unmount_under(dir: &Path) {
    let prefix = dir.to_string_lossy().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .map(|p| p.replace("\\040", " "))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = Command::new("umount").args(["-l", &p]).status();
    }
}

// ---------------------------------------------------------------- helpers

struct Summary {
    text: String,
}

impl Summary {
    /// Prints `line` and rewrites the summary file, so that a failed run leaves one too.
    fn line(&mut self, line: String) {
        eprintln!("container test: {line}");
        self.text.push_str(&line);
        self.text.push('\n');
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("container");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("summary.txt"), &self.text);
    }
}

async fn wait_for_health(docker: &Dockerd, name: &str, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = common::http().get(format!("{base}/health")).send().await
            && r.status() == 200
        {
            return;
        }
        let running = docker.ok(&["inspect", "-f", "{{.State.Running}}", name]);
        assert!(
            running == "true",
            "the container stopped; its log:\n{}",
            container_logs(docker, name)
        );
        assert!(
            Instant::now() < deadline,
            "the proxy in the container did not answer /health within 60 s; its log:\n{}",
            container_logs(docker, name)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn container_logs(docker: &Dockerd, name: &str) -> String {
    let out = docker.docker(&["logs", "--tail", "40", name]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Docker's health status of `name`, once it is no longer `starting`.
async fn docker_health(docker: &Dockerd, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health: Value =
            serde_json::from_str(&docker.ok(&["inspect", "-f", "{{json .State.Health}}", name]))
                .unwrap();
        if health["Status"] != "starting" {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "Docker's health check did not report within 60 s: {health}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The real user and group ids of process `pid` (`Uid:` and `Gid:` of /proc/PID/status).
fn proc_ids(pid: &str) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (field("Uid:"), field("Gid:"))
}

/// Paths in the image's file system (from `docker export` of a created container),
/// without what Docker adds to every container.
fn image_files(docker: &Dockerd) -> BTreeSet<String> {
    let id = docker.ok(&["create", IMAGE]);
    let mut export = docker
        .command()
        .args(["export", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let listing = Command::new("tar")
        .arg("-t")
        .stdin(export.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(export.wait().unwrap().success(), "docker export failed");
    assert!(listing.status.success(), "tar -t failed");
    docker.ok(&["rm", &id]);
    const ADDED_BY_DOCKER: &[&str] = &[
        ".dockerenv",
        "dev/",
        "proc/",
        "sys/",
        "etc/hostname",
        "etc/hosts",
        "etc/mtab",
        "etc/resolv.conf",
    ];
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            !ADDED_BY_DOCKER
                .iter()
                .any(|a| l == a || l.starts_with("dev/"))
        })
        .collect()
}

// ---------------------------------------------------------------- the tests

#[tokio::test]
async fn image_builds_offline_and_runs_as_designed() {
    require_tool("tar", "install tar");
    let started = Instant::now();
    let mut summary = Summary {
        text: String::new(),
    };
    let docker = Dockerd::start();
    summary.line(format!(
        "dockerd: {} (storage driver {}, --bridge=none --iptables=false --ip6tables=false), up in {:.1} s",
        docker.ok(&["version", "--format", "{{.Server.Version}}"]),
        docker.driver,
        started.elapsed().as_secs_f64()
    ));

    // ---- build: scripts/build-image.sh against this daemon
    let build_started = Instant::now();
    let build_log = docker.dir.join("build.log");
    let log = std::fs::File::create(&build_log).unwrap();
    let status = Command::new(repo_root().join("scripts/build-image.sh"))
        .current_dir(repo_root())
        .env("DOCKER_HOST", &docker.host)
        .env("DOCKER_CONFIG", &docker.config)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("IMAGE")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "scripts/build-image.sh failed ({status}); its output ends with:\n{}\n\ndockerd's log ends with:\n{}",
        read_tail(&build_log, 60),
        docker.log_tail()
    );
    let size: u64 = docker
        .ok(&["image", "inspect", "-f", "{{.Size}}", IMAGE])
        .parse()
        .unwrap();
    summary.line(format!(
        "scripts/build-image.sh: {:.0} s; image {IMAGE}: {size} bytes ({:.1} MiB)",
        build_started.elapsed().as_secs_f64(),
        size as f64 / 1048576.0
    ));
    assert!(
        size < 64 * 1024 * 1024,
        "the image is {size} bytes: more than a static binary should need"
    );

    // ---- the image's configuration
    let config: Value =
        serde_json::from_str(&docker.ok(&["image", "inspect", "-f", "{{json .Config}}", IMAGE]))
            .unwrap();
    assert_eq!(config["User"], "10001:10001", "{config}");
    assert_eq!(config["WorkingDir"], "/app", "{config}");
    assert_eq!(config["Entrypoint"], json!(["/gpt2giga"]), "{config}");
    assert_eq!(
        config["Healthcheck"]["Test"],
        json!(["CMD", "/gpt2giga", "healthcheck"]),
        "{config}"
    );
    assert!(config["ExposedPorts"].get("8090/tcp").is_some(), "{config}");
    let env = config["Env"].as_array().cloned().unwrap_or_default();
    assert!(env.contains(&json!("GPT2GIGA_HOST=0.0.0.0")), "{config}");

    // ---- nothing but the binary and a few files; no shell
    let files = image_files(&docker);
    let expected: BTreeSet<String> = [
        "app/",
        "etc/",
        "etc/group",
        "etc/passwd",
        "gpt2giga",
        "tmp/",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(files, expected, "the image's files");
    let sh = docker.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        IMAGE,
        "-c",
        "true",
    ]);
    assert!(
        !sh.status.success(),
        "/bin/sh ran in the image: {}",
        String::from_utf8_lossy(&sh.stdout)
    );
    let why = String::from_utf8_lossy(&sh.stderr);
    assert!(why.contains("no such file or directory"), "{why}");

    // ---- run it: host network, demo mode, hardened like the compose files
    let port = common::free_port();
    let name = format!("gpt2giga-test-{}", std::process::id());
    let run_started = Instant::now();
    docker.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--health-interval",
        "1s",
        "-e",
        &format!("GPT2GIGA_PORT={port}"),
        IMAGE,
        "--demo",
    ]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_health(&docker, &name, &base).await;
    summary.line(format!(
        "container answering /health {:.2} s after docker run",
        run_started.elapsed().as_secs_f64()
    ));

    let r = common::http()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    let r = common::http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let content = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(content.contains("Hello"), "{answer}");
    assert_eq!(answer["model"], "gpt-4o", "{answer}");

    // Docker's HEALTHCHECK: `gpt2giga healthcheck` run by Docker, no shell involved.
    let health = docker_health(&docker, &name).await;
    assert_eq!(health["Status"], "healthy", "{health}");
    let output = health["Log"][0]["Output"].as_str().unwrap_or_default();
    assert_eq!(
        output.trim_end(),
        format!("healthy: GET http://127.0.0.1:{port}/health → 200 OK"),
        "{health}"
    );

    // Not root: the image says so, and so does the kernel about the process.
    assert_eq!(
        docker.ok(&["inspect", "-f", "{{.Config.User}}", &name]),
        "10001:10001"
    );
    let pid = docker.ok(&["inspect", "-f", "{{.State.Pid}}", &name]);
    let (uid, gid) = proc_ids(&pid);
    assert_eq!(uid, "10001 10001 10001 10001", "Uid of pid {pid}");
    assert_eq!(gid, "10001 10001 10001 10001", "Gid of pid {pid}");

    // The user can write its working directory: the log file is there.
    let mut cp = docker
        .command()
        .args(["cp", &format!("{name}:/app/gpt2giga.log"), "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let log_file = Command::new("tar")
        .args(["-xO"])
        .stdin(cp.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(
        cp.wait().unwrap().success(),
        "docker cp of /app/gpt2giga.log failed"
    );
    let log_text = String::from_utf8_lossy(&log_file.stdout);
    assert!(log_text.contains("listening on"), "{log_text}");

    // /ready (readiness, added with the Redis state work): 200 once the proxy serves.
    let r = common::http()
        .get(format!("{base}/ready"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "GET /ready: {body}");
    let ready = docker.docker(&["exec", &name, "/gpt2giga", "healthcheck", "--ready"]);
    assert!(
        ready.status.success(),
        "gpt2giga healthcheck --ready: {}{}",
        String::from_utf8_lossy(&ready.stdout),
        String::from_utf8_lossy(&ready.stderr)
    );

    // SIGTERM to PID 1 (the proxy itself) stops it promptly and cleanly.
    let stop_started = Instant::now();
    docker.ok(&["stop", "-t", "20", &name]);
    let stopped_in = stop_started.elapsed();
    let exit_code = docker.ok(&["inspect", "-f", "{{.State.ExitCode}}", &name]);
    assert_eq!(
        exit_code,
        "0",
        "exit code after docker stop; log:\n{}",
        container_logs(&docker, &name)
    );
    assert!(
        stopped_in < Duration::from_secs(10),
        "docker stop took {stopped_in:?}: SIGTERM was not handled"
    );
    summary.line(format!(
        "docker stop: {:.2} s, exit code 0; whole test {:.0} s",
        stopped_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

/// The lines of service `name` in `docker-compose config` output (services are indented
/// by two spaces, their settings by four or more).
fn service_block(config: &str, name: &str) -> String {
    let header = format!("  {name}:");
    let mut lines = config.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no service {name} in:\n{config}");
    lines
        .take_while(|l| l.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn compose(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("docker-compose")
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("COMPOSE_PROJECT_NAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn compose_files_validate() {
    require_tool(
        "docker-compose",
        "install docker-compose (Debian: apt-get install docker-compose)",
    );
    // A scratch copy: the repository's own .env (real secrets) must not be read or printed.
    let dir = tempfile::tempdir().unwrap();
    for file in ["docker-compose.yaml", "docker-compose.traefik.yaml"] {
        std::fs::copy(repo_root().join(file), dir.path().join(file)).unwrap();
    }
    std::fs::copy(repo_root().join(".env.example"), dir.path().join(".env")).unwrap();

    compose(dir.path(), &["config", "--quiet"]);
    for (profile, mode) in [("PROD", "PROD"), ("DEV", "DEV")] {
        let config = compose(dir.path(), &["--profile", profile, "config"]);
        let service = format!("gpt2giga-{}", profile.to_lowercase());
        let block = service_block(&config, &service);
        assert!(block.contains(&format!("GPT2GIGA_MODE: {mode}")), "{block}");
        assert!(block.contains(&format!("- {profile}")), "{block}");
        assert!(block.contains("image: gpt2giga:latest"), "{block}");
        assert!(block.contains("- 127.0.0.1:8090:8090/tcp"), "{block}");
        assert!(block.contains("/certs:ro"), "{block}");
        assert!(
            block.contains("- /gpt2giga\n      - healthcheck"),
            "{block}"
        );
        assert!(block.contains("restart: unless-stopped"), "{block}");
        assert!(
            block.contains("GIGACHAT_CA_BUNDLE_FILE: /certs/"),
            "{block}"
        );
    }

    let config = compose(dir.path(), &["-f", "docker-compose.traefik.yaml", "config"]);
    for (service, model) in [
        ("gigachat-2", "GigaChat-2"),
        ("gigachat-2-pro", "GigaChat-2-Pro"),
        ("gigachat-2-max", "GigaChat-2-Max"),
    ] {
        let block = service_block(&config, service);
        assert!(
            block.contains(&format!("GIGACHAT_MODEL: {model}")),
            "{block}"
        );
        assert!(
            block.contains("GPT2GIGA_STATE_URL: redis://redis:6379/0"),
            "{block}"
        );
        assert!(
            block.contains("GPT2GIGA_MAX_CONCURRENT_REQUESTS_PER_MODEL:"),
            "{block}"
        );
        assert!(block.contains("GPT2GIGA_MODE: PROD"), "{block}");
        assert!(
            block.contains(&format!("Host(`{service}.localhost`)")),
            "{block}"
        );
        assert!(block.contains("condition: service_healthy"), "{block}");
    }
    assert!(service_block(&config, "redis").contains("image: redis:"));
    assert!(service_block(&config, "traefik").contains("image: traefik:"));
}
