//! Logging set-up: `tracing` to standard error and to the log file
//! (`--proxy.log-filename`, rotated at `--proxy.log-max-size` bytes, five old files
//! kept), at the configured level and format (`text` or `json`).
//!
//! * **Redaction.** With `--proxy.log-redact-sensitive` (the default) every line is
//!   passed through a [`Redactor`] before it reaches the terminal, the file or a live
//!   viewer: values of sensitive keys (`"password": "…"`, `api_key=…`, `x-api-key: …`),
//!   `Bearer`/`Basic` credentials, `giga-cred-…`/`giga-auth-…`/`giga-user-…` tokens,
//!   JWT-shaped tokens, and the literal secrets of the configuration become `***`.
//! * **Off the request path.** Terminal and file writes happen on background threads
//!   (redaction included), so a request never waits on disk or terminal I/O.
//! * **Live viewers.** While someone watches `/logs/stream`, each line is also
//!   published on an in-process broadcast channel ([`subscribe`]); with nobody watching
//!   that costs nothing (the layer's filter says no before anything is formatted).
//!
//! Message bodies are never logged at INFO: the access log has the method, path
//! (without the query string), status and timing; request details are DEBUG.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, LazyLock};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use regex::Regex;
use tokio::sync::broadcast;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat, ProxySettings};

/// Rotated log files kept besides the current one.
const KEEP_FILES: usize = 5;

/// Lines a live viewer may fall behind before it misses some.
const HUB_CAPACITY: usize = 4096;

/// Keeps the background writers alive; drop it last (it flushes on drop).
pub struct LogGuard {
    _guards: Vec<WorkerGuard>,
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// An unusable log file is reported on standard error and skipped, never fatal.
pub fn init(config: &Config) -> LogGuard {
    let proxy = &config.proxy;
    let redactor = proxy
        .log_redact_sensitive
        .then(|| Arc::new(Redactor::new(known_secrets(config))));
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(proxy.log_level.tracing_directive()))
    };
    let mut guards = Vec::new();
    let ansi = io::stderr().is_terminal();
    let file = open_file(proxy);
    // Without terminal colours both outputs get the same bytes: format each event once,
    // and let one background thread redact the line and write it to both.
    let (console, file) = if ansi {
        let (stderr, guard) = background(RedactingWriter::new(io::stderr(), redactor.clone()));
        guards.push(guard);
        let console = fmt_layer(proxy.log_format, stderr, true).with_filter(filter());
        let file = file.map(|rotate| {
            let (writer, guard) = background(RedactingWriter::new(rotate, redactor.clone()));
            guards.push(guard);
            fmt_layer(proxy.log_format, writer, false).with_filter(filter())
        });
        (console, file)
    } else {
        let (both, guard) = background(RedactingWriter::new(
            Tee(io::stderr(), file),
            redactor.clone(),
        ));
        guards.push(guard);
        (
            fmt_layer(proxy.log_format, both, false).with_filter(filter()),
            None,
        )
    };
    let watching = tracing_subscriber::filter::filter_fn(|meta| {
        HUB.receiver_count() > 0 && !transport_chatter(meta)
    });
    let live = fmt_layer(proxy.log_format, HubWriter { redactor }, false)
        .with_filter(filter().and(watching));
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .with(live)
        .try_init();
    LogGuard { _guards: guards }
}

