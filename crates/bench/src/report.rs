//! Results: the data kept per target and per cell, the ratios and summary, and the
//! text / Markdown / JSON renderings.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::Stats;

/// A process under test (or the mock).
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    pub name: String,
    pub version: String,
    pub pid: u32,
    /// CPUs it was pinned to (`taskset -c`), if any.
    pub cpus: Option<String>,
    /// Spawn → first accepted TCP connection.
    pub startup_ms: Option<f64>,
    /// `VmRSS` shortly after start-up, before any request.
    pub idle_rss_mib: Option<f64>,
    /// `VmRSS` after the matrix, idle again (before the soak's restart).
    pub final_rss_mib: Option<f64>,
    /// Largest per-cell `VmHWM` over the matrix (for the mock: its lifetime `VmHWM`).
    pub matrix_peak_rss_mib: Option<f64>,
    /// `VmHWM` during the soak, in a freshly restarted process.
    pub soak_peak_rss_mib: Option<f64>,
}

/// One measured cell: target × workload × concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub target: String,
    pub workload: String,
    pub concurrency: usize,
    pub soak: bool,
    pub stream: bool,
    pub elapsed_s: f64,
    pub rps: f64,
    /// RPS / null pass-through RPS of the same workload and concurrency.
    pub ratio: Option<f64>,
    /// RPS / nginx pass-through RPS of the same workload and concurrency.
    pub ratio_nginx: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub ttfb_p50_ms: Option<f64>,
    pub ttfb_p99_ms: Option<f64>,
    /// CPU of the target process, % of one core.
    pub cpu_pct: Option<f64>,
    pub mock_cpu_pct: Option<f64>,
    pub loadgen_cpu_pct: Option<f64>,
    /// `VmHWM` of the target during the cell (reset before it).
    pub peak_rss_mib: Option<f64>,
    /// What saturated: `target` (its core ≥ 90 % busy), `harness` (mock + load
    /// generator ≥ 90 % of their shared core), or `-` (neither: latency-bound).
    pub bound: String,
    /// Machine CPU busy outside the measured processes (other work), % of one core.
    pub other_cpu_pct: Option<f64>,
    pub stats: Stats,
}

/// `--traffic-log`: for every non-soak cell, the RPS of `base` with the traffic log at
/// each of `levels` (targets `<base>+log-<level>`) relative to `base` alone, as lines
/// ("traffic log metadata, chat c=16: 4123.0 vs 4200.1 rps = -1.8 %").
pub fn traffic_log_cost(cells: &[Cell], base: &str, levels: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| c.target == base && !c.soak) {
        for level in levels {
            let name = format!("{base}+log-{level}");
            if let Some(v) = cells.iter().find(|x| {
                x.target == name
                    && x.workload == c.workload
                    && x.concurrency == c.concurrency
                    && !x.soak
            }) && c.rps > 0.0
            {
                out.push(format!(
                    "traffic log {level}, {} c={}: {:.1} vs {:.1} rps = {:+.1} %",
                    c.workload,
                    c.concurrency,
                    v.rps,
                    c.rps,
                    (v.rps / c.rps - 1.0) * 100.0
                ));
            }
        }
    }
    out
}

/// One target compared with the goals.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub goal: String,
    pub measured: String,
    pub pass: bool,
}

/// Ratios of one target against one reference over the non-soak cells.
#[derive(Debug, Clone, Serialize)]
pub struct RatioSummary {
    /// Geometric mean of the RPS ratios.
    pub geomean: Option<f64>,
    pub min: Option<f64>,
    pub min_cell: Option<String>,
    /// The smallest ratio among the stream cells.
    pub min_stream: Option<f64>,
    pub min_stream_cell: Option<String>,
}

