//! Logging set-up: `tracing` to standard error and to the log file
//! (`--proxy.log-filename`, rotated at `--proxy.log-max-size` bytes, five old files
//! kept), at the configured level and format. Writing happens on a background thread
//! so request handling never waits on disk or terminal I/O.

use std::io::IsTerminal;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, ProxySettings};

/// Rotated log files kept besides the current one.
const KEEP_FILES: usize = 5;

/// Keeps the background writers alive; drop it last (it flushes on drop).
pub struct LogGuard {
    _guards: Vec<WorkerGuard>,
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// An unusable log file is reported on standard error and skipped, never fatal.
pub fn init(proxy: &ProxySettings) -> LogGuard {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(proxy.log_level.tracing_directive()))
    };
    let mut guards = Vec::new();
    let (stderr, guard) = tracing_appender::non_blocking(std::io::stderr());
    guards.push(guard);
    let ansi = std::io::stderr().is_terminal();
    let console = match proxy.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(stderr)
            .with_filter(filter())
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .with_ansi(ansi)
            .with_target(false)
            .with_filter(filter())
            .boxed(),
    };
    let file = open_file(proxy).map(|rotate| {
        let (writer, guard) = tracing_appender::non_blocking(rotate);
        guards.push(guard);
        match proxy.log_format {
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_writer(writer)
                .with_filter(filter())
                .boxed(),
            LogFormat::Text => tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_target(false)
                .with_filter(filter())
                .boxed(),
        }
    });
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
    LogGuard { _guards: guards }
}

fn open_file(proxy: &ProxySettings) -> Option<FileRotate<AppendCount>> {
    let path = &proxy.log_filename;
    if path.as_os_str().is_empty() {
        return None;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!(
            "gpt2giga: cannot create the log directory {}: {e}",
            dir.display()
        );
        return None;
    }
    // Probe writability first: FileRotate would otherwise fail silently later.
    if let Err(e) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        eprintln!("gpt2giga: cannot open the log file {}: {e}", path.display());
        return None;
    }
    let limit = usize::try_from(proxy.log_max_size.max(1024)).unwrap_or(usize::MAX);
    Some(FileRotate::new(
        path,
        AppendCount::new(KEEP_FILES),
        ContentLimit::BytesSurpassed(limit),
        Compression::None,
        None,
    ))
}