/// DEBUG/TRACE events of the HTTP and TLS machinery. They stay out of the live log:
/// an HTTP/2 connection logs every frame it sends, and the frames carrying the live log
/// would otherwise each log another line — a loop.
fn transport_chatter(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() >= tracing::Level::DEBUG
        && ["h2", "hyper", "rustls"].iter().any(|crate_name| {
            meta.target()
                .strip_prefix(crate_name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// The configured formatting (text or JSON) writing to `writer`.
pub(crate) fn fmt_layer<S, W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .with_target(false)
            .boxed(),
    }
}

/// The secrets of the configuration, masked wherever they appear verbatim.
pub(crate) fn known_secrets(config: &Config) -> Vec<String> {
    let g = &config.gigachat;
    let mut out: Vec<String> = [
        &g.credentials,
        &g.password,
        &g.access_token,
        &g.key_file_password,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose().to_string())
    .collect();
    out.extend(
        config
            .proxy
            .accepted_api_keys()
            .into_iter()
            .map(str::to_string),
    );
    out
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

// ---- redaction ----------------------------------------------------------------------------

/// Key names whose values are secret (matched case-insensitively, also with a prefix
/// such as `GIGACHAT_` or `x-`).
const KEYS: &str = r"api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|session[_-]?token|token|tok|password|passwd|pwd|credentials?|authorization|client[_-]?secret|secret[_-]?key|secret|cookie";

/// A JSON string body: `"…"` with escapes.
const JSON_STRING: &str = r#""(?:[^"\\]|\\.)*""#;
/// A JSON string inside a JSON string: `\"…\"`.
const ESCAPED_STRING: &str = r#"\\"(?:[^"\\]|\\[^"])*\\""#;
/// An optional authorization scheme before a bare value (kept: `Bearer ***`).
const SCHEME: &str = r"(?P<b>(?:Bearer|Basic)\s+)?";
/// A bare value (up to whitespace, a separator or a quote), captured as `v`; a lone
/// `Bearer`/`Basic` is spared: it is prose.
const BARE_V: &str = r#"(?P<v>[^\s&,;"'\\][^\s&,;"'\\]*)"#;

struct Rule {
    re: Regex,
    replacement: &'static str,
    /// The rule captures its value as `v`; a value that is just `Bearer`/`Basic` stays.
    spare_schemes: bool,
}

impl Rule {
    fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !self.spare_schemes {
            return self.re.replace_all(text, self.replacement);
        }
        self.re.replace_all(text, |caps: &regex::Captures<'_>| {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            let value = caps.name("v").map_or("", |m| m.as_str());
            if value.eq_ignore_ascii_case("bearer") || value.eq_ignore_ascii_case("basic") {
                return whole.to_string();
            }
            let mut out = String::new();
            caps.expand(self.replacement, &mut out);
            out
        })
    }
}

/// A word at least one of which every context rule's match contains (case-insensitive):
/// a key name of [`KEYS`] holds `key`, `tok`, `pass`, `pwd`, `cred`, `auth`, `secret` or
/// `cookie`; the other rules need `Bearer`, `Basic`, `giga-`, `?key=` or a JWT's `eyJ`.
static TRIGGERS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)key|tok|pass|pwd|cred|auth|secret|cookie|bearer|basic|giga-|eyj").ok()
});

/// Whether `text` holds a trigger word, not counting the `tok` of `tokens`: `max_tokens`,
/// `total_tokens` and the like are in nearly every request and answer, and no rule's
/// match ends inside `tokens` (a key name must end with the key word itself).
fn triggered(triggers: &Regex, text: &str) -> bool {
    triggers.find_iter(text).any(|m| {
        let tokens = m.as_str().eq_ignore_ascii_case("tok")
            && text
                .as_bytes()
                .get(m.end()..m.end() + 3)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"ens"));
        !tokens
    })
}