fn ratio_summary(cells: &[Cell], target: &str, field: fn(&Cell) -> Option<f64>) -> RatioSummary {
    let ratios: Vec<(f64, String, bool)> = cells
        .iter()
        .filter(|c| c.target == target && !c.soak)
        .filter_map(|c| {
            Some((
                field(c)?,
                format!("{} c={}", c.workload, c.concurrency),
                c.stream,
            ))
        })
        .collect();
    let geomean = if ratios.is_empty() {
        None
    } else if ratios.iter().any(|(r, _, _)| *r <= 0.0) {
        Some(0.0)
    } else {
        let log_sum: f64 = ratios.iter().map(|(r, _, _)| r.ln()).sum();
        Some((log_sum / ratios.len() as f64).exp())
    };
    let lowest = |stream_only: bool| {
        ratios
            .iter()
            .filter(|(_, _, s)| *s || !stream_only)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(r, cell, _)| (*r, cell.clone()))
    };
    let (min, min_cell) = lowest(false).unzip();
    let (min_stream, min_stream_cell) = lowest(true).unzip();
    RatioSummary {
        geomean,
        min,
        min_cell,
        min_stream,
        min_stream_cell,
    }
}

/// Per-target summary over the run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: String,
    /// Against the null pass-through.
    pub vs_null: RatioSummary,
    /// Against nginx (absent when nginx did not run).
    pub vs_nginx: Option<RatioSummary>,
    /// p50(target) − p50(null), non-stream chat, concurrency 1, mock latency 0 / 50 ms.
    pub added_p50_ms_chat_c1: Option<f64>,
    pub added_p50_ms_chat50_c1: Option<f64>,
    pub checks: Vec<Check>,
}

/// Everything the run produced (the JSON file).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub date: String,
    pub machine: String,
    pub command: String,
    pub commit: String,
    pub pinning: String,
    pub settings: serde_json::Value,
    pub mock: TargetInfo,
    pub targets: Vec<TargetInfo>,
    pub cells: Vec<Cell>,
    pub summaries: Vec<Summary>,
    pub notes: Vec<String>,
}

/// Fills one ratio field (`field`) of every cell from the `reference` target's cell of
/// the same workload and concurrency.
pub fn fill_ratios(cells: &mut [Cell], reference: &str, field: fn(&mut Cell) -> &mut Option<f64>) {
    let floors: Vec<(String, usize, f64)> = cells
        .iter()
        .filter(|c| c.target == reference)
        .map(|c| (c.workload.clone(), c.concurrency, c.rps))
        .collect();
    for cell in cells.iter_mut() {
        let rps = cell.rps;
        *field(cell) = floors
            .iter()
            .find(|(w, c, _)| *w == cell.workload && *c == cell.concurrency)
            .filter(|(_, _, rps)| *rps > 0.0)
            .map(|(_, _, floor)| rps / floor);
    }
}

fn p50_of(cells: &[Cell], target: &str, workload: &str, c: usize) -> Option<f64> {
    cells
        .iter()
        .find(|x| x.target == target && x.workload == workload && x.concurrency == c)
        .and_then(|x| x.p50_ms)
}

