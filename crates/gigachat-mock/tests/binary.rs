//! The `gigachat-mock` binary announces its address and serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn binary_prints_listening_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gigachat-mock"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--chunk-size",
            "5",
            "--static-token",
            "pre-issued",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .unwrap()
        .unwrap();
    let pid = child.id();
    let result = async {
        let origin = line
            .trim_end()
            .strip_prefix("gigachat-mock listening on ")
            .unwrap_or_else(|| panic!("unexpected line: {line:?}"))
            .to_string();
        assert!(origin.starts_with("http://127.0.0.1:"), "{origin}");
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let health: serde_json::Value = client
            .get(format!("{origin}/__mock/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let cfg: serde_json::Value = client
            .get(format!("{origin}/__mock/config"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cfg["chunk_size"], 5);
        assert_eq!(cfg["accept_any_token"], false);
        let models = client
            .get(format!("{origin}/api/v1/models"))
            .bearer_auth("pre-issued")
            .send()
            .await
            .unwrap();
        assert_eq!(models.status(), 200);
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), result).await;
    // Stop the child by its pid (SIGTERM → graceful shutdown), then reap it.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let waited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    outcome.unwrap();
    assert!(waited.success() || waited.code().is_none(), "{waited:?}");
}
