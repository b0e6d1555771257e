//! `bench` — the gpt2giga load benchmark (issue #7). See `crates/bench/README.md`.
//!
//! ```sh
//! cargo run --release -p gpt2giga-bench -- [--quick] [--python] [--duration 3]
//! ```
//!
//! One run starts `gigachat-mock`, a null pass-through proxy (this binary's hidden
//! `null-proxy` sub-command), the release `gpt2giga` and optionally the Python gpt2giga;
//! drives each with the built-in load generator over the workload matrix and a slow-stream
//! soak; and prints a table (also `target/bench/results.md` and `results.json`).

mod load;
mod nginx;
mod null_proxy;
mod procs;
mod python;
mod report;
mod workloads;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Parser, Subcommand};

use crate::load::{HttpClient, Spec};
use crate::procs::{CpuMeter, Proc};
use crate::report::{Cell, Results, TargetInfo};
use crate::workloads::Workload;

/// The null pass-through's fixed upstream token (the mock accepts any token).
const NULL_TOKEN: &str = "bench-static-token";
/// Authorization key given to the proxies; the mock issues a token for any base64 key.
const CREDENTIALS: &str = "YmVuY2g6YmVuY2g="; // base64("bench:bench")
const NULL: &str = "null";
/// The nginx pass-through target.
const NGINX: &str = "nginx";
/// The traffic-log levels `--traffic-log` measures.
const TRAFFIC_LEVELS: &[&str] = &["metadata", "bodies"];

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Load benchmark: gpt2giga vs a null pass-through proxy (and the Python gpt2giga) in front of gigachat-mock",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// (internal) Run the null pass-through proxy.
    #[command(hide = true)]
    NullProxy {
        #[arg(long)]
        port: u16,
        /// Upstream origin, e.g. http://127.0.0.1:8091
        #[arg(long)]
        upstream: String,
        #[arg(long, default_value = NULL_TOKEN)]
        token: String,
    },
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Reduced matrix for smoke testing (c = 1 and 16, 1 s cells, 200-stream soak).
    #[arg(long)]
    quick: bool,
    /// Also benchmark the Python gpt2giga (pip install into target/bench-venv).
    #[arg(long)]
    python: bool,
    /// Python gpt2giga version to install.
    #[arg(long, default_value = "0.3.0")]
    python_version: String,
    /// Measured seconds per cell [default: 3, --quick: 1].
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up seconds before each cell [default: 1, --quick: 0.3].
    #[arg(long)]
    warmup: Option<f64>,
    /// Concurrency levels [default: 1,16,128; --quick: 1,16].
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Only these workloads (chat, chat-50ms, chat-stream, embeddings, messages,
    /// messages-stream).
    #[arg(long, value_delimiter = ',')]
    workloads: Option<Vec<String>>,
    /// Concurrent streams in the soak (0 skips it) [default: 1000, --quick: 200].
    #[arg(long)]
    soak_streams: Option<usize>,
    /// Seconds during which soak streams are started [default: 5, --quick: 2].
    #[arg(long)]
    soak_duration: Option<f64>,
    /// Seconds over which the soak's streams are opened (a burst of thousands of
    /// simultaneous connects overflows 128-entry listen backlogs: 1 s SYN retries).
    #[arg(long, default_value_t = 1.0)]
    soak_ramp: f64,
    /// Mock delay between stream frames in the soak (50 content frames per stream).
    #[arg(long, default_value_t = 20)]
    soak_chunk_delay_ms: u64,
    /// A silence between two stream chunks longer than this counts as a stall.
    #[arg(long, default_value_t = 2000)]
    stall_ms: u64,
    /// Do not run `cargo build --release -p gpt2giga -p gigachat-mock` first.
    #[arg(long)]
    no_build: bool,
    /// Before each cell, wait up to this many seconds for the machine to be quiet
    /// (other work below 25 % of a core), so a concurrent build does not skew a cell.
    #[arg(long, default_value_t = 10.0)]
    quiet_wait: f64,
    /// Do not pin processes to cores.
    #[arg(long)]
    no_pin: bool,
    /// Do not run the nginx pass-through (by default it runs when `nginx` is installed:
    /// Debian's `nginx-light`).
    #[arg(long)]
    no_nginx: bool,
    /// Also run gpt2giga with the traffic log on (SQLite), once per level
    /// (`gpt2giga+log-metadata`, `gpt2giga+log-bodies`), and report what each costs in RPS
    /// against plain `gpt2giga` per cell.
    #[arg(long)]
    traffic_log: bool,
    /// Output folder [default: <target>/bench].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The settings actually used (defaults resolved).
#[derive(Debug, Clone, serde::Serialize)]
struct Settings {
    quick: bool,
    duration_s: f64,
    warmup_s: f64,
    concurrency: Vec<usize>,
    workloads: Vec<String>,
    soak_streams: usize,
    soak_duration_s: f64,
    soak_ramp_s: f64,
    soak_chunk_delay_ms: u64,
    stall_ms: u64,
    quiet_wait_s: f64,
    reply_tokens: u32,
    chunk_size: usize,
    embedding_inputs: usize,
}

impl RunArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let q = self.quick;
        let all: Vec<String> = workloads::matrix()
            .iter()
            .map(|w| w.id.to_string())
            .collect();
        let chosen = self.workloads.clone().unwrap_or_else(|| all.clone());
        if let Some(bad) = chosen.iter().find(|w| !all.contains(w)) {
            bail!("unknown workload {bad:?}; known: {}", all.join(", "));
        }
        let s = Settings {
            quick: q,
            duration_s: self.duration.unwrap_or(if q { 1.0 } else { 3.0 }),
            warmup_s: self.warmup.unwrap_or(if q { 0.3 } else { 1.0 }),
            concurrency: self
                .concurrency
                .clone()
                .unwrap_or_else(|| if q { vec![1, 16] } else { vec![1, 16, 128] }),
            workloads: chosen,
            soak_streams: self.soak_streams.unwrap_or(if q { 200 } else { 1000 }),
            soak_duration_s: self.soak_duration.unwrap_or(if q { 2.0 } else { 5.0 }),
            soak_ramp_s: self.soak_ramp,
            soak_chunk_delay_ms: self.soak_chunk_delay_ms,
            stall_ms: self.stall_ms,
            quiet_wait_s: self.quiet_wait,
            reply_tokens: workloads::REPLY_TOKENS,
            chunk_size: workloads::CHUNK_SIZE,
            embedding_inputs: workloads::EMBEDDING_INPUTS,
        };
        let bounded = |x: f64| x.is_finite() && (0.0..=600.0).contains(&x);
        if !bounded(s.duration_s)
            || s.duration_s == 0.0
            || !bounded(s.warmup_s)
            || !bounded(s.soak_duration_s)
            || !bounded(s.soak_ramp_s)
            || !bounded(s.quiet_wait_s)
        {
            bail!("durations must be within (0, 600] seconds");
        }
        if s.concurrency.iter().any(|c| *c == 0 || *c > 10_000) || s.soak_streams > 10_000 {
            bail!("concurrency must be within 1..=10000");
        }
        Ok(s)
    }
}