/// Summary of `target` against the goals: round 1's against the null pass-through, round
/// 2's (issue #14) against nginx.
pub fn summarise(cells: &[Cell], info: &TargetInfo, null: &str, nginx: &str) -> Summary {
    let target = info.name.as_str();
    let vs_null = ratio_summary(cells, target, |c| c.ratio);
    let vs_nginx = cells
        .iter()
        .any(|c| c.target == nginx)
        .then(|| ratio_summary(cells, target, |c| c.ratio_nginx));
    let added = |w: &str| Some(p50_of(cells, target, w, 1)? - p50_of(cells, null, w, 1)?);
    let added_p50_ms_chat_c1 = added("chat");
    let added_p50_ms_chat50_c1 = added("chat-50ms");

    let mut checks = Vec::new();
    let mut check = |goal: &str, measured: String, pass: bool| {
        checks.push(Check {
            goal: goal.to_string(),
            measured,
            pass,
        });
    };
    if let Some(g) = vs_null.geomean {
        check(
            "× null: geomean RPS ratio ≥ 0.5",
            format!("{g:.2}"),
            g >= 0.5,
        );
    }
    if let (Some(m), Some(cell)) = (vs_null.min, &vs_null.min_cell) {
        check(
            "× null: no cell < 0.25",
            format!("{m:.2} ({cell})"),
            m >= 0.25,
        );
    }
    if let Some(n) = &vs_nginx {
        if let (Some(m), Some(cell)) = (n.min_stream, &n.min_stream_cell) {
            check(
                "× nginx: every stream cell ≥ 0.5",
                format!("{m:.2} ({cell})"),
                m >= 0.5,
            );
        }
        if let (Some(m), Some(cell)) = (n.min, &n.min_cell) {
            check(
                "× nginx: every cell ≥ 0.35",
                format!("{m:.2} ({cell})"),
                m >= 0.35,
            );
        }
        if let Some(g) = n.geomean {
            check(
                "× nginx: geomean RPS ratio ≥ 0.7",
                format!("{g:.2}"),
                g >= 0.7,
            );
        }
    }
    if let Some(a) = added_p50_ms_chat_c1 {
        check(
            "added p50, chat c=1 ≤ 0.2 ms",
            format!("{a:+.3} ms"),
            a <= 0.2,
        );
    }
    for soak in cells.iter().filter(|c| c.target == target && c.soak) {
        let s = &soak.stats;
        check(
            &format!("{} streams: 0 lost, 0 errors, 0 stalls", soak.concurrency),
            format!(
                "{} streams, {} lost frames, {} errors, {} stalls, max gap {:.0} ms",
                s.streams,
                s.lost_frames,
                s.errors,
                s.stalls,
                s.max_gap_us as f64 / 1000.0
            ),
            s.lost_frames == 0 && s.errors == 0 && s.stalls == 0 && s.streams > 0,
        );
    }
    if let Some(p) = info.soak_peak_rss_mib {
        check("peak RSS ≤ 48 MiB (soak)", format!("{p:.1} MiB"), p <= 48.0);
    }
    if let Some(i) = info.idle_rss_mib {
        check("idle RSS ≤ 12 MiB", format!("{i:.1} MiB"), i <= 12.0);
    }
    if let Some(s) = info.startup_ms {
        check("start-up ≤ 100 ms", format!("{s:.0} ms"), s <= 100.0);
    }
    Summary {
        target: target.to_string(),
        vs_null,
        vs_nginx,
        added_p50_ms_chat_c1,
        added_p50_ms_chat50_c1,
        checks,
    }
}

fn f(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) => format!("{x:.digits$}"),
        None => "-".to_string(),
    }
}

fn rps(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A table: a header row and data rows.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Right-align cells that start like a number (text rendering).
    pub align_numbers: bool,
}

impl Table {
    fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            align_numbers: true,
        }
    }

    /// Aligned plain text (numbers right-aligned).
    pub fn text(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate().take(n) {
                let numeric = self.align_numbers
                    && cell
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+');
                let w = widths[i];
                if i > 0 {
                    s.push_str("  ");
                }
                if numeric && i > 0 {
                    let _ = write!(s, "{cell:>w$}");
                } else {
                    let _ = write!(s, "{cell:<w$}");
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * n.saturating_sub(1)));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    /// A GitHub Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        let numeric = |i: usize| {
            self.rows.iter().all(|r| {
                r.get(i).is_some_and(|c| {
                    c == "-" || c.trim_start_matches(['+', '-']).parse::<f64>().is_ok()
                })
            })
        };
        out.push_str(&format!(
            "|{}\n",
            (0..self.header.len())
                .map(|i| if numeric(i) { "---:|" } else { "---|" })
                .collect::<String>()
        ));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

/// Start-up and memory per process.
pub fn startup_table(r: &Results) -> Table {
    let mut t = Table::new(&[
        "target",
        "version",
        "cpus",
        "start-up ms",
        "idle RSS MiB",
        "matrix peak RSS MiB",
        "RSS after matrix MiB",
        "soak peak RSS MiB",
    ]);
    for i in r.targets.iter().chain(std::iter::once(&r.mock)) {
        t.rows.push(vec![
            i.name.clone(),
            i.version.clone(),
            i.cpus.clone().unwrap_or_else(|| "-".into()),
            f(i.startup_ms, 0),
            f(i.idle_rss_mib, 1),
            f(i.matrix_peak_rss_mib, 1),
            f(i.final_rss_mib, 1),
            f(i.soak_peak_rss_mib, 1),
        ]);
    }
    t
}

