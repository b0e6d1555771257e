//! Value parsers shared by every source (command line, environment, `.env`,
//! group JSON).
//!
//! Each parser takes a [`Raw`] value and returns the typed value or a short
//! reason ("expected a port number (0-65535)") that the caller turns into a
//! [`ConfigError::InvalidValue`](super::ConfigError::InvalidValue) naming the
//! flag or variable. Text is parsed the way pydantic(-settings) does in lax
//! mode, e.g. integers may carry `_` separators or a zero fraction (`8090.0`),
//! and JSON values may be native (`{"port": 8090}`) or strings (`{"port": "8090"}`).

use std::path::PathBuf;

use serde_json::Value;

use super::{ApiMode, LogFormat, LogLevel, Mode, ModelAliases, OtlpProtocol, StructuredOutputMode};
use gigachat::Secret;

/// A value as it arrived from one source.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// Text from the command line, the environment or a `.env` file.
    Text(&'a str),
    /// A value from `--proxy '{…}'` / `--gigachat '{…}'`.
    Json(&'a Value),
}

impl Raw<'_> {
    /// The value for an error message: text in double quotes, JSON as JSON.
    pub fn display(&self) -> String {
        match self {
            Raw::Text(s) => format!("{s:?}"),
            Raw::Json(v) => v.to_string(),
        }
    }

    /// The textual form when the value is text or a JSON string.
    fn as_text(&self) -> Option<&str> {
        match self {
            Raw::Text(s) => Some(s),
            Raw::Json(Value::String(s)) => Some(s),
            Raw::Json(_) => None,
        }
    }
}

pub type Parsed<T> = Result<T, String>;