/// Which CPUs each party gets (`taskset -c` lists).
#[derive(Debug, Clone, Default)]
struct Pinning {
    mock: Option<String>,
    target: Option<String>,
    loadgen: Option<String>,
    note: String,
}

fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pinning(enabled: bool) -> Pinning {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !enabled {
        return Pinning {
            note: "off (--no-pin)".into(),
            ..Pinning::default()
        };
    }
    if n < 2 || !have_taskset() {
        return Pinning {
            note: format!(
                "off ({n} CPU(s), taskset {})",
                if have_taskset() { "present" } else { "missing" }
            ),
            ..Pinning::default()
        };
    }
    let last = n - 1;
    let (mock, loadgen) = if n == 2 {
        ("0".to_string(), "0".to_string())
    } else if n == 3 {
        ("0".to_string(), "1".to_string())
    } else {
        ("0".to_string(), format!("1-{}", last - 1))
    };
    Pinning {
        note: format!(
            "{n} CPUs: target under test alone on CPU {last}; gigachat-mock on CPU {mock}; load generator on CPU {loadgen}"
        ),
        mock: Some(mock),
        target: Some(last.to_string()),
        loadgen: Some(loadgen),
    }
}

/// Pins this process (all threads; call before the runtime starts) to `cpus`.
fn pin_self(cpus: &str) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("taskset -p failed: {status}");
    }
    Ok(())
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let n = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} GiB RAM", kb / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {n} CPUs, {mem}, Linux {}", kernel.trim())
}

