//! Child processes (spawned, pinned, stopped by pid) and what `/proc` says about them.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

/// A started process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    child: Child,
    pub log: PathBuf,
    stopped: bool,
}

impl Proc {
    /// Spawns `cmd` (already pinned, if wanted) with stdout+stderr to `log` unless
    /// `pipe_stdout` (then stdout is a pipe readable with [`Proc::read_stdout_line`]).
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        log: PathBuf,
        pipe_stdout: bool,
    ) -> anyhow::Result<Self> {
        let file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let stdout = if pipe_stdout {
            Stdio::piped()
        } else {
            Stdio::from(file.try_clone()?)
        };
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(file));
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_string(),
            pid: child.id(),
            child,
            log,
            stopped: false,
        })
    }

    /// Reads the first stdout line (blocking, bounded by `timeout`).
    pub fn read_stdout_line(&mut self, timeout: Duration) -> anyhow::Result<String> {
        let stdout = self
            .child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{}: stdout is not piped", self.name))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let res = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(res);
            // Keep the pipe open (and drained) for the life of the child.
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(Ok(line)) if !line.is_empty() => Ok(line.trim().to_string()),
            Ok(Ok(_)) => bail!(
                "{} exited before announcing its port; see {}",
                self.name,
                self.log.display()
            ),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => bail!("{} did not announce its port within {timeout:?}", self.name),
        }
    }

    /// `Some(status)` when the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, up to 3 s of grace, then SIGKILL. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Last `n` lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A command, prefixed with `taskset -c CPUS` when `cpus` is given, with a clean
/// environment (see [`clean_env`]).
pub fn pinned(program: &Path, cpus: Option<&str>) -> Command {
    let mut cmd = match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(program);
            c
        }
        None => Command::new(program),
    };
    clean_env(&mut cmd);
    cmd
}

/// Removes the proxy's configuration variables inherited from the caller's environment,
/// so every target runs with the settings the bench gives it.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy().to_ascii_uppercase();
        if k.starts_with("GIGACHAT_") || k.starts_with("GPT2GIGA_") || k == "RUST_LOG" {
            cmd.env_remove(&key);
        }
    }
}

/// A free loopback port (bound and released; the target binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Waits until `127.0.0.1:port` accepts a TCP connection; returns the time since
/// `started`. Fails if the process exits or `timeout` passes.
pub async fn wait_accepting(
    proc: &mut Proc,
    port: u16,
    started: Instant,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Ok(Ok(_stream)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            return Ok(started.elapsed());
        }
        if let Some(status) = proc.exited() {
            bail!(
                "{} exited ({status}) before accepting connections; log {}:\n{}",
                proc.name,
                proc.log.display(),
                log_tail(&proc.log, 20)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "{} did not accept connections within {timeout:?}",
                proc.name
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Clock ticks per second for `/proc/<pid>/stat` times.
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of a process (all its threads), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 counting from field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in MiB.
pub fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let kb: f64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb / 1024.0)
    })
}

/// Resets the peak-RSS counter (`VmHWM`) of a process (Linux ≥ 4.0, needs permission
/// to write its `clear_refs`). Returns whether it worked.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Soft limit of open files of this process (children inherit it).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Busy time of the whole machine (all CPUs; `/proc/stat` user + nice + system + irq +
/// softirq + steal), in clock ticks.
pub fn system_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal …
    Some([0, 1, 2, 5, 6, 7].iter().filter_map(|i| v.get(*i)).sum())
}

/// CPU time meter over a set of processes (and the whole machine).
pub struct CpuMeter {
    ticks_per_sec: f64,
    system_start: Option<u64>,
    start: Vec<Option<u64>>,
    pids: Vec<u32>,
    at: Instant,
}

impl CpuMeter {
    pub fn start(pids: &[u32], ticks_per_sec: f64) -> Self {
        Self {
            ticks_per_sec,
            system_start: system_busy_ticks(),
            start: pids.iter().map(|p| cpu_ticks(*p)).collect(),
            pids: pids.to_vec(),
            at: Instant::now(),
        }
    }

    /// CPU use of each process since `start`, in % of one core, and the machine's busy
    /// time not spent in those processes (other work disturbing the measurement).
    pub fn stop(&self) -> (Vec<Option<f64>>, Option<f64>) {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let used: Vec<Option<f64>> = self
            .pids
            .iter()
            .zip(&self.start)
            .map(|(pid, start)| {
                let end = cpu_ticks(*pid)?;
                let used = end.saturating_sub((*start)?) as f64 / self.ticks_per_sec;
                Some(100.0 * used / wall)
            })
            .collect();
        let other = system_busy_ticks()
            .zip(self.system_start)
            .map(|(end, start)| {
                let total = 100.0 * end.saturating_sub(start) as f64 / self.ticks_per_sec / wall;
                (total - used.iter().flatten().sum::<f64>()).max(0.0)
            });
        (used, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stats() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_some());
        assert!(status_mib(pid, "VmRSS").unwrap() > 0.0);
        assert!(status_mib(pid, "VmHWM").unwrap() > 0.0);
    }
}
