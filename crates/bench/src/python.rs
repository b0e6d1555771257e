//! The optional Python gpt2giga: a venv under `target/bench-venv` with
//! `pip install gpt2giga==<version>` (only with `--python`, only when pip can reach its
//! index; otherwise the Python target is skipped with a note).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::Command;

/// Runs a command with a time limit; returns its stdout.
async fn run(cmd: &mut Command, limit: Duration, what: &str) -> anyhow::Result<String> {
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .with_context(|| format!("{what}: timed out after {limit:?}"))?
        .with_context(|| format!("{what}: cannot run"))?;
    if !out.status.success() {
        bail!(
            "{what}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn installed_version(python: &Path) -> Option<String> {
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import importlib.metadata as m; print(m.version('gpt2giga'))",
    ]);
    run(&mut cmd, Duration::from_secs(60), "version check")
        .await
        .ok()
}

/// Makes sure `venv` holds gpt2giga `version`; returns the `gpt2giga` script.
pub async fn ensure(venv: &Path, version: &str) -> anyhow::Result<(PathBuf, String)> {
    let python = venv.join("bin/python");
    let script = venv.join("bin/gpt2giga");
    if !python.exists() {
        eprintln!("bench: creating {}", venv.display());
        let mut cmd = Command::new("python3");
        cmd.arg("-m").arg("venv").arg(venv);
        run(&mut cmd, Duration::from_secs(300), "python3 -m venv").await?;
    }
    if installed_version(&python).await.as_deref() != Some(version) || !script.exists() {
        eprintln!(
            "bench: pip install gpt2giga=={version} (into {})",
            venv.display()
        );
        let mut cmd = Command::new(venv.join("bin/pip"));
        cmd.args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &format!("gpt2giga=={version}"),
        ]);
        run(&mut cmd, Duration::from_secs(900), "pip install").await?;
    }
    let got = installed_version(&python).await.unwrap_or_default();
    if !script.exists() {
        bail!("{} missing after install", script.display());
    }
    Ok((script, got))
}