struct Paths {
    root: PathBuf,
    target_dir: PathBuf,
    out: PathBuf,
    logs: PathBuf,
}

fn paths(args: &RunArgs) -> anyhow::Result<Paths> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .context("cannot find the workspace root")?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let out = args.out.clone().unwrap_or_else(|| target_dir.join("bench"));
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    Ok(Paths {
        root,
        target_dir,
        out,
        logs,
    })
}

fn build(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release -p gpt2giga -p gigachat-mock");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "gpt2giga",
            "-p",
            "gigachat-mock",
        ])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build failed: {status}");
    }
    Ok(())
}

/// Builds a target's command for a given port (so it can be restarted).
type Launcher = Box<dyn Fn(u16) -> Command>;

/// A running target.
struct Target {
    info: TargetInfo,
    proc: Proc,
    port: u16,
    /// The null pass-through answers GigaChat's own bytes.
    raw_upstream: bool,
    launch: Launcher,
    logs: PathBuf,
}

/// Spawns on a free port; returns the process, the port and the start-up time.
async fn spawn_target(
    name: &str,
    launch: &Launcher,
    logs: &Path,
    generation: u32,
) -> anyhow::Result<(Proc, u16, Duration)> {
    let port = procs::free_port()?;
    let cmd = launch(port);
    let log = if generation == 0 {
        logs.join(format!("{name}.log"))
    } else {
        logs.join(format!("{name}.{generation}.log"))
    };
    let started = Instant::now();
    let mut proc = Proc::spawn(name, cmd, log, false)?;
    let startup = procs::wait_accepting(&mut proc, port, started, Duration::from_secs(60)).await?;
    Ok((proc, port, startup))
}

async fn start_target(
    name: &str,
    version: String,
    launch: Launcher,
    cpus: Option<&str>,
    logs: &Path,
) -> anyhow::Result<Target> {
    let (proc, port, startup) = spawn_target(name, &launch, logs, 0).await?;
    // Let start-up work finish before reading the idle footprint.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let info = TargetInfo {
        name: name.to_string(),
        version,
        pid: proc.pid,
        cpus: cpus.map(str::to_string),
        startup_ms: Some(startup.as_secs_f64() * 1000.0),
        idle_rss_mib: procs::status_mib(proc.pid, "VmRSS"),
        final_rss_mib: None,
        matrix_peak_rss_mib: None,
        soak_peak_rss_mib: None,
    };
    eprintln!(
        "bench: {name} (pid {}) up in {:.1} ms, idle RSS {:.1} MiB",
        proc.pid,
        startup.as_secs_f64() * 1000.0,
        info.idle_rss_mib.unwrap_or(0.0)
    );
    Ok(Target {
        info,
        proc,
        port,
        raw_upstream: false,
        launch,
        logs: logs.to_path_buf(),
    })
}

impl Target {
    /// Stops the process and starts a fresh one (new pid and port).
    async fn restart(&mut self) -> anyhow::Result<()> {
        self.proc.stop();
        let (proc, port, _) = spawn_target(&self.info.name, &self.launch, &self.logs, 1).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.proc = proc;
        self.port = port;
        self.info.pid = self.proc.pid;
        Ok(())
    }
}

async fn wait_quiet_logged(pids: Vec<u32>, ticks: f64, max_wait: Duration) {
    let started = Instant::now();
    let other = wait_quiet(&pids, ticks, 25.0, max_wait).await;
    let waited = started.elapsed();
    if waited > Duration::from_secs(1) {
        eprintln!(
            "bench: waited {:.1} s for other work to calm down (now {:.0} % of a core)",
            waited.as_secs_f64(),
            other.unwrap_or(f64::NAN)
        );
    }
}