/// The context rules, compiled once.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rules = [
        // "password": "…"   (JSON, also the JSON log format's fields)
        (
            format!(r#"(?i)(?P<k>"[\w.-]*(?:{KEYS})")(?P<s>\s*:\s*){JSON_STRING}"#),
            r#"${k}${s}"***""#,
        ),
        // \"password\": \"…\"   (JSON quoted inside a JSON log line)
        (
            format!(r#"(?i)(?P<k>\\"[\w.-]*(?:{KEYS})\\")(?P<s>\s*:\s*){ESCAPED_STRING}"#),
            r#"${k}${s}\"***\""#,
        ),
        // 'password': '…'   (Python-style dicts)
        (
            format!(r#"(?i)(?P<k>'[\w.-]*(?:{KEYS})')(?P<s>\s*:\s*)'[^']*'"#),
            r"${k}${s}'***'",
        ),
        // password=…, api_key="…", GIGACHAT_CREDENTIALS=…   (query strings, env, fields)
        (
            format!(
                r#"(?i)(?P<k>\b[\w.-]*(?:{KEYS}))(?P<s>\s*=\s*)(?:{JSON_STRING}|{ESCAPED_STRING}|{SCHEME}{BARE_V})"#
            ),
            r"${k}${s}${b}***",
        ),
        // x-api-key: …, authorization: …   (header-style, unquoted)
        (
            format!(r"(?i)(?P<k>\b[\w-]*(?:{KEYS}))(?P<s>\s*:\s*){SCHEME}{BARE_V}"),
            r"${k}${s}${b}***",
        ),
        // ?key=…   (Gemini clients' API key in the query string)
        (r#"(?i)(?P<k>[?&]key=)[^\s&"'\\]+"#.to_string(), r"${k}***"),
        // Bearer …, Basic <base64>
        (
            r#"(?i)\b(?P<k>Bearer\s+)[^\s"',;\\]+"#.to_string(),
            r"${k}***",
        ),
        (
            r"(?i)\b(?P<k>Basic\s+)[A-Za-z0-9+/=_-]{8,}".to_string(),
            r"${k}***",
        ),
        // giga-cred-…, giga-auth-…, giga-user-…   (pass-token identities)
        (
            r#"(?i)\bgiga-(?P<t>cred|auth|user)-[^\s"',;\\]+"#.to_string(),
            r"giga-${t}-***",
        ),
        // JWT/JWE-shaped tokens (GigaChat access tokens)
        (
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)*".to_string(),
            "***",
        ),
    ];
    rules
        .into_iter()
        .filter_map(|(pattern, replacement)| match Regex::new(&pattern) {
            Ok(re) => Some(Rule {
                spare_schemes: re.capture_names().flatten().any(|n| n == "v"),
                re,
                replacement,
            }),
            Err(e) => {
                // A bad pattern is a bug caught by the unit tests; never fatal at run time.
                eprintln!("gpt2giga: redaction pattern does not compile: {e}");
                None
            }
        })
        .collect()
});

/// Masks secrets in log text.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    /// The configuration's own secrets, masked wherever they appear.
    literals: Option<Regex>,
}

impl Redactor {
    /// A redactor that also masks each of `secrets` verbatim (values shorter than four
    /// characters are ignored: they would mask ordinary text).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= 4)
            .map(|s| regex::escape(&s))
            .collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let literals = (!secrets.is_empty())
            .then(|| Regex::new(&secrets.join("|")).ok())
            .flatten();
        Self { literals }
    }

    /// `text` with every secret replaced by `***` (borrowed when nothing matched).
    pub(crate) fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        if let Some(re) = &self.literals
            && let Cow::Owned(s) = re.replace_all(&out, "***")
        {
            out = Cow::Owned(s);
        }
        // Most text holds none of the words every context rule needs: one fast literal
        // scan instead of running each rule.
        if TRIGGERS.as_ref().is_some_and(|t| !triggered(t, &out)) {
            return out;
        }
        for rule in RULES.iter() {
            if let Cow::Owned(s) = rule.apply(&out) {
                out = Cow::Owned(s);
            }
        }
        out
    }
}

/// An `io::Write` that redacts what passes through it. `tracing` hands each event to
/// its writer in one `write_all`, so every call sees whole lines.
pub(crate) struct RedactingWriter<W> {
    inner: W,
    redactor: Option<Arc<Redactor>>,
}

impl<W> RedactingWriter<W> {
    /// `redactor: None` passes text through unchanged.
    pub fn new(inner: W, redactor: Option<Arc<Redactor>>) -> Self {
        Self { inner, redactor }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.redactor {
            None => self.inner.write(buf),
            Some(r) => {
                let text = String::from_utf8_lossy(buf);
                self.inner.write_all(r.redact(&text).as_bytes())?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lines queued for the background writer before new ones are dropped. The default
/// (128k) preallocates megabytes per writer; a few thousand lines absorb any burst.
const QUEUED_LINES: usize = 8 * 1024;

/// A writer that hands lines to a background thread.
fn background<W: Write + Send + 'static>(
    writer: W,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .finish(writer)
}

/// Writes every line to standard error and, when there is one, to the log file.
struct Tee<A, B>(A, Option<B>);

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A closed or broken standard error must not stop the file from being written.
        let _ = self.0.write_all(buf);
        if let Some(file) = &mut self.1 {
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        if let Some(file) = &mut self.1 {
            file.flush()?;
        }
        Ok(())
    }
}

/// A [`MakeWriter`] whose writers redact: wraps any `tracing` writer (the tests
/// capture formatted, redacted lines through it).
#[cfg(test)]
pub(crate) struct RedactingMakeWriter<M> {
    inner: M,
    redactor: Option<Arc<Redactor>>,
}

#[cfg(test)]
impl<M> RedactingMakeWriter<M> {
    pub fn new(inner: M, redactor: Option<Arc<Redactor>>) -> Self {
        Self { inner, redactor }
    }
}

#[cfg(test)]
impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer(), self.redactor.clone())
    }
}