/// The main table (`soak` selects the soak cells instead).
pub fn cells_table(r: &Results, soak: bool) -> Table {
    let mut t = Table::new(&[
        "target",
        "workload",
        "c",
        "RPS",
        "× null",
        "× nginx",
        "p50 ms",
        "p99 ms",
        "TTFB p50",
        "TTFB p99",
        "errors",
        "lost",
        "stalls",
        "CPU %",
        "peak RSS MiB",
        "mock CPU %",
        "loadgen CPU %",
        "other CPU %",
        "bound",
    ]);
    for c in r.cells.iter().filter(|c| c.soak == soak) {
        let s = &c.stats;
        let stream_only = |v: u64| {
            if c.stream {
                v.to_string()
            } else {
                "-".to_string()
            }
        };
        t.rows.push(vec![
            c.target.clone(),
            c.workload.clone(),
            c.concurrency.to_string(),
            rps(c.rps),
            f(c.ratio, 2),
            f(c.ratio_nginx, 2),
            f(c.p50_ms, 2),
            f(c.p99_ms, 2),
            f(c.ttfb_p50_ms, 2),
            f(c.ttfb_p99_ms, 2),
            s.errors.to_string(),
            stream_only(s.lost_frames),
            stream_only(s.stalls),
            f(c.cpu_pct, 0),
            f(c.peak_rss_mib, 1),
            f(c.mock_cpu_pct, 0),
            f(c.loadgen_cpu_pct, 0),
            f(c.other_cpu_pct, 0),
            c.bound.clone(),
        ]);
    }
    t
}

/// The summary against the goals.
pub fn summary_table(r: &Results) -> Table {
    let mut t = Table::new(&["target", "goal", "measured", "met"]);
    t.align_numbers = false;
    for s in &r.summaries {
        for c in &s.checks {
            t.rows.push(vec![
                s.target.clone(),
                c.goal.clone(),
                c.measured.clone(),
                if c.pass { "yes" } else { "NO" }.to_string(),
            ]);
        }
        if let Some(p) = r
            .targets
            .iter()
            .find(|t| t.name == s.target)
            .and_then(|t| t.matrix_peak_rss_mib)
        {
            t.rows.push(vec![
                s.target.clone(),
                "(info) peak RSS over the matrix".into(),
                format!("{p:.1} MiB"),
                "-".into(),
            ]);
        }
        if let Some(a) = s.added_p50_ms_chat50_c1 {
            t.rows.push(vec![
                s.target.clone(),
                "(info) added p50, chat-50ms c=1".into(),
                format!("{a:+.3} ms"),
                "-".into(),
            ]);
        }
    }
    t
}

fn errors_section(r: &Results) -> String {
    let mut out = String::new();
    for c in &r.cells {
        for (kind, n) in &c.stats.error_kinds {
            let example = c
                .stats
                .error_examples
                .get(kind)
                .map(String::as_str)
                .unwrap_or("");
            let _ = writeln!(
                out,
                "- {} / {} / c={}: {n} × {kind}: `{}`",
                c.target,
                c.workload,
                c.concurrency,
                example
                    .chars()
                    .take(200)
                    .collect::<String>()
                    .replace('`', "'")
            );
        }
    }
    out
}

fn header(r: &Results) -> String {
    format!(
        "Date: {}  \nMachine: {}  \nCommand: `{}`  \nCommit: {}  \nPinning: {}\n",
        r.date, r.machine, r.command, r.commit, r.pinning
    )
}