/// Waits (at most `max_wait`) until the machine is quiet: less than `threshold` % of
/// a core busy outside `pids` over a 250 ms window. Returns the last reading.
async fn wait_quiet(pids: &[u32], ticks: f64, threshold: f64, max_wait: Duration) -> Option<f64> {
    let until = Instant::now() + max_wait;
    loop {
        let meter = CpuMeter::start(pids, ticks);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, other) = meter.stop();
        if other.is_none_or(|o| o < threshold) || Instant::now() >= until {
            return other;
        }
    }
}

async fn mock_config(client: &HttpClient, origin: &str, w: &Workload) -> anyhow::Result<()> {
    let body = serde_json::json!({"latency_ms": w.latency_ms, "chunk_delay_ms": w.chunk_delay_ms});
    let (status, resp) = load::post_json(client, &format!("{origin}/__mock/config"), &body).await?;
    if !status.is_success() {
        bail!(
            "mock config {body}: {status} {}",
            String::from_utf8_lossy(&resp)
        );
    }
    Ok(())
}

fn spec(t: &Target, w: &Workload, timeout: Duration, stall: Duration) -> anyhow::Result<Arc<Spec>> {
    Ok(Arc::new(Spec {
        uri: format!("http://127.0.0.1:{}{}", t.port, w.path()).parse()?,
        headers: w.headers(),
        body: w.body(),
        expect: w.expectation(t.raw_upstream),
        timeout,
        stall,
    }))
}

fn secs(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    client: &HttpClient,
    t: &Target,
    w: &Workload,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    ramp: Duration,
    spec: Arc<Spec>,
    mock_pid: u32,
    ticks: f64,
    soak: bool,
    shared_harness_core: bool,
) -> Cell {
    if !warmup.is_zero() {
        let _ = load::run(client, spec.clone(), concurrency, warmup, Duration::ZERO).await;
    }
    procs::reset_peak_rss(t.proc.pid);
    let meter = CpuMeter::start(&[t.proc.pid, mock_pid, std::process::id()], ticks);
    let (mut stats, elapsed) = load::run(client, spec, concurrency, duration, ramp).await;
    let (cpu, other_cpu) = meter.stop();
    let peak = procs::status_mib(t.proc.pid, "VmHWM");
    stats.latency_us.sort_unstable();
    stats.ttfb_us.sort_unstable();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let (target_cpu, mock_cpu, gen_cpu) = (
        cpu.first().copied().flatten(),
        cpu.get(1).copied().flatten(),
        cpu.get(2).copied().flatten(),
    );
    let bound = if target_cpu.is_some_and(|c| c >= 90.0) {
        "target"
    } else if shared_harness_core && mock_cpu.unwrap_or(0.0) + gen_cpu.unwrap_or(0.0) >= 90.0 {
        "harness"
    } else {
        "-"
    };
    Cell {
        target: t.info.name.clone(),
        workload: w.id.to_string(),
        concurrency,
        soak,
        stream: w.stream,
        elapsed_s: secs,
        rps: stats.ok as f64 / secs,
        ratio: None,
        ratio_nginx: None,
        p50_ms: load::percentile_ms(&stats.latency_us, 50.0),
        p99_ms: load::percentile_ms(&stats.latency_us, 99.0),
        ttfb_p50_ms: load::percentile_ms(&stats.ttfb_us, 50.0),
        ttfb_p99_ms: load::percentile_ms(&stats.ttfb_us, 99.0),
        cpu_pct: target_cpu,
        mock_cpu_pct: mock_cpu,
        loadgen_cpu_pct: gen_cpu,
        peak_rss_mib: peak,
        other_cpu_pct: other_cpu,
        bound: bound.to_string(),
        stats,
    }
}

fn progress(c: &Cell) {
    eprintln!(
        "bench: {:<10} {:<16} c={:<5} {:>9.1} rps  p50 {:>8.2} ms  p99 {:>8.2} ms  err {:<4} lost {:<4} cpu {:>4.0}%  mock {:>4.0}%  gen {:>4.0}%",
        c.target,
        c.workload,
        c.concurrency,
        c.rps,
        c.p50_ms.unwrap_or(f64::NAN),
        c.p99_ms.unwrap_or(f64::NAN),
        c.stats.errors,
        c.stats.lost_frames,
        c.cpu_pct.unwrap_or(f64::NAN),
        c.mock_cpu_pct.unwrap_or(f64::NAN),
        c.loadgen_cpu_pct.unwrap_or(f64::NAN),
    );
}

