//! The `gpt2giga` binary: parse the configuration, set up logging, run the proxy.

use std::process::ExitCode;

use gpt2giga::config::Config;

fn main() -> ExitCode {
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