/// Booleans: `true/false`, `t/f`, `yes/no`, `y/n`, `on/off`, `1/0`, any case
/// (pydantic's set); JSON `true`/`false`/`0`/`1`.
pub fn boolean(raw: Raw<'_>) -> Parsed<bool> {
    const EXPECTED: &str = "expected a boolean (true/false, yes/no, on/off, 1/0)";
    if let Some(s) = raw.as_text() {
        return bool_text(s).ok_or_else(|| EXPECTED.to_string());
    }
    match raw {
        Raw::Json(Value::Bool(b)) => Ok(*b),
        Raw::Json(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Raw::Json(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        _ => Err(EXPECTED.to_string()),
    }
}

fn bool_text(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Any string (JSON must be a string).
pub fn string(raw: Raw<'_>) -> Parsed<String> {
    raw.as_text()
        .map(str::to_string)
        .ok_or_else(|| "expected a string".to_string())
}

/// A non-empty string with surrounding whitespace removed.
pub fn word(raw: Raw<'_>) -> Parsed<String> {
    let s = string(raw)?;
    let t = s.trim();
    if t.is_empty() {
        return Err("expected a non-empty value".to_string());
    }
    Ok(t.to_string())
}

/// A file-system path (non-empty).
pub fn path(raw: Raw<'_>) -> Parsed<PathBuf> {
    let s = string(raw)?;
    if s.trim().is_empty() {
        return Err("expected a file path".to_string());
    }
    Ok(PathBuf::from(s))
}

/// Unsigned integer up to `max`; `expected` is the error reason.
pub(crate) fn unsigned(raw: Raw<'_>, max: u64, expected: &str) -> Parsed<u64> {
    let n = match raw {
        Raw::Json(Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        _ => raw.as_text().and_then(uint_text),
    };
    n.filter(|n| *n <= max).ok_or_else(|| expected.to_string())
}

/// Python `int()`-style text: optional `+`, `_` between digits, and a zero
/// fraction (`8090.0`) as pydantic accepts.
fn uint_text(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let t = match t.split_once('.') {
        Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => t,
    };
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    if !t.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

pub fn port(raw: Raw<'_>) -> Parsed<u16> {
    let n = unsigned(raw, u64::from(u16::MAX), "expected a port number (0-65535)")?;
    u16::try_from(n).map_err(|_| "expected a port number (0-65535)".to_string())
}

/// A byte count / millisecond count / any non-negative integer.
pub(crate) fn u64_value(raw: Raw<'_>) -> Parsed<u64> {
    unsigned(raw, u64::MAX, "expected a non-negative integer")
}

pub(crate) fn u32_value(raw: Raw<'_>) -> Parsed<u32> {
    let n = unsigned(raw, u64::from(u32::MAX), "expected a non-negative integer")?;
    u32::try_from(n).map_err(|_| "expected a non-negative integer".to_string())
}

/// A positive integer (a count where 0 makes no sense, e.g. a connection cap).
pub(crate) fn positive_usize(raw: Raw<'_>) -> Parsed<usize> {
    const EXPECTED: &str = "expected a positive integer";
    let n = unsigned(raw, u64::MAX, EXPECTED)?;
    match usize::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(EXPECTED.to_string()),
    }
}

fn float(raw: Raw<'_>) -> Option<f64> {
    match raw {
        Raw::Json(Value::Number(n)) => n.as_f64(),
        _ => raw
            .as_text()
            .and_then(|s| s.trim().replace('_', "").parse::<f64>().ok()),
    }
    .filter(|f| f.is_finite())
}

/// Seconds, strictly positive and finite (a timeout).
pub(crate) fn positive_seconds(raw: Raw<'_>) -> Parsed<f64> {
    float(raw)
        .filter(|f| *f > 0.0 && std::time::Duration::try_from_secs_f64(*f).is_ok())
        .ok_or_else(|| "expected a positive number of seconds".to_string())
}

/// A finite number >= 0.
pub(crate) fn non_negative_float(raw: Raw<'_>) -> Parsed<f64> {
    float(raw)
        .filter(|f| *f >= 0.0)
        .ok_or_else(|| "expected a non-negative number".to_string())
}

pub fn mode(raw: Raw<'_>) -> Parsed<Mode> {
    let s = string(raw).map_err(|_| "expected DEV or PROD".to_string())?;
    s.parse()
}

pub fn log_level(raw: Raw<'_>) -> Parsed<LogLevel> {
    let s = string(raw).map_err(|_| LogLevel::EXPECTED.to_string())?;
    s.parse()
}

pub fn structured_output(raw: Raw<'_>) -> Parsed<StructuredOutputMode> {
    let s = string(raw).map_err(|_| "expected native or function".to_string())?;
    s.parse()
}

pub fn api_mode(raw: Raw<'_>) -> Parsed<ApiMode> {
    let s = string(raw).map_err(|_| ApiMode::EXPECTED.to_string())?;
    s.parse()
}

pub fn otlp_protocol(raw: Raw<'_>) -> Parsed<OtlpProtocol> {
    let s = string(raw).map_err(|_| OtlpProtocol::EXPECTED.to_string())?;
    s.parse()
}

pub fn log_format(raw: Raw<'_>) -> Parsed<LogFormat> {
    let s = string(raw).map_err(|_| "expected text or json".to_string())?;
    s.parse()
}

/// An absolute `http://` or `https://` URL with a host.
pub(crate) fn http_url(raw: Raw<'_>) -> Parsed<String> {
    const EXPECTED: &str = "expected an http:// or https:// URL";
    let s = string(raw).map_err(|_| EXPECTED.to_string())?;
    let s = s.trim();
    let url = url::Url::parse(s).map_err(|e| format!("{EXPECTED} ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(EXPECTED.to_string());
    }
    Ok(s.to_string())
}

/// One `--proxy.logs-ip-allowlist` entry: `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`
/// (a plain address is a /32 or /128 network).
pub(crate) fn ip_net(entry: &str) -> Result<ipnet::IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<ipnet::IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{entry:?} is not an IP address or CIDR network"))
}

/// A list of IP addresses or CIDR networks (empty items are skipped).
pub(crate) fn ip_nets(raw: Raw<'_>) -> Parsed<Vec<String>> {
    let items = string_list(raw)?;
    for item in items.iter().filter(|i| !i.trim().is_empty()) {
        ip_net(item)?;
    }
    Ok(items)
}

/// A shared-state URL: `redis://` or `rediss://` with a host, or `redis+unix://`.
/// An empty value means unset (kept in memory).
pub fn state_url(raw: Raw<'_>) -> Parsed<Secret> {
    const EXPECTED: &str = "expected a redis://host:port/db, rediss://… or redis+unix://… URL";
    let s = string(raw).map_err(|_| EXPECTED.to_string())?;
    let s = s.trim();
    let url = url::Url::parse(s).map_err(|_| EXPECTED.to_string())?;
    let ok = match url.scheme() {
        "redis" | "rediss" => url.host_str().is_some_and(|h| !h.is_empty()),
        "redis+unix" | "unix" => !url.path().is_empty(),
        _ => false,
    };
    if !ok {
        return Err(EXPECTED.to_string());
    }
    Ok(Secret::new(s))
}

/// The traffic log's database: `sqlite://…` / `sqlite:…` (a file path, or
/// `:memory:`) or `postgres://…` / `postgresql://…` with a host.
pub fn traffic_log_url(raw: Raw<'_>) -> Parsed<Secret> {
    const EXPECTED: &str =
        "expected sqlite:///path/traffic.db or postgres://user:password@host:5432/db";
    let s = string(raw).map_err(|_| EXPECTED.to_string())?;
    let s = s.trim();
    let ok = if let Some(rest) = s.strip_prefix("sqlite:") {
        !rest.trim_start_matches('/').is_empty()
    } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        url::Url::parse(s).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
    } else {
        false
    };
    if !ok {
        return Err(EXPECTED.to_string());
    }
    Ok(Secret::new(s))
}

/// `metadata` | `bodies` (case-insensitive).
pub fn traffic_log_level(raw: Raw<'_>) -> Parsed<super::TrafficLogLevel> {
    let s = string(raw)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "metadata" => Ok(super::TrafficLogLevel::Metadata),
        "bodies" => Ok(super::TrafficLogLevel::Bodies),
        _ => Err("expected metadata or bodies".to_string()),
    }
}

/// Split one list value into items: a JSON array (`["a","b"]`, `[429,503]`),
/// a Python tuple (`(429, 503)`, `('a', 'b')`) or a comma-separated list
/// (`a,b`). Empty text is the empty list. Items are JSON values so that
/// string and number items can be checked by the element parser.
pub(crate) fn list_items(raw: Raw<'_>) -> Parsed<Vec<Value>> {
    match raw {
        Raw::Json(Value::Array(items)) => Ok(items.clone()),
        Raw::Json(Value::String(s)) => list_text(s),
        Raw::Text(s) => list_text(s),
        Raw::Json(_) => Err("expected a list".to_string()),
    }
}

fn list_text(s: &str) -> Parsed<Vec<Value>> {
    let t = s.trim();
    if t.starts_with('[') {
        return match serde_json::from_str::<Value>(t) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(_) => Err("expected a JSON array".to_string()),
            Err(e) => Err(format!("expected a JSON array ({e})")),
        };
    }
    let inner = t
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(t);
    Ok(inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| Value::String(unquote(item).to_string()))
        .collect())
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// A list of strings.
pub(crate) fn string_list(raw: Raw<'_>) -> Parsed<Vec<String>> {
    list_items(raw)?
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err("expected a list of strings".to_string()),
        })
        .collect()
}

