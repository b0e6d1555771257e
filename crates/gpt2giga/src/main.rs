//! The `gpt2giga` binary: parse the configuration, set up logging, run the proxy.
//! `gpt2giga healthcheck …` instead probes a running proxy (see `gpt2giga::healthcheck`).

use std::process::ExitCode;

use gpt2giga::config::Config;
use gpt2giga::healthcheck;

/// mimalloc instead of the C library's allocator: malloc and free were 11 % of a
/// proxied request's CPU with glibc's (perf), and mimalloc gives +4–6 % RPS over it in
/// the benchmark; musl's allocator, in the static build, is slower than glibc's. `no_thp`:
/// its memory is never backed by transparent huge pages, so RSS stays small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == healthcheck::SUBCOMMAND)
    {
        return healthcheck::main(std::env::args_os().skip(1));
    }
    let config = match Config::load() {
        Ok(c) => c,
        Err(gpt2giga::config::ConfigError::Cli(e)) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
        Err(e) => {
            eprintln!("gpt2giga: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = gpt2giga::logging::init(&config);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    // With one CPU (a pinned process, a container limited to one core) one thread runs
    // everything: a multi-thread runtime would poll on two threads (its worker and this
    // one) and wake one from the other, for no parallelism.
    let mut builder = if std::thread::available_parallelism().is_ok_and(|n| n.get() == 1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gpt2giga: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gpt2giga::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("gpt2giga: {e:#}");
            ExitCode::FAILURE
        }
    }
}