// ---- live viewers -------------------------------------------------------------------------

/// Formatted, redacted log lines for live viewers.
static HUB: LazyLock<broadcast::Sender<Arc<str>>> =
    LazyLock::new(|| broadcast::channel(HUB_CAPACITY).0);

/// A receiver of every log line written from now on (already redacted). Lines are
/// published only while at least one receiver exists.
pub(crate) fn subscribe() -> broadcast::Receiver<Arc<str>> {
    HUB.subscribe()
}

/// Publishes `line` to live viewers as if it had been logged (for tests and tools).
pub fn publish(line: &str) {
    let _ = HUB.send(Arc::from(line));
}

/// The writer of the live-viewer layer: buffers one event, redacts it and publishes
/// each of its lines when dropped.
struct HubWriter {
    redactor: Option<Arc<Redactor>>,
}

struct HubLine {
    buf: Vec<u8>,
    redactor: Option<Arc<Redactor>>,
}

impl<'a> MakeWriter<'a> for HubWriter {
    type Writer = HubLine;

    fn make_writer(&'a self) -> Self::Writer {
        HubLine {
            buf: Vec::new(),
            redactor: self.redactor.clone(),
        }
    }
}

impl Write for HubLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for HubLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let text = match &self.redactor {
            Some(r) => r.redact(&text).into_owned(),
            None => text.into_owned(),
        };
        for line in text.lines().filter(|l| !l.is_empty()) {
            publish(line);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_without_trigger_words_is_not_run_through_the_rules() {
        let r = Redactor::new(["s3cr3t-literal".to_string()]);
        let plain = "GET /v1/models/GigaChat-2 200 3.1ms req 6f1c";
        assert!(matches!(r.redact(plain), Cow::Borrowed(_)));
        // The literals are still masked without a trigger word.
        assert_eq!(r.redact("x s3cr3t-literal y"), "x *** y");
        // Every rule's kind of match carries a trigger word.
        for (text, secret) in [
            (r#"{"api_key": "v1"}"#, "v1"),
            ("TOKEN=v2", "v2"),
            ("pwd: v3", "v3"),
            ("Authorization: Bearer v4abc", "v4abc"),
            ("/m?key=v5abc", "v5abc"),
            ("giga-cred-v6abc", "v6abc"),
            ("eyJhbGciOiJIUzI1.eyJzdWIiOiIx.c2ln", "eyJhbGciOiJIUzI1"),
            ("Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
            ("cookie=v7", "v7"),
            ("GIGACHAT_CREDENTIALS=v8", "v8"),
        ] {
            let out = r.redact(text);
            assert!(!out.contains(secret), "{text} -> {out}");
        }
    }

    fn r(text: &str) -> String {
        Redactor::default().redact(text).into_owned()
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(RULES.len(), 10);
    }

    #[test]
    fn json_values_of_sensitive_keys_are_masked() {
        assert_eq!(
            r(r#"{"password":"hunter2","user":"bob"}"#),
            r#"{"password":"***","user":"bob"}"#
        );
        assert_eq!(
            r(r#"{"Authorization": "xyz \"q\" z", "n": 1}"#),
            r#"{"Authorization": "***", "n": 1}"#
        );
        assert_eq!(
            r(r#"{"access_token":"a.b.c","expires_at":1}"#),
            r#"{"access_token":"***","expires_at":1}"#
        );
        assert_eq!(r(r#"{"x-api-key":"k"}"#), r#"{"x-api-key":"***"}"#);
        assert_eq!(
            r(r#"{"message":"body {\"password\":\"p4ss\"}"}"#),
            r#"{"message":"body {\"password\":\"***\"}"}"#
        );
        assert_eq!(r("{'secret': 'abc'}"), "{'secret': '***'}");
        // Non-secret keys that merely contain a key word are kept.
        let usage = r#"{"max_tokens":5,"input_tokens":3,"token_fetches":1,"key":"k"}"#;
        assert_eq!(r(usage), usage);
        // `tokens` alone does not even run the rules; a real key beside it is masked.
        let counts = r#"{"usage":{"prompt_tokens":5,"TOTAL_TOKENS":7}}"#;
        assert!(matches!(
            Redactor::default().redact(counts),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            r(r#"{"max_tokens":5,"token":"abc","tokens_secret":"def"}"#),
            r#"{"max_tokens":5,"token":"***","tokens_secret":"***"}"#
        );
    }

    #[test]
    fn key_value_pairs_are_masked() {
        assert_eq!(r("GET /x?x-api-key=abc&n=1"), "GET /x?x-api-key=***&n=1");
        assert_eq!(
            r("POST /v1beta/models/m:streamGenerateContent?alt=sse&key=AIzaSecret1"),
            "POST /v1beta/models/m:streamGenerateContent?alt=sse&key=***"
        );
        assert_eq!(
            r("GET /v1beta/models?key=k2&pageSize=1"),
            "GET /v1beta/models?key=***&pageSize=1"
        );
        assert_eq!(
            r("GIGACHAT_CREDENTIALS=Zm9vOmJhcg== GPT2GIGA_API_KEY=k1"),
            "GIGACHAT_CREDENTIALS=*** GPT2GIGA_API_KEY=***"
        );
        assert_eq!(r(r#"api_key="s e c" next=1"#), "api_key=*** next=1");
        assert_eq!(
            r("token_fetches=3 max_tokens=9"),
            "token_fetches=3 max_tokens=9"
        );
        assert_eq!(r("x-api-key: abc123"), "x-api-key: ***");
    }

    #[test]
    fn bearer_basic_and_giga_tokens_are_masked() {
        assert_eq!(
            r("Authorization: Bearer sk-123.456"),
            "Authorization: Bearer ***"
        );
        assert_eq!(r(r#""auth":"Bearer abc""#), r#""auth":"Bearer ***""#);
        assert_eq!(r("Basic dXNlcjpwYXNz"), "Basic ***");
        assert_eq!(r("Basic setup done"), "Basic setup done");
        assert_eq!(
            r("identity giga-cred-Zm9vOmJhcg==:GIGACHAT_API_PERS used"),
            "identity giga-cred-*** used"
        );
        assert_eq!(
            r("giga-auth-tok123 and giga-user-bob:pw"),
            "giga-auth-*** and giga-user-***"
        );
        assert_eq!(
            r("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"),
            "token ***"
        );
        // The bare word in prose stays.
        assert_eq!(
            r("send it as x-api-key or Authorization: Bearer"),
            "send it as x-api-key or Authorization: Bearer"
        );
    }

    #[test]
    fn configured_secrets_are_masked_verbatim() {
        let red = Redactor::new(["very-secret-key".to_string(), "ab".to_string()]);
        assert_eq!(
            red.redact("echo very-secret-key in ab text"),
            "echo *** in ab text"
        );
        let plain = "nothing to hide";
        assert!(matches!(red.redact(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn the_make_writer_redacts_what_tracing_writes() {
        #[derive(Clone, Default)]
        struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for format in [LogFormat::Text, LogFormat::Json] {
            let captured = Captured::default();
            let sink = captured.clone();
            let writer = RedactingMakeWriter::new(
                move || sink.clone(),
                Some(Arc::new(Redactor::new(["cfg-secret-1".to_string()]))),
            );
            let subscriber = tracing_subscriber::registry().with(fmt_layer(format, writer, false));
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(api_key = "k-live-1", "header Authorization: Bearer tok-1");
                tracing::warn!(
                    body = r#"{"password":"pw-1"}"#,
                    "saw giga-auth-tok-2 and cfg-secret-1"
                );
            });
            let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            for secret in ["k-live-1", "tok-1", "pw-1", "tok-2", "cfg-secret-1"] {
                assert!(!out.contains(secret), "{format:?} leaked {secret}: {out}");
            }
            assert!(out.contains("Bearer ***"), "{out}");
            assert_eq!(out.lines().count(), 2, "{out}");
        }
    }
}