/// A list of HTTP status codes (100-599).
pub(crate) fn status_codes(raw: Raw<'_>) -> Parsed<Vec<u16>> {
    const EXPECTED: &str =
        "expected a list of HTTP status codes (100-599), e.g. [429,503] or 429,503";
    list_items(raw)?
        .iter()
        .map(|item| {
            let n = unsigned(Raw::Json(item), 599, EXPECTED)?;
            u16::try_from(n)
                .ok()
                .filter(|n| *n >= 100)
                .ok_or_else(|| EXPECTED.to_string())
        })
        .collect()
}

/// `--proxy.model-aliases`: inline JSON or a JSON/YAML file path (text), or a JSON
/// object given in the group JSON.
pub fn model_aliases(raw: Raw<'_>) -> Parsed<ModelAliases> {
    match raw {
        Raw::Json(v @ Value::Object(_)) => ModelAliases::from_value(v),
        _ => match raw.as_text() {
            Some(text) => ModelAliases::parse_text(text),
            None => {
                Err("expected inline JSON, a JSON object or the path of a JSON/YAML file".into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Raw<'_> {
        Raw::Text(s)
    }

    #[test]
    fn booleans_accept_pydantic_spellings() {
        for s in [
            "true", "True", "TRUE", "t", "yes", "Y", "on", "On", "1", " true ",
        ] {
            assert_eq!(boolean(t(s)), Ok(true), "{s}");
        }
        for s in ["false", "False", "FALSE", "f", "no", "N", "off", "OFF", "0"] {
            assert_eq!(boolean(t(s)), Ok(false), "{s}");
        }
        for s in ["", "2", "maybe", "truee"] {
            assert!(boolean(t(s)).is_err(), "{s}");
        }
        assert_eq!(boolean(Raw::Json(&json!(true))), Ok(true));
        assert_eq!(boolean(Raw::Json(&json!(0))), Ok(false));
        assert_eq!(boolean(Raw::Json(&json!("yes"))), Ok(true));
        assert!(boolean(Raw::Json(&json!(2))).is_err());
        assert!(boolean(Raw::Json(&json!(null))).is_err());
    }

    #[test]
    fn integers_are_python_like() {
        assert_eq!(port(t("8090")), Ok(8090));
        assert_eq!(port(t(" 8090 ")), Ok(8090));
        assert_eq!(port(t("+80")), Ok(80));
        assert_eq!(port(t("8_090")), Ok(8090));
        assert_eq!(port(t("8090.0")), Ok(8090));
        assert_eq!(port(Raw::Json(&json!(8090))), Ok(8090));
        assert_eq!(port(Raw::Json(&json!("8090"))), Ok(8090));
        assert_eq!(port(Raw::Json(&json!(8090.0))), Ok(8090));
        for bad in ["", "abc", "-1", "65536", "80.5", "_80", "8__0", "1e3"] {
            assert!(port(t(bad)).is_err(), "{bad}");
        }
        assert!(port(Raw::Json(&json!(-1))).is_err());
        assert!(port(Raw::Json(&json!(true))).is_err());
        assert_eq!(u64_value(t("10485760")), Ok(10_485_760));
        assert!(u64_value(t("-5")).is_err());
        assert_eq!(u32_value(t("3")), Ok(3));
        assert!(u32_value(t("4294967296")).is_err());
        assert_eq!(positive_usize(t("4")), Ok(4));
        assert!(positive_usize(t("0")).is_err());
    }

    #[test]
    fn floats() {
        assert_eq!(positive_seconds(t("30")), Ok(30.0));
        assert_eq!(positive_seconds(t("1e1")), Ok(10.0));
        assert_eq!(positive_seconds(t("0.25")), Ok(0.25));
        assert_eq!(positive_seconds(Raw::Json(&json!(5))), Ok(5.0));
        for bad in ["-1", "0", "abc", "inf", "NaN", "1e400"] {
            assert!(positive_seconds(t(bad)).is_err(), "{bad}");
        }
        assert_eq!(non_negative_float(t("0")), Ok(0.0));
        assert!(non_negative_float(t("-0.5")).is_err());
    }

    #[test]
    fn lists() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(string_list(t(r#"["a","b"]"#)), Ok(v(&["a", "b"])));
        assert_eq!(string_list(t("a, b,,c")), Ok(v(&["a", "b", "c"])));
        assert_eq!(string_list(t("*")), Ok(v(&["*"])));
        assert_eq!(string_list(t("")), Ok(vec![]));
        assert_eq!(string_list(t("[]")), Ok(vec![]));
        assert_eq!(string_list(t("('a', \"b\")")), Ok(v(&["a", "b"])));
        assert_eq!(string_list(Raw::Json(&json!(["x"]))), Ok(v(&["x"])));
        assert!(string_list(t("[1,2]")).is_err());
        assert!(string_list(t("[oops")).is_err());
        assert!(string_list(Raw::Json(&json!({"a": 1}))).is_err());

        assert_eq!(status_codes(t("[429,503]")), Ok(vec![429, 503]));
        assert_eq!(status_codes(t("429,503")), Ok(vec![429, 503]));
        assert_eq!(status_codes(t("(429, 503)")), Ok(vec![429, 503]));
        assert_eq!(status_codes(t("429")), Ok(vec![429]));
        assert_eq!(status_codes(t(r#"["429"]"#)), Ok(vec![429]));
        assert_eq!(status_codes(Raw::Json(&json!([500]))), Ok(vec![500]));
        for bad in ["abc", "99", "600", "[429,\"x\"]", "-1"] {
            assert!(status_codes(t(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            http_url(t("https://gigachat.devices.sberbank.ru/api/v1")),
            Ok("https://gigachat.devices.sberbank.ru/api/v1".to_string())
        );
        assert!(http_url(t("http://localhost:8080")).is_ok());
        for bad in [
            "",
            "not a url",
            "ftp://x/y",
            "localhost:8080",
            "file:///etc",
        ] {
            assert!(http_url(t(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn enums() {
        assert_eq!(mode(t("prod")), Ok(Mode::Prod));
        assert_eq!(mode(t(" Dev ")), Ok(Mode::Dev));
        assert!(mode(t("staging")).is_err());
        assert_eq!(log_level(t("debug")), Ok(LogLevel::Debug));
        assert_eq!(log_level(t("WARNING")), Ok(LogLevel::Warning));
        assert!(log_level(t("verbose")).is_err());
        assert_eq!(log_format(t("JSON")), Ok(LogFormat::Json));
        assert!(log_format(t("xml")).is_err());
    }

    #[test]
    fn ip_networks() {
        assert!(ip_net("10.0.0.0/8").is_ok());
        assert!(ip_net(" ::1 ").is_ok());
        assert!(ip_net("10.0.0.0/33").is_err());
        assert!(ip_net("::ffff:10.0.0.0/129").is_err());
        assert!(ip_net("localhost").is_err());
        assert!(ip_net("10.0.0.0/x").is_err());
        assert!(ip_nets(Raw::Text("1.2.3.4, nope")).is_err());
        assert_eq!(ip_nets(Raw::Text("")).unwrap(), Vec::<String>::new());
    }
}
