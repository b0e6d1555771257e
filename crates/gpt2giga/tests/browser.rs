//! The HTML pages in a real headless Chromium: `/logs/html` refuses a wrong key, goes
//! live with the right one and shows a log line written after connecting; `/docs`
//! renders the OpenAPI document; `/console` lists live traffic, shows a record's four
//! bodies, replays it and completes a playground request; no page loads anything from
//! elsewhere.
//!
//! Needs (the test fails, never skips, without them):
//! * Chromium — `apt-get install -y chromium` (or `CHROMIUM=/path/to/chrome`);
//! * Node.js ≥ 20 and `playwright-core` — `npm ci --prefix crates/gpt2giga/tests/browser`.
//!
//! Screenshots land in `target/tmp/browser/` (`logs-viewer.png`,
//! `logs-viewer-wrong-key.png`, `docs.png`, `console-table.png`, `console-detail.png`,
//! `console-replay.png`, `console-playground.png`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::http;
use gigachat_mock::MockServer;
use serde_json::Value;

const KEY: &str = "browser-test-key-5c1d";

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    let default = PathBuf::from("/usr/bin/chromium");
    if default.exists() {
        return default;
    }
    panic!(
        "Chromium is missing: the log viewer must be checked in a real browser. Install it \
         (Debian/Ubuntu: `apt-get install -y chromium`) or point CHROMIUM at a Chrome/Chromium binary."
    );
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn check_node() {
    let version = Command::new("node").arg("--version").output();
    let ok = version.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "Node.js is missing: install Node.js 20 or later to run the browser test"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci --prefix crates/gpt2giga/tests/browser`"
    );
}

struct Running {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary (so the live log is fed by real logging), with an API key and
/// `extra` arguments (`{dir}` in them is its working directory).
async fn run_binary(mock: &MockServer, extra: &[&str]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gpt2giga.log");
    let port = common::free_port();
    let extra: Vec<String> = extra
        .iter()
        .map(|a| a.replace("{dir}", dir.path().to_str().unwrap()))
        .collect();
    let child = Command::new(env!("CARGO_BIN_EXE_gpt2giga"))
        .env_clear()
        .current_dir(dir.path())
        .env("GIGACHAT_CREDENTIALS", common::credentials())
        .env("GPT2GIGA_ENABLE_API_KEY_AUTH", "true")
        .env("GPT2GIGA_API_KEY", KEY)
        .args([
            "--proxy.host",
            "127.0.0.1",
            "--proxy.port",
            &port.to_string(),
            "--proxy.log-filename",
            log.to_str().unwrap(),
            "--gigachat.base-url",
            &mock.base_url(),
            "--gigachat.auth-url",
            &mock.auth_url(),
        ])
        .args(&extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http().get(format!("{}/health", running.base)).send().await
            && r.status() == 200
        {
            return running;
        }
        if let Some(status) = running.child.try_wait().unwrap() {
            panic!("gpt2giga exited early: {status}");
        }
        assert!(Instant::now() < deadline, "gpt2giga did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn log_viewer_and_docs_work_in_headless_chromium() {
    let chromium = chromium();
    check_node();
    let mock = MockServer::start().await.unwrap();
    let run = run_binary(&mock, &[]).await;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");

    let mut node = tokio::process::Command::new("node");
    node.current_dir(browser_dir())
        .arg("viewer.mjs")
        .arg(&run.base)
        .arg(KEY)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), node.output())
        .await
        .expect("the browser check took longer than 3 minutes")
        .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser check failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON summary ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["status"], "Live", "{summary}");
    assert!(summary["lines"].as_u64().unwrap() >= 2, "{summary}");
    assert!(summary["operations"].as_u64().unwrap() >= 30, "{summary}");
    assert_eq!(summary["external"], serde_json::json!([]), "{summary}");
    for shot in ["logs-viewer.png", "logs-viewer-wrong-key.png", "docs.png"] {
        let path = shots.join(shot);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(size > 10_000, "{} is only {size} bytes", path.display());
    }
    eprintln!("screenshots: {}", shots.display());
}

#[tokio::test]
async fn console_works_in_headless_chromium() {
    let chromium = chromium();
    check_node();
    let mock = MockServer::start().await.unwrap();
    let run = run_binary(
        &mock,
        &[
            "--proxy.traffic-log-url",
            "sqlite://{dir}/traffic.db",
            "--proxy.traffic-log-level",
            "bodies",
        ],
    )
    .await;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let mut node = tokio::process::Command::new("node");
    node.current_dir(browser_dir())
        .arg("console.mjs")
        .arg(&run.base)
        .arg(KEY)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), node.output())
        .await
        .expect("the console check took longer than 3 minutes")
        .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the console check failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON summary ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["external"], serde_json::json!([]), "{summary}");
    assert!(summary["rows"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(
        summary["replayStatus"], "Replay · 200 (was 200)",
        "{summary}"
    );
    assert!(
        summary["playground"].as_str().unwrap().len() > 3,
        "{summary}"
    );
    // What the console showed is what GigaChat got: the playground's prompt.
    let last = mock
        .control()
        .last_request("/chat/completions")
        .unwrap()
        .json()
        .unwrap();
    assert!(last.to_string().contains("playground-prompt"), "{last}");
    for shot in [
        "console-table.png",
        "console-detail.png",
        "console-replay.png",
        "console-playground.png",
    ] {
        let path = shots.join(shot);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(size > 10_000, "{} is only {size} bytes", path.display());
    }
    eprintln!("screenshots: {}", shots.display());
}
