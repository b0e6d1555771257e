//! The error type of the configuration loader.

use std::path::PathBuf;

/// Why the configuration could not be loaded.
///
/// Every message names the offending flag, variable or JSON key and (except
/// for secrets, which never fail to parse) the bad value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Command-line syntax error, unknown flag, or a request for `--help` /
    /// `--version`. Call [`clap::Error::exit`] to print it the clap way (help
    /// and version go to stdout with exit code 0, errors to stderr with 2).
    #[error("{0}")]
    Cli(#[from] clap::Error),

    /// A value that does not parse or is out of range.
    ///
    /// `name` is the flag (`--proxy.port`), the variable (`GPT2GIGA_PORT`,
    /// with ` (from <file>)` for a `.env` value) or the JSON key
    /// (`"port" in --proxy`).
    #[error("invalid value {value} for {name}: {reason}")]
    InvalidValue {
        name: String,
        /// The offending value, quoted/rendered for display.
        value: String,
        reason: String,
    },

    /// A `--proxy` / `--gigachat` group flag whose value is not a JSON object.
    #[error("invalid JSON in {flag}: {message}")]
    InvalidJson { flag: String, message: String },

    /// A key inside `--proxy` / `--gigachat` JSON that names no setting.
    #[error("unknown field \"{field}\" in {flag} (known fields: {known})")]
    UnknownField {
        flag: String,
        field: String,
        known: String,
    },

    /// `--env-path` names a file that does not exist.
    #[error("env file not found: {} (given by --env-path)", path.display())]
    EnvFileNotFound { path: PathBuf },

    /// The `.env` file exists but cannot be read or parsed.
    #[error("cannot read env file {}: {message}", path.display())]
    EnvFile { path: PathBuf, message: String },

    /// Settings that are individually valid but do not fit together
    /// (e.g. `use_https` without a key/cert file).
    #[error("{0}")]
    Inconsistent(String),

    /// [`Config::load`](super::Config::load) could not determine the current directory.
    #[error("cannot determine the current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
}

impl ConfigError {
    /// `true` for `--help` / `--version`: not a failure, the caller should
    /// print it (e.g. [`clap::Error::exit`]) and exit with status 0.
    pub fn is_help_or_version(&self) -> bool {
        matches!(self, ConfigError::Cli(e) if matches!(
            e.kind(),
            clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ))
    }
}