/// The whole report as plain text (stdout).
pub fn text(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", header(r).replace("  \n", "\n"));
    let _ = writeln!(out, "Start-up and memory\n{}", startup_table(r).text());
    let _ = writeln!(
        out,
        "Throughput and latency (ms; CPU in % of one core)\n{}",
        cells_table(r, false).text()
    );
    let soak = cells_table(r, true);
    if !soak.rows.is_empty() {
        let _ = writeln!(out, "Soak\n{}", soak.text());
    }
    let _ = writeln!(out, "Goals\n{}", summary_table(r).text());
    let errors = errors_section(r);
    if !errors.is_empty() {
        let _ = writeln!(out, "Errors\n{errors}");
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// The whole report as Markdown (for the README).
pub fn markdown(r: &Results) -> String {
    let mut out = String::from("### Load benchmark\n\n");
    out.push_str(&header(r));
    out.push_str("\nStart-up (spawn → first accepted TCP connection) and memory:\n\n");
    out.push_str(&startup_table(r).markdown());
    out.push_str(
        "\nThroughput and latency (closed loop, `c` concurrent keep-alive connections; \
         latencies in ms; TTFB = first body byte; CPU in % of one core; \
         `× null`, `× nginx` = RPS / the null or nginx pass-through RPS in the same run):\n\n",
    );
    out.push_str(&cells_table(r, false).markdown());
    let soak = cells_table(r, true);
    if !soak.rows.is_empty() {
        out.push_str(
            "\nSoak (concurrent slow streams; `lost` = missing content frames or terminators):\n\n",
        );
        out.push_str(&soak.markdown());
    }
    out.push_str("\nGoals (issue #7 against the null proxy, issue #14 against nginx):\n\n");
    out.push_str(&summary_table(r).markdown());
    let errors = errors_section(r);
    if !errors.is_empty() {
        out.push_str("\nErrors:\n\n");
        out.push_str(&errors);
    }
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(target: &str, workload: &str, c: usize, rps: f64) -> Cell {
        Cell {
            target: target.into(),
            workload: workload.into(),
            concurrency: c,
            soak: false,
            stream: false,
            elapsed_s: 1.0,
            rps,
            ratio: None,
            ratio_nginx: None,
            p50_ms: Some(1.0),
            p99_ms: None,
            ttfb_p50_ms: None,
            ttfb_p99_ms: None,
            cpu_pct: None,
            mock_cpu_pct: None,
            loadgen_cpu_pct: None,
            peak_rss_mib: None,
            bound: String::new(),
            other_cpu_pct: None,
            stats: Stats::default(),
        }
    }

    #[test]
    fn ratios_and_geomean() {
        let mut stream = cell("rs", "chat-stream", 1, 30.0);
        stream.stream = true;
        let mut cells = vec![
            cell("null", "chat", 1, 100.0),
            cell("null", "chat", 16, 200.0),
            cell("nginx", "chat", 1, 80.0),
            cell("nginx", "chat", 16, 400.0),
            cell("nginx", "chat-stream", 1, 100.0),
            cell("rs", "chat", 1, 50.0),
            cell("rs", "chat", 16, 200.0),
            stream,
        ];
        fill_ratios(&mut cells, "null", |c| &mut c.ratio);
        fill_ratios(&mut cells, "nginx", |c| &mut c.ratio_nginx);
        assert_eq!(cells[5].ratio, Some(0.5));
        assert_eq!(cells[6].ratio_nginx, Some(0.5));
        let info = TargetInfo {
            name: "rs".into(),
            version: String::new(),
            pid: 0,
            cpus: None,
            startup_ms: None,
            idle_rss_mib: None,
            final_rss_mib: None,
            matrix_peak_rss_mib: None,
            soak_peak_rss_mib: None,
        };
        let s = summarise(&cells, &info, "null", "nginx");
        assert!((s.vs_null.geomean.unwrap() - 0.5f64.sqrt()).abs() < 1e-9);
        assert_eq!(s.vs_null.min, Some(0.5));
        let n = s.vs_nginx.as_ref().unwrap();
        assert_eq!(n.min_stream, Some(0.3));
        assert_eq!(n.min_stream_cell.as_deref(), Some("chat-stream c=1"));
        assert_eq!(n.min, Some(0.3));
        // The stream-cell goal fails (0.3 < 0.5), and says which cell.
        let stream_check = s
            .checks
            .iter()
            .find(|c| c.goal.contains("stream cell"))
            .unwrap();
        assert!(!stream_check.pass && stream_check.measured.contains("chat-stream c=1"));
        assert_eq!(s.added_p50_ms_chat_c1, Some(0.0));
    }

    #[test]
    fn tables_render() {
        let mut t = Table::new(&["a", "b"]);
        t.rows.push(vec!["x".into(), "12".into()]);
        assert!(t.text().contains("x  12"));
        assert!(t.markdown().starts_with("| a | b |"));
    }
}
