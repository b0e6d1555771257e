//! `gpt2giga healthcheck` the way Docker's `HEALTHCHECK` runs it: the real binary, with
//! the proxy's environment, probing the real proxy (`--demo`, started as a process) or
//! a stand-in; exit status 0 when healthy, 1 otherwise, one line of output either way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

const BIN: &str = env!("CARGO_BIN_EXE_gpt2giga");

/// The proxy in `--demo` mode as a child process, configured only by `env`.
struct Demo {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    async fn start(env: &[(&str, &str)], health_url: &str) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("stderr.txt")).unwrap();
        let child = Command::new(BIN)
            .arg("--demo")
            .env_clear()
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut demo = Demo { child, dir };
        let client = reqwest::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(health_url).send().await
                && r.status() == 200
            {
                return demo;
            }
            if let Some(status) = demo.child.try_wait().unwrap() {
                panic!("gpt2giga exited early ({status}):\n{}", demo.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "gpt2giga did not start:\n{}",
                demo.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Everything printed, which must be exactly one line.
    fn line(&self) -> String {
        let all = format!("{}{}", self.stdout, self.stderr);
        assert_eq!(all.lines().count(), 1, "one line expected: {all:?}");
        all.trim_end().to_string()
    }
}

/// Runs `gpt2giga healthcheck ARGS` with exactly `env`, in an empty directory.
async fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    healthcheck_in(dir.path(), args, env).await
}

async fn healthcheck_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let out = tokio::process::Command::new(BIN)
        .arg("healthcheck")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .await
        .unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn a_live_proxy_is_healthy_and_a_closed_port_is_not() {
    let port = common::free_port().to_string();
    let env = [("GPT2GIGA_HOST", "127.0.0.1"), ("GPT2GIGA_PORT", &port)];
    let _demo = Demo::start(&env, &format!("http://127.0.0.1:{port}/health")).await;

    // The proxy's own environment finds it, as inside the container.
    let ok = healthcheck(&[], &env).await;
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(
        ok.line(),
        format!("healthy: GET http://127.0.0.1:{port}/health → 200 OK")
    );
    assert!(ok.stderr.is_empty());

    // So does `.env` in the working directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("GPT2GIGA_HOST=127.0.0.1\nGPT2GIGA_PORT={port}\n"),
    )
    .unwrap();
    let ok = healthcheck_in(dir.path(), &[], &[]).await;
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);

    // --url names the target; nothing else is needed.
    let url = format!("http://127.0.0.1:{port}/health");
    let ok = healthcheck(&["--url", &url], &[]).await;
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);

    // A port nobody listens on.
    let closed = common::free_port().to_string();
    let down = healthcheck(&[], &[("GPT2GIGA_PORT", &closed)]).await;
    assert_eq!(down.code, 1);
    assert!(down.stdout.is_empty());
    let line = down.line();
    assert!(
        line.starts_with(&format!(
            "unhealthy: GET http://localhost:{closed}/health: "
        )),
        "{line}"
    );
    let down = healthcheck(
        &["--url", &format!("http://127.0.0.1:{closed}/health")],
        &[],
    )
    .await;
    assert_eq!(down.code, 1, "{}", down.line());
}

/// A stand-in whose `/ready` answers 503 with a JSON reason until it is switched on.
async fn ready_stub(ready: Arc<AtomicBool>) -> (String, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/ready",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready.load(Ordering::SeqCst) {
                        (StatusCode::OK, r#"{"status":"ready"}"#)
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "{\n  \"status\": \"not ready\",\n  \"reason\": \"state store unreachable\"\n}",
                        )
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port.to_string(), task)
}

#[tokio::test]
async fn ready_probes_ready_and_reports_why_not() {
    let ready = Arc::new(AtomicBool::new(false));
    let (port, task) = ready_stub(ready.clone()).await;
    let env = [
        ("GPT2GIGA_HOST", "0.0.0.0"),
        ("GPT2GIGA_PORT", port.as_str()),
    ];

    let alive = healthcheck(&[], &env).await;
    assert_eq!(alive.code, 0, "{}", alive.line());

    let not_ready = healthcheck(&["--ready"], &env).await;
    assert_eq!(not_ready.code, 1);
    assert_eq!(
        not_ready.line(),
        format!(
            "unhealthy: GET http://127.0.0.1:{port}/ready → 503 Service Unavailable: \
             {{ \"status\": \"not ready\", \"reason\": \"state store unreachable\" }}"
        )
    );

    ready.store(true, Ordering::SeqCst);
    let ok = healthcheck(&["--ready"], &env).await;
    assert_eq!(ok.code, 0, "{}", ok.line());
    assert!(ok.line().ends_with("/ready → 200 OK"), "{}", ok.line());
    task.abort();
}

#[tokio::test]
async fn https_on_loopback_is_probed_without_verifying_the_certificate() {
    // A certificate for a public name, as a real deployment has: 127.0.0.1 does not match.
    let ck = rcgen::generate_simple_self_signed(vec!["gpt2giga.example.com".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let port = common::free_port().to_string();
    let env = [
        ("GPT2GIGA_HOST", "127.0.0.1"),
        ("GPT2GIGA_PORT", port.as_str()),
        ("GPT2GIGA_USE_HTTPS", "true"),
        ("GPT2GIGA_HTTPS_CERT_FILE", cert.to_str().unwrap()),
        ("GPT2GIGA_HTTPS_KEY_FILE", key.to_str().unwrap()),
    ];
    let _demo = Demo::start(&env, &format!("https://127.0.0.1:{port}/health")).await;

    let ok = healthcheck(&[], &env).await;
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(
        ok.line(),
        format!("healthy: GET https://127.0.0.1:{port}/health → 200 OK")
    );
    // Only the scheme and the port matter to the probe, not the key files.
    let ok = healthcheck(
        &[],
        &[
            ("GPT2GIGA_PORT", port.as_str()),
            ("GPT2GIGA_USE_HTTPS", "1"),
        ],
    )
    .await;
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);

    // Plain HTTP on the TLS port is no answer.
    let plain = healthcheck(
        &[],
        &[("GPT2GIGA_HOST", "127.0.0.1"), ("GPT2GIGA_PORT", &port)],
    )
    .await;
    assert_eq!(plain.code, 1, "{}", plain.line());
}

#[tokio::test]
async fn a_silent_server_fails_within_the_timeout() {
    // Connections are accepted by the kernel, but nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", silent.local_addr().unwrap());
    let started = Instant::now();
    let out = healthcheck(&["--url", &url, "--timeout", "0.5"], &[]).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.line(),
        format!("unhealthy: GET {url}: no answer within 0.5 s")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}

#[tokio::test]
async fn usage_errors_exit_1_never_docker_reserved_2() {
    let out = healthcheck(&["--bogus"], &[]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--bogus"));
    let help = healthcheck(&["--help"], &[]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Usage: gpt2giga healthcheck"));
    assert!(help.stdout.contains("--ready"));
}

#[test]
fn the_proxy_help_is_unchanged() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.starts_with("OpenAI- and Anthropic-compatible proxy"),
        "{help}"
    );
    assert!(!help.contains("healthcheck"));
}