async fn run(args: RunArgs, pin: Pinning, command: String) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let p = paths(&args)?;
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let root = p.root.to_string_lossy().to_string();
    let commit = sh("git", &["-C", &root, "rev-parse", "--short", "HEAD"])
        .map(|c| {
            let dirty = sh(
                "git",
                &["-C", &root, "status", "--porcelain", "--untracked-files=no"],
            )
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} (with uncommitted changes)")
            } else {
                c
            }
        })
        .unwrap_or_else(|| "unknown".into());
    let mut notes: Vec<String> = Vec::new();
    if !args.no_build {
        build(&p.root)?;
    }
    let release = p.target_dir.join("release");
    let mock_bin = release.join("gigachat-mock");
    let proxy_bin = release.join("gpt2giga");
    for b in [&mock_bin, &proxy_bin] {
        if !b.exists() {
            bail!(
                "{} is missing: run `cargo build --release -p gpt2giga -p gigachat-mock` (or drop --no-build)",
                b.display()
            );
        }
    }
    if let Some(limit) = procs::open_files_limit()
        && limit < 3 * settings.soak_streams as u64 + 256
    {
        notes.push(format!(
            "open-file limit {limit} may be too low for {} soak streams (raise `ulimit -n`)",
            settings.soak_streams
        ));
    }
    let ticks = procs::clock_ticks();

    // The Python gpt2giga is installed before anything starts (it can take minutes).
    let python = if args.python {
        match python::ensure(&p.target_dir.join("bench-venv"), &args.python_version).await {
            Ok(x) => Some(x),
            Err(e) => {
                let msg = format!("Python gpt2giga skipped: {e:#}");
                eprintln!("bench: {msg}");
                notes.push(msg);
                None
            }
        }
    } else {
        None
    };

    // gigachat-mock: any bearer token, no recording, 5-character stream chunks.
    let mut cmd = procs::pinned(&mock_bin, pin.mock.as_deref());
    cmd.args([
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--accept-any-token",
        "--record-capacity",
        "0",
        "--chunk-size",
    ])
    .arg(workloads::CHUNK_SIZE.to_string());
    cmd.env("RUST_LOG", "error");
    let mock_started = Instant::now();
    let mut mock = Proc::spawn("gigachat-mock", cmd, p.logs.join("gigachat-mock.log"), true)?;
    let line = mock.read_stdout_line(Duration::from_secs(30))?;
    let mock_startup = mock_started.elapsed();
    let origin = line
        .rsplit(' ')
        .next()
        .filter(|o| o.starts_with("http://"))
        .ok_or_else(|| anyhow!("unexpected mock banner: {line:?}"))?
        .to_string();
    let client = load::client();
    let (status, body) = load::post_json(
        &client,
        &format!("{origin}/__mock/rules"),
        &workloads::reply_rule(),
    )
    .await?;
    if !status.is_success() {
        bail!("mock rule: {status} {}", String::from_utf8_lossy(&body));
    }
    let mock_version = sh(&mock_bin.to_string_lossy(), &["--version"]).unwrap_or_default();
    eprintln!("bench: gigachat-mock (pid {}) at {origin}", mock.pid);

    // Targets.
    let mut targets: Vec<Target> = Vec::new();
    let self_exe = std::env::current_exe()?;
    let target_cpus = pin.target.clone();
    let launch: Launcher = {
        let (cpus, origin) = (target_cpus.clone(), origin.clone());
        Box::new(move |port| {
            let mut cmd = procs::pinned(&self_exe, cpus.as_deref());
            cmd.arg("null-proxy")
                .arg("--port")
                .arg(port.to_string())
                .arg("--upstream")
                .arg(&origin);
            cmd
        })
    };
    let mut null = start_target(
        NULL,
        "hyper pass-through".into(),
        launch,
        pin.target.as_deref(),
        &p.logs,
    )
    .await?;
    null.raw_upstream = true;
    targets.push(null);

    // nginx: the same pass-through as the null proxy, as a user would set it up.
    match (args.no_nginx, nginx::find()) {
        (true, _) => notes.push("nginx pass-through not run (--no-nginx)".into()),
        (false, None) => notes.push(
            "nginx pass-through not run: nginx is not installed (apt-get install nginx-light)"
                .into(),
        ),
        (false, Some(bin)) => {
            let dir = p.out.join("nginx");
            let upstream = origin
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
            let version = nginx::version(&bin);
            let launch: Launcher = {
                let (cpus, dir, bin) = (target_cpus.clone(), dir.clone(), bin.clone());
                Box::new(move |port| {
                    let conf = match nginx::prepare(&dir, port, &upstream, NULL_TOKEN) {
                        Ok(conf) => conf,
                        Err(e) => {
                            eprintln!("bench: {e:#}");
                            dir.join("missing.conf")
                        }
                    };
                    let mut cmd = procs::pinned(&bin, cpus.as_deref());
                    cmd.arg("-p")
                        .arg(&dir)
                        .arg("-c")
                        .arg(conf)
                        .arg("-e")
                        .arg(dir.join("error.log"));
                    cmd
                })
            };
            match start_target(NGINX, version, launch, pin.target.as_deref(), &p.logs).await {
                Ok(mut t) => {
                    t.raw_upstream = true;
                    targets.push(t);
                }
                Err(e) => {
                    let msg = format!("nginx did not start: {e:#}");
                    eprintln!("bench: {msg}");
                    notes.push(msg);
                }
            }
        }
    }

    let work = p.out.join("work");
    std::fs::create_dir_all(&work)?;
    let gpt2giga = |extra: Vec<String>| -> Launcher {
        let (cpus, origin, bin, work) = (
            target_cpus.clone(),
            origin.clone(),
            proxy_bin.clone(),
            work.clone(),
        );
        Box::new(move |port| {
            let mut cmd = procs::pinned(&bin, cpus.as_deref());
            cmd.current_dir(&work)
                .arg("--proxy.host")
                .arg("127.0.0.1")
                .arg("--proxy.port")
                .arg(port.to_string())
                .arg("--gigachat.base-url")
                .arg(format!("{origin}/api/v1"))
                .arg("--gigachat.auth-url")
                .arg(format!("{origin}/api/v2/oauth"))
                .args(&extra)
                .env("GIGACHAT_CREDENTIALS", CREDENTIALS);
            cmd
        })
    };
    let version = sh(&proxy_bin.to_string_lossy(), &["--version"]).unwrap_or_default();
    targets.push(
        start_target(
            "gpt2giga",
            version.clone(),
            gpt2giga(Vec::new()),
            pin.target.as_deref(),
            &p.logs,
        )
        .await?,
    );
    if args.traffic_log {
        for level in TRAFFIC_LEVELS {
            let db = work.join(format!("traffic-{level}.db"));
            for f in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{f}", db.display()));
            }
            let extra = vec![
                "--proxy.traffic-log-url".to_string(),
                format!("sqlite://{}", db.display()),
                "--proxy.traffic-log-level".to_string(),
                level.to_string(),
            ];
            targets.push(
                start_target(
                    &format!("gpt2giga+log-{level}"),
                    format!("{version} (traffic log: {level})"),
                    gpt2giga(extra),
                    pin.target.as_deref(),
                    &p.logs,
                )
                .await?,
            );
        }
    }

    if let Some((script, version)) = &python {
        let work = p.out.join("work-python");
        std::fs::create_dir_all(&work)?;
        let launch: Launcher = {
            let (cpus, origin, script) = (target_cpus.clone(), origin.clone(), script.clone());
            Box::new(move |port| {
                let mut cmd = procs::pinned(&script, cpus.as_deref());
                cmd.current_dir(&work)
                    .env("GIGACHAT_BASE_URL", format!("{origin}/api/v1"))
                    .env("GIGACHAT_AUTH_URL", format!("{origin}/api/v2/oauth"))
                    .env("GIGACHAT_CREDENTIALS", CREDENTIALS)
                    .env("GIGACHAT_VERIFY_SSL_CERTS", "False")
                    .env("GPT2GIGA_HOST", "127.0.0.1")
                    .env("GPT2GIGA_PORT", port.to_string());
                cmd
            })
        };
        match start_target(
            "python",
            format!("gpt2giga {version} (Python)"),
            launch,
            pin.target.as_deref(),
            &p.logs,
        )
        .await
        {
            Ok(t) => targets.push(t),
            Err(e) => {
                let msg = format!("Python gpt2giga did not start: {e:#}");
                eprintln!("bench: {msg}");
                notes.push(msg);
            }
        }
    }

    let shared = pin.mock.is_some() && pin.mock == pin.loadgen;
    let timeout = Duration::from_secs(30);
    let stall = Duration::from_millis(settings.stall_ms);
    let matrix: Vec<Workload> = workloads::matrix()
        .into_iter()
        .filter(|w| settings.workloads.iter().any(|id| id == w.id))
        .collect();

    // Probe: one request per target and workload, so wiring problems show up early.
    for w in &matrix {
        mock_config(&client, &origin, w).await?;
        for t in &targets {
            let s = load::once(&client, &*spec(t, w, timeout, stall)?).await;
            if s.errors > 0 {
                let (kind, example) = s
                    .error_examples
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                let msg = format!("probe {} / {}: {kind}: {example}", t.info.name, w.id);
                eprintln!("bench: {msg}");
                notes.push(msg.chars().take(300).collect());
            }
        }
    }

    let quiet = |targets: &[Target]| {
        let mut pids: Vec<u32> = targets.iter().map(|t| t.proc.pid).collect();
        pids.extend([mock.pid, std::process::id()]);
        wait_quiet_logged(pids, ticks, secs(settings.quiet_wait_s))
    };

    // The matrix, targets interleaved cell by cell so drift hits them alike.
    let mut cells: Vec<Cell> = Vec::new();
    for w in &matrix {
        mock_config(&client, &origin, w).await?;
        for &c in &settings.concurrency {
            for t in &targets {
                quiet(&targets).await;
                let cell = measure(
                    &client,
                    t,
                    w,
                    c,
                    secs(settings.warmup_s),
                    secs(settings.duration_s),
                    Duration::ZERO,
                    spec(t, w, timeout, stall)?,
                    mock.pid,
                    ticks,
                    false,
                    shared,
                )
                .await;
                progress(&cell);
                cells.push(cell);
            }
        }
    }

    // Memory after the matrix, before the soak's restarts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for t in targets.iter_mut() {
        t.info.final_rss_mib = procs::status_mib(t.proc.pid, "VmRSS");
        t.info.matrix_peak_rss_mib = cells
            .iter()
            .filter(|c| c.target == t.info.name)
            .filter_map(|c| c.peak_rss_mib)
            .reduce(f64::max);
        if let Some(status) = t.proc.exited() {
            notes.push(format!("{} exited during the run: {status}", t.info.name));
        }
    }

    // The soak: many concurrent slow streams; every frame must arrive, none may stall.
    // Each target is restarted first, so its peak RSS is the soak's own and not memory
    // kept from the matrix (allocators rarely give freed memory back).
    if settings.soak_streams > 0 {
        let w = workloads::soak(settings.soak_chunk_delay_ms);
        mock_config(&client, &origin, &w).await?;
        for i in 0..targets.len() {
            if let Err(e) = targets[i].restart().await {
                let msg = format!(
                    "{} did not restart for the soak: {e:#}",
                    targets[i].info.name
                );
                eprintln!("bench: {msg}");
                notes.push(msg);
                continue;
            }
            quiet(&targets).await;
            let t = &targets[i];
            let cell = measure(
                &client,
                t,
                &w,
                settings.soak_streams,
                Duration::ZERO,
                secs(settings.soak_duration_s),
                secs(settings.soak_ramp_s),
                spec(t, &w, Duration::from_secs(60), stall)?,
                mock.pid,
                ticks,
                true,
                shared,
            )
            .await;
            progress(&cell);
            targets[i].info.soak_peak_rss_mib = cell.peak_rss_mib;
            cells.push(cell);
            // Let the target settle before the next one.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    report::fill_ratios(&mut cells, NULL, |c| &mut c.ratio);
    report::fill_ratios(&mut cells, NGINX, |c| &mut c.ratio_nginx);
    if args.traffic_log {
        for line in report::traffic_log_cost(&cells, "gpt2giga", TRAFFIC_LEVELS) {
            eprintln!("bench: {line}");
            notes.push(line);
        }
    }
    let disturbed = cells
        .iter()
        .filter(|c| c.other_cpu_pct.is_some_and(|o| o > 25.0))
        .count();
    if disturbed > 0 {
        notes.push(format!(
            "{disturbed} of {} cells ran while other work used > 25 % of a core (column `other CPU %`): \
             their numbers are less reliable; re-run on a quiet machine to confirm",
            cells.len()
        ));
    }
    for t in targets.iter_mut() {
        if let Some(status) = t.proc.exited() {
            notes.push(format!("{} exited during the soak: {status}", t.info.name));
        }
    }
    let mock_info = TargetInfo {
        name: "gigachat-mock".into(),
        version: mock_version,
        pid: mock.pid,
        cpus: pin.mock.clone(),
        startup_ms: Some(mock_startup.as_secs_f64() * 1000.0),
        idle_rss_mib: None,
        final_rss_mib: procs::status_mib(mock.pid, "VmRSS"),
        matrix_peak_rss_mib: procs::status_mib(mock.pid, "VmHWM"),
        soak_peak_rss_mib: None,
    };
    // Stop everything we started, by pid: targets first, then the mock.
    for t in targets.iter_mut() {
        t.proc.stop();
    }
    mock.stop();

    let summaries = targets
        .iter()
        .filter(|t| t.info.name != NULL && t.info.name != NGINX)
        .map(|t| report::summarise(&cells, &t.info, NULL, NGINX))
        .collect();
    notes.push(format!(
        "mock: scripted reply of {} five-character tokens, chunk_size {} (= {} content frames per stream), \
         embeddings {} inputs × default dim; load generator: closed loop, hyper keep-alive pool",
        workloads::REPLY_TOKENS,
        workloads::CHUNK_SIZE,
        workloads::REPLY_TOKENS,
        workloads::EMBEDDING_INPUTS
    ));
    let results = Results {
        date,
        machine: machine(),
        command,
        commit,
        pinning: pin.note.clone(),
        settings: serde_json::to_value(&settings)?,
        mock: mock_info,
        targets: targets.iter().map(|t| t.info.clone()).collect(),
        cells,
        summaries,
        notes,
    };
    println!("{}", report::text(&results));
    let md = p.out.join("results.md");
    let json = p.out.join("results.json");
    std::fs::write(&md, report::markdown(&results))?;
    std::fs::write(&json, serde_json::to_string_pretty(&results)?)?;
    println!(
        "Markdown: {}\nJSON:     {}\nLogs:     {}",
        md.display(),
        json.display(),
        p.logs.display()
    );
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Some(Cmd::NullProxy {
            port,
            upstream,
            token,
        }) => runtime().and_then(|rt| rt.block_on(null_proxy::serve(port, upstream, token))),
        None => {
            let args = cli.run;
            let pin = pinning(!args.no_pin);
            let command = format!(
                "cargo run --release -p gpt2giga-bench --{}",
                std::env::args()
                    .skip(1)
                    .map(|a| format!(" {a}"))
                    .collect::<String>()
            );
            // Pin before the runtime exists so its worker threads inherit the mask.
            let pinned = match pin.loadgen.as_deref().map(pin_self) {
                Some(Err(e)) => {
                    eprintln!("bench: cannot pin the load generator ({e:#}); running unpinned");
                    Pinning {
                        note: format!("off (taskset -p failed: {e})"),
                        ..Pinning::default()
                    }
                }
                _ => pin,
            };
            eprintln!("bench: pinning: {}", pinned.note);
            runtime().and_then(|rt| {
                rt.block_on(async {
                    tokio::select! {
                        r = run(args, pinned, command) => r,
                        _ = tokio::signal::ctrl_c() => {
                            eprintln!("bench: interrupted; stopping the processes it started");
                            Err(anyhow!("interrupted"))
                        }
                    }
                })
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
