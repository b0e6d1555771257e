//! Integration tests of `gpt2giga::config`: every flag and variable, the
//! defaults, precedence, group JSON, `.env` handling, validation, warnings,
//! and secret masking. No test touches the process environment.

// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gigachat::Secret;
use gpt2giga::config::spec::{FIELDS, FieldSpec, Group};
use gpt2giga::config::{
    ApiMode, AuthMode, Config, ConfigError, LogFormat, LogLevel, Mode, ModelAliases, OtlpProtocol,
    StructuredOutputMode, TrafficLogLevel,
};

fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("gpt2giga")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

fn envmap(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Load with `cwd` = a fresh empty directory (so no `.env`).
fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    Config::load_from(argv(args), &envmap(env), dir.path())
}

fn load_ok(args: &[&str], env: &[(&str, &str)]) -> Config {
    load(args, env).unwrap_or_else(|e| panic!("{args:?} {env:?}: {e}"))
}

fn load_err(args: &[&str], env: &[(&str, &str)]) -> String {
    match load(args, env) {
        Ok(c) => panic!("{args:?} {env:?} should fail, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn spec(group: Group, name: &str) -> &'static FieldSpec {
    FIELDS
        .iter()
        .find(|f| f.group == group && f.name == name)
        .unwrap()
}

/// Compare only the settings (not warnings / env_path).
fn settings(c: &Config) -> (String, String, bool) {
    (
        format!("{:?}", c.proxy),
        format!("{:?}", c.gigachat),
        c.demo,
    )
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_equal_python_defaults() {
    let c = load_ok(&[], &[]);
    let p = &c.proxy;
    assert_eq!(p.mode, Mode::Dev);
    assert_eq!(p.host, "localhost");
    assert_eq!(p.port, 8090);
    assert!(!p.use_https);
    assert_eq!(p.https_key_file, None);
    assert_eq!(p.https_cert_file, None);
    assert!(!p.pass_model);
    assert!(!p.pass_token);
    assert_eq!(p.embeddings, "EmbeddingsGigaR");
    assert_eq!(p.cors_allow_origins, ["*"]);
    assert_eq!(p.cors_allow_methods, ["*"]);
    assert_eq!(p.cors_allow_headers, ["*"]);
    assert!(p.enable_images);
    assert!(!p.enable_reasoning);
    assert_eq!(p.max_request_body_bytes, 10 * 1024 * 1024);
    assert_eq!(p.max_audio_file_size_bytes, 35 * 1024 * 1024);
    assert_eq!(p.max_image_file_size_bytes, 15 * 1024 * 1024);
    assert_eq!(p.max_text_file_size_bytes, 40 * 1024 * 1024);
    assert_eq!(p.max_audio_image_total_size_bytes, 80 * 1024 * 1024);
    assert_eq!(p.log_level, LogLevel::Info);
    assert_eq!(p.log_filename, PathBuf::from("gpt2giga.log"));
    assert_eq!(p.log_max_size, 10 * 1024 * 1024);
    assert!(p.log_redact_sensitive);
    assert!(p.logs_ip_allowlist.is_empty());
    assert!(!p.enable_api_key_auth);
    assert_eq!(p.api_key, None);
    assert_eq!(p.log_format, LogFormat::Text);
    assert_eq!(p.shutdown_timeout_secs, 30);

    let g = &c.gigachat;
    assert_eq!(g.base_url, "https://gigachat.devices.sberbank.ru/api/v1");
    assert_eq!(
        g.auth_url,
        "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
    );
    assert_eq!(g.credentials, None);
    assert_eq!(g.scope, "GIGACHAT_API_PERS");
    assert_eq!(g.user, None);
    assert_eq!(g.password, None);
    assert_eq!(g.access_token, None);
    assert_eq!(g.model, None);
    assert_eq!(g.model(), "GigaChat");
    assert_eq!(g.profanity_check, None);
    assert_eq!(g.timeout, 30.0);
    assert!(g.verify_ssl_certs);
    assert_eq!(g.ca_bundle_file, None);
    assert_eq!(g.cert_file, None);
    assert_eq!(g.key_file, None);
    assert_eq!(g.key_file_password, None);
    assert!(g.flags.is_empty());
    assert_eq!(g.max_connections, None);
    assert_eq!(g.max_retries, 0);
    assert_eq!(g.retry_backoff_factor, 0.5);
    assert_eq!(g.retry_on_status_codes, [429, 500, 502, 503, 504]);
    assert_eq!(g.token_expiry_buffer_ms, 60_000);

    assert!(!c.demo);
    assert_eq!(c.env_path, None);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c, Config::default());
}

/// The defaults shown in `--help` parse back to the real defaults.
#[test]
fn help_defaults_match_real_defaults() {
    for f in FIELDS {
        if let Some(d) = f.default {
            let c = load_ok(&[], &[(&f.env_var(), d)]);
            assert_eq!(settings(&c), settings(&Config::default()), "{}", f.name);
        }
    }
}

// ------------------------------------------------- every flag and variable

struct Case {
    group: Group,
    name: &'static str,
    value: &'static str,
    /// Extra variables needed for the case to be valid (process env).
    also: &'static [(&'static str, &'static str)],
    expect: fn(&mut Config),
}

const fn case(
    group: Group,
    name: &'static str,
    value: &'static str,
    expect: fn(&mut Config),
) -> Case {
    Case {
        group,
        name,
        value,
        also: &[],
        expect,
    }
}

use Group::{GigaChat as G, Proxy as P};

const ALIASES_JSON: &str = r#"{"gpt-4o":"GigaChat-2-Pro","gpt-4o-mini":"GigaChat-2","claude-*":{"model":"GigaChat-2-Max","max_tokens":4096}}"#;

fn cases() -> Vec<Case> {
    vec![
        case(P, "mode", "prod", |c| c.proxy.mode = Mode::Prod),
        case(P, "host", "0.0.0.0", |c| c.proxy.host = "0.0.0.0".into()),
        case(P, "port", "9000", |c| c.proxy.port = 9000),
        Case {
            also: &[
                ("GPT2GIGA_HTTPS_KEY_FILE", "/k.pem"),
                ("GPT2GIGA_HTTPS_CERT_FILE", "/c.pem"),
            ],
            ..case(P, "use_https", "True", |c| {
                c.proxy.use_https = true;
                c.proxy.https_key_file = Some("/k.pem".into());
                c.proxy.https_cert_file = Some("/c.pem".into());
            })
        },
        case(P, "https_key_file", "/tmp/key.pem", |c| {
            c.proxy.https_key_file = Some("/tmp/key.pem".into())
        }),
        case(P, "https_cert_file", "/tmp/cert.pem", |c| {
            c.proxy.https_cert_file = Some("/tmp/cert.pem".into())
        }),
        case(P, "pass_model", "true", |c| c.proxy.pass_model = true),
        case(P, "pass_token", "yes", |c| c.proxy.pass_token = true),
        case(P, "embeddings", "Embeddings", |c| {
            c.proxy.embeddings = "Embeddings".into()
        }),
        case(P, "model_aliases", ALIASES_JSON, |c| {
            c.proxy.model_aliases = ModelAliases::parse_text(ALIASES_JSON).unwrap()
        }),
        case(
            P,
            "cors_allow_origins",
            r#"["https://a.example","https://b.example"]"#,
            |c| {
                c.proxy.cors_allow_origins =
                    vec!["https://a.example".into(), "https://b.example".into()]
            },
        ),
        case(P, "cors_allow_methods", "GET,POST", |c| {
            c.proxy.cors_allow_methods = vec!["GET".into(), "POST".into()]
        }),
        case(P, "cors_allow_headers", r#"["x-api-key"]"#, |c| {
            c.proxy.cors_allow_headers = vec!["x-api-key".into()]
        }),
        case(P, "enable_images", "false", |c| {
            c.proxy.enable_images = false
        }),
        case(P, "enable_reasoning", "1", |c| {
            c.proxy.enable_reasoning = true
        }),
        case(P, "max_request_body_bytes", "1001", |c| {
            c.proxy.max_request_body_bytes = 1001
        }),
        case(P, "max_audio_file_size_bytes", "1002", |c| {
            c.proxy.max_audio_file_size_bytes = 1002
        }),
        case(P, "max_image_file_size_bytes", "1003", |c| {
            c.proxy.max_image_file_size_bytes = 1003
        }),
        case(P, "max_text_file_size_bytes", "1004", |c| {
            c.proxy.max_text_file_size_bytes = 1004
        }),
        case(P, "max_audio_image_total_size_bytes", "1005", |c| {
            c.proxy.max_audio_image_total_size_bytes = 1005
        }),
        case(P, "log_level", "debug", |c| {
            c.proxy.log_level = LogLevel::Debug
        }),
        case(P, "log_filename", "/var/log/g.log", |c| {
            c.proxy.log_filename = "/var/log/g.log".into()
        }),
        case(P, "log_max_size", "2048", |c| c.proxy.log_max_size = 2048),
        case(P, "log_redact_sensitive", "False", |c| {
            c.proxy.log_redact_sensitive = false
        }),
        case(P, "logs_ip_allowlist", "127.0.0.1, 10.0.0.1", |c| {
            c.proxy.logs_ip_allowlist = vec!["127.0.0.1".into(), "10.0.0.1".into()]
        }),
        case(P, "enable_api_key_auth", "on", |c| {
            c.proxy.enable_api_key_auth = true
        }),
        case(P, "api_key", "sekret-api-key", |c| {
            c.proxy.api_key = Some(Secret::new("sekret-api-key"))
        }),
        case(P, "api_keys", "k-old, k-new", |c| {
            c.proxy.api_keys = vec![Secret::new("k-old"), Secret::new("k-new")]
        }),
        case(P, "max_concurrent_requests_per_model", "2", |c| {
            c.proxy.max_concurrent_requests_per_model = Some(2)
        }),
        case(P, "concurrency_queue_size", "7", |c| {
            c.proxy.concurrency_queue_size = 7
        }),
        case(P, "concurrency_queue_timeout_secs", "1.5", |c| {
            c.proxy.concurrency_queue_timeout_secs = 1.5
        }),
        case(P, "log_format", "json", |c| {
            c.proxy.log_format = LogFormat::Json
        }),
        case(P, "structured_output", "function", |c| {
            c.proxy.structured_output = StructuredOutputMode::Function
        }),
        case(P, "gigachat_api_mode", "v2", |c| {
            c.proxy.gigachat_api_mode = ApiMode::V2
        }),
        case(P, "responses_store_capacity", "7", |c| {
            c.proxy.responses_store_capacity = 7
        }),
        case(P, "responses_store_ttl_secs", "9", |c| {
            c.proxy.responses_store_ttl_secs = 9
        }),
        case(P, "responses_store_max_bytes", "4096", |c| {
            c.proxy.responses_store_max_bytes = 4096
        }),
        case(P, "state_url", "redis://127.0.0.1:6379/2", |c| {
            c.proxy.state_url = Some(Secret::new("redis://127.0.0.1:6379/2"))
        }),
        case(P, "traffic_log_url", "sqlite:///tmp/traffic.db", |c| {
            c.proxy.traffic_log_url = Some(Secret::new("sqlite:///tmp/traffic.db"))
        }),
        case(P, "traffic_log_level", "bodies", |c| {
            c.proxy.traffic_log_level = TrafficLogLevel::Bodies
        }),
        case(P, "traffic_log_max_body_bytes", "1024", |c| {
            c.proxy.traffic_log_max_body_bytes = 1024
        }),
        case(P, "traffic_log_retention_secs", "60", |c| {
            c.proxy.traffic_log_retention_secs = 60
        }),
        case(P, "traffic_log_max_bytes", "4096", |c| {
            c.proxy.traffic_log_max_bytes = 4096
        }),
        case(P, "traffic_log_queue_size", "8", |c| {
            c.proxy.traffic_log_queue_size = 8
        }),
        case(P, "otlp_endpoint", "http://127.0.0.1:4318", |c| {
            c.proxy.otlp_endpoint = Some("http://127.0.0.1:4318".into())
        }),
        case(P, "otlp_protocol", "grpc", |c| {
            c.proxy.otlp_protocol = Some(OtlpProtocol::Grpc)
        }),
        case(P, "enable_traffic_admin", "true", |c| {
            c.proxy.enable_traffic_admin = true
        }),
        case(P, "traffic_ip_allowlist", "127.0.0.1", |c| {
            c.proxy.traffic_ip_allowlist = vec!["127.0.0.1".into()]
        }),
        case(P, "concurrency_lease_secs", "2.5", |c| {
            c.proxy.concurrency_lease_secs = 2.5
        }),
        case(P, "shutdown_ready_delay_secs", "1.5", |c| {
            c.proxy.shutdown_ready_delay_secs = 1.5
        }),
        case(P, "max_connections", "64", |c| c.proxy.max_connections = 64),
        case(P, "header_read_timeout_secs", "2.5", |c| {
            c.proxy.header_read_timeout_secs = 2.5
        }),
        case(P, "keepalive_timeout_secs", "9", |c| {
            c.proxy.keepalive_timeout_secs = 9.0
        }),
        case(P, "shutdown_timeout_secs", "5", |c| {
            c.proxy.shutdown_timeout_secs = 5
        }),
        case(G, "base_url", "http://localhost:9999/api/v1", |c| {
            c.gigachat.base_url = "http://localhost:9999/api/v1".into()
        }),
        case(G, "auth_url", "https://auth.example/api/v2/oauth", |c| {
            c.gigachat.auth_url = "https://auth.example/api/v2/oauth".into()
        }),
        case(G, "credentials", "Y3JlZHM=", |c| {
            c.gigachat.credentials = Some(Secret::new("Y3JlZHM="))
        }),
        case(G, "scope", "GIGACHAT_API_CORP", |c| {
            c.gigachat.scope = "GIGACHAT_API_CORP".into()
        }),
        case(G, "user", "alice", |c| {
            c.gigachat.user = Some("alice".into())
        }),
        case(G, "password", "pa55", |c| {
            c.gigachat.password = Some(Secret::new("pa55"))
        }),
        case(G, "access_token", "tok-123", |c| {
            c.gigachat.access_token = Some(Secret::new("tok-123"))
        }),
        case(G, "model", "GigaChat-2-Max", |c| {
            c.gigachat.model = Some("GigaChat-2-Max".into())
        }),
        case(G, "profanity_check", "false", |c| {
            c.gigachat.profanity_check = Some(false)
        }),
        case(G, "timeout", "12.5", |c| c.gigachat.timeout = 12.5),
        case(G, "verify_ssl_certs", "no", |c| {
            c.gigachat.verify_ssl_certs = false
        }),
        case(G, "ca_bundle_file", "/ca.pem", |c| {
            c.gigachat.ca_bundle_file = Some("/ca.pem".into())
        }),
        case(G, "cert_file", "/client.pem", |c| {
            c.gigachat.cert_file = Some("/client.pem".into())
        }),
        case(G, "key_file", "/client.key", |c| {
            c.gigachat.key_file = Some("/client.key".into())
        }),
        case(G, "key_file_password", "kfp", |c| {
            c.gigachat.key_file_password = Some(Secret::new("kfp"))
        }),
        case(G, "flags", r#"["flag_a","flag_b"]"#, |c| {
            c.gigachat.flags = vec!["flag_a".into(), "flag_b".into()]
        }),
        case(G, "max_connections", "8", |c| {
            c.gigachat.max_connections = Some(8)
        }),
        case(G, "max_retries", "3", |c| c.gigachat.max_retries = 3),
        case(G, "retry_backoff_factor", "1.5", |c| {
            c.gigachat.retry_backoff_factor = 1.5
        }),
        case(G, "retry_on_status_codes", "(429, 503)", |c| {
            c.gigachat.retry_on_status_codes = vec![429, 503]
        }),
        case(G, "token_expiry_buffer_ms", "1000", |c| {
            c.gigachat.token_expiry_buffer_ms = 1000
        }),
    ]
}

#[test]
fn the_case_table_covers_every_field() {
    let cases = cases();
    for f in FIELDS {
        assert!(
            cases.iter().any(|c| c.group == f.group && c.name == f.name),
            "no test case for {}",
            f.flag()
        );
    }
    assert_eq!(cases.len(), FIELDS.len());
}

#[test]
fn every_flag_and_variable_sets_its_field() {
    for case in cases() {
        let f = spec(case.group, case.name);
        let mut expected = Config::default();
        (case.expect)(&mut expected);
        let expected = settings(&expected);
        let flag = f.flag();
        let var = f.env_var();
        let json = serde_json::json!({ case.name: case.value }).to_string();
        let group_flag = format!("--{}", f.group.name());
        let eq_arg = format!("{flag}={}", case.value);

        type Way<'a> = (&'a str, Vec<&'a str>, Vec<(String, String)>);
        let ways: Vec<Way<'_>> = vec![
            ("--flag value", vec![flag.as_str(), case.value], vec![]),
            ("--flag=value", vec![eq_arg.as_str()], vec![]),
            (
                "group JSON",
                vec![group_flag.as_str(), json.as_str()],
                vec![],
            ),
            ("ENV", vec![], vec![(var.clone(), case.value.to_string())]),
            (
                "env (lower case)",
                vec![],
                vec![(var.to_ascii_lowercase(), case.value.to_string())],
            ),
        ];
        for (way, args, vars) in ways {
            let mut env: Vec<(&str, &str)> = case.also.to_vec();
            env.extend(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let c = load(&args, &env).unwrap_or_else(|e| panic!("{} via {way}: {e}", case.name));
            assert_eq!(settings(&c), expected, "{} via {way}", case.name);
        }

        // .env file (single quotes keep JSON literal).
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".env", &format!("{var}='{}'\n", case.value));
        let c = Config::load_from(argv(&[]), &envmap(case.also), dir.path())
            .unwrap_or_else(|e| panic!("{} via .env: {e}", case.name));
        assert_eq!(settings(&c), expected, "{} via .env", case.name);
        assert_eq!(c.env_path, Some(dir.path().join(".env")));
    }
}

#[test]
fn group_json_accepts_native_json_types() {
    let c = load_ok(
        &[
            "--proxy",
            r#"{"port": 9001, "pass_model": true, "cors_allow_origins": ["https://x"],
                "max_request_body_bytes": 5, "mode": "PROD", "api_key": "k"}"#,
            "--gigachat",
            r#"{"timeout": 7, "profanity_check": false, "retry_on_status_codes": [503],
                "max_connections": 2, "flags": ["f"], "model": null}"#,
        ],
        &[("GIGACHAT_MODEL", "from-env")],
    );
    assert_eq!(c.proxy.port, 9001);
    assert!(c.proxy.pass_model);
    assert_eq!(c.proxy.cors_allow_origins, ["https://x"]);
    assert_eq!(c.proxy.max_request_body_bytes, 5);
    assert_eq!(c.proxy.mode, Mode::Prod);
    assert_eq!(c.gigachat.timeout, 7.0);
    assert_eq!(c.gigachat.profanity_check, Some(false));
    assert_eq!(c.gigachat.retry_on_status_codes, [503]);
    assert_eq!(c.gigachat.max_connections, Some(2));
    assert_eq!(c.gigachat.flags, ["f"]);
    // JSON null resets an optional field even over the environment.
    assert_eq!(c.gigachat.model, None);
}

#[test]
fn demo_flag_and_variable() {
    assert!(load_ok(&["--demo"], &[]).demo);
    assert!(load_ok(&["--demo", "true"], &[]).demo);
    assert!(!load_ok(&["--demo=false"], &[("GPT2GIGA_DEMO", "1")]).demo);
    assert!(load_ok(&[], &[("GPT2GIGA_DEMO", "yes")]).demo);
    assert!(load_ok(&[], &[("gpt2giga_demo", "On")]).demo);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GPT2GIGA_DEMO=true\n");
    assert!(
        Config::load_from(argv(&[]), &HashMap::new(), dir.path())
            .unwrap()
            .demo
    );
    let e = load_err(&[], &[("GPT2GIGA_DEMO", "maybe")]);
    assert!(e.contains("GPT2GIGA_DEMO") && e.contains("maybe"), "{e}");
}

// -------------------------------------------------------------- precedence

#[test]
fn precedence_cli_over_env_over_dotenv_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env",
        "GPT2GIGA_PORT=1\nGPT2GIGA_HOST=dotenv-host\nGPT2GIGA_EMBEDDINGS=dotenv-emb\n\
         GIGACHAT_MODEL=dotenv-model\n",
    );
    let env = envmap(&[
        ("GPT2GIGA_PORT", "2"),
        ("GPT2GIGA_HOST", "env-host"),
        ("GIGACHAT_MODEL", "env-model"),
    ]);
    let c = Config::load_from(
        argv(&["--proxy.port", "3", "--gigachat.model", "cli-model"]),
        &env,
        dir.path(),
    )
    .unwrap();
    assert_eq!(c.proxy.port, 3); // CLI
    assert_eq!(c.gigachat.model(), "cli-model"); // CLI
    assert_eq!(c.proxy.host, "env-host"); // env over .env
    assert_eq!(c.proxy.embeddings, "dotenv-emb"); // .env over default
    assert_eq!(c.gigachat.scope, "GIGACHAT_API_PERS"); // default
}

#[test]
fn overridden_invalid_values_are_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GPT2GIGA_PORT=not-a-port\n");
    let c = Config::load_from(
        argv(&[]),
        &envmap(&[("GPT2GIGA_PORT", "5"), ("GIGACHAT_TIMEOUT", "bad")]),
        dir.path(),
    );
    // The env timeout is invalid and wins, so it fails...
    assert!(c.unwrap_err().to_string().contains("GIGACHAT_TIMEOUT"));
    // ...but an invalid value hidden by a higher source is fine.
    let c = Config::load_from(
        argv(&["--gigachat.timeout", "3"]),
        &envmap(&[("GPT2GIGA_PORT", "5"), ("GIGACHAT_TIMEOUT", "bad")]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(c.proxy.port, 5);
    assert_eq!(c.gigachat.timeout, 3.0);
}

#[test]
fn group_json_sits_between_dotted_flags_and_env() {
    let env = [("GPT2GIGA_PORT", "1"), ("GPT2GIGA_HOST", "env-host")];
    let json = r#"{"port": 2, "host": "json-host", "pass_model": true}"#;
    for args in [
        vec!["--proxy", json, "--proxy.port", "3"],
        vec!["--proxy.port", "3", "--proxy", json],
        vec!["--proxy.port=3", &format!("--proxy={json}")],
    ] {
        let c = load_ok(&args, &env);
        assert_eq!(c.proxy.port, 3, "{args:?}"); // dotted beats group JSON
        assert_eq!(c.proxy.host, "json-host", "{args:?}"); // JSON beats env
        assert!(c.proxy.pass_model, "{args:?}");
    }
    let c = load_ok(
        &["--gigachat", r#"{"model": "a"}"#],
        &[("GIGACHAT_MODEL", "b")],
    );
    assert_eq!(c.gigachat.model(), "a");
}

#[test]
fn last_group_json_wins_like_pydantic() {
    let c = load_ok(
        &["--proxy", r#"{"port": 7}"#, "--proxy", r#"{"host": "h"}"#],
        &[],
    );
    assert_eq!(c.proxy.port, 8090);
    assert_eq!(c.proxy.host, "h");
}

#[test]
fn group_json_keys_are_case_insensitive() {
    let c = load_ok(&["--proxy", r#"{"PORT": "7", "Use_Https": false}"#], &[]);
    assert_eq!(c.proxy.port, 7);
    let c = load_ok(&["--gigachat", r#"{"base-url": "http://x:1/v1"}"#], &[]);
    assert_eq!(c.gigachat.base_url, "http://x:1/v1");
}

#[test]
fn repeated_flags() {
    let c = load_ok(&["--proxy.port", "1", "--proxy.port", "2"], &[]);
    assert_eq!(c.proxy.port, 2);
    let c = load_ok(
        &[
            "--proxy.cors-allow-origins",
            "a",
            "--proxy.cors-allow-origins",
            r#"["b","c"]"#,
            "--gigachat.retry-on-status-codes=429",
            "--gigachat.retry-on-status-codes=503",
        ],
        &[],
    );
    assert_eq!(c.proxy.cors_allow_origins, ["a", "b", "c"]);
    assert_eq!(c.gigachat.retry_on_status_codes, [429, 503]);
}

#[test]
fn null_and_empty_reset_optional_fields() {
    let c = load_ok(
        &["--gigachat.model", "null", "--proxy.https-key-file", "null"],
        &[("GIGACHAT_MODEL", "x"), ("GPT2GIGA_HTTPS_KEY_FILE", "/k")],
    );
    assert_eq!(c.gigachat.model, None);
    assert_eq!(c.proxy.https_key_file, None);
    let c = load_ok(
        &[],
        &[
            ("GIGACHAT_CREDENTIALS", ""),
            ("GIGACHAT_PROFANITY_CHECK", ""),
            ("GIGACHAT_MAX_CONNECTIONS", " "),
        ],
    );
    assert_eq!(c.gigachat.credentials, None);
    assert_eq!(c.gigachat.profanity_check, None);
    assert_eq!(c.gigachat.max_connections, None);
    // A required field cannot be null.
    let e = load_err(&["--proxy", r#"{"port": null}"#], &[]);
    assert!(e.contains(r#""port" in --proxy"#), "{e}");
}

// --------------------------------------------------------------- .env file

#[test]
fn env_path_selects_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GPT2GIGA_PORT=1\n");
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let custom = write(&dir.path().join("conf"), "my.env", "GPT2GIGA_HOST=custom\n");

    // Relative to cwd; the default ./.env is then not read.
    let c = Config::load_from(
        argv(&["--env-path", "conf/my.env"]),
        &HashMap::new(),
        dir.path(),
    )
    .unwrap();
    assert_eq!(c.proxy.host, "custom");
    assert_eq!(c.proxy.port, 8090);
    assert_eq!(c.env_path, Some(dir.path().join("conf/my.env")));

    // Absolute, with `=`.
    let arg = format!("--env-path={}", custom.display());
    let other = tempfile::tempdir().unwrap();
    let c = Config::load_from(argv(&[&arg]), &HashMap::new(), other.path()).unwrap();
    assert_eq!(c.proxy.host, "custom");
    assert_eq!(c.env_path, Some(custom.clone()));

    // Default ./.env.
    let c = Config::load_from(argv(&[]), &HashMap::new(), dir.path()).unwrap();
    assert_eq!(c.proxy.port, 1);
    assert_eq!(c.env_path, Some(dir.path().join(".env")));
}

#[test]
fn missing_env_files() {
    let dir = tempfile::tempdir().unwrap();
    // A missing default .env is fine.
    let c = Config::load_from(argv(&[]), &HashMap::new(), dir.path()).unwrap();
    assert_eq!(c.env_path, None);
    // A missing explicit file is an error naming it.
    let e = Config::load_from(
        argv(&["--env-path", "nope.env"]),
        &HashMap::new(),
        dir.path(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::EnvFileNotFound { .. }));
    assert!(e.to_string().contains("nope.env"), "{e}");
}

#[test]
fn dotenv_names_are_case_insensitive_and_never_override_env() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env",
        "gpt2giga_port=1\nGigaChat_Model=m\nGPT2GIGA_HOST=file-host\n",
    );
    let c = Config::load_from(
        argv(&[]),
        &envmap(&[("gpt2giga_host", "env-host")]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(c.proxy.port, 1);
    assert_eq!(c.gigachat.model(), "m");
    assert_eq!(c.proxy.host, "env-host");
}

#[test]
fn unreadable_dotenv_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GPT2GIGA_PORT='unterminated\n");
    let e = Config::load_from(argv(&[]), &HashMap::new(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains(".env"), "{e}");
}

// ---------------------------------------------------------------- booleans

#[test]
fn boolean_spellings() {
    let truthy = [
        "true", "True", "TRUE", "1", "yes", "Yes", "on", "ON", "t", "y",
    ];
    let falsy = [
        "false", "False", "FALSE", "0", "no", "NO", "off", "Off", "f", "n",
    ];
    for (spellings, want) in [(truthy, true), (falsy, false)] {
        for s in spellings {
            let c = load_ok(&["--proxy.pass-model", s], &[]);
            assert_eq!(c.proxy.pass_model, want, "--proxy.pass-model {s}");
            let c = load_ok(&[&format!("--gigachat.verify-ssl-certs={s}")], &[]);
            assert_eq!(c.gigachat.verify_ssl_certs, want, "={s}");
            let c = load_ok(&[], &[("GPT2GIGA_ENABLE_IMAGES", s)]);
            assert_eq!(c.proxy.enable_images, want, "env {s}");
        }
    }
}

#[test]
fn bare_boolean_flags_mean_true() {
    let c = load_ok(
        &[
            "--proxy.pass-model",
            "--proxy.pass-token",
            "--gigachat.profanity-check",
            "--proxy.port",
            "1",
            "--proxy.enable-reasoning",
        ],
        &[],
    );
    assert!(c.proxy.pass_model && c.proxy.pass_token && c.proxy.enable_reasoning);
    assert_eq!(c.gigachat.profanity_check, Some(true));
    assert_eq!(c.proxy.port, 1);
    let c = load_ok(
        &[
            "--proxy.use-https",
            "--proxy.https-key-file",
            "k",
            "--proxy.https-cert-file",
            "c",
        ],
        &[],
    );
    assert!(c.proxy.use_https);
}

// -------------------------------------------------------------- validation

#[test]
fn invalid_values_name_the_source_and_value() {
    assert_eq!(
        load_err(&[], &[("GPT2GIGA_PORT", "abc")]),
        r#"invalid value "abc" for GPT2GIGA_PORT: expected a port number (0-65535)"#
    );
    assert_eq!(
        load_err(&["--proxy.port", "abc"], &[]),
        r#"invalid value "abc" for --proxy.port: expected a port number (0-65535)"#
    );
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (&["--proxy.port=70000"], &[], &["--proxy.port", "70000"]),
        (&[], &[("gpt2giga_port", "-1")], &["gpt2giga_port", "-1"]),
        (
            &["--proxy", r#"{"port": "x"}"#],
            &[],
            &[r#""port" in --proxy"#, "\"x\""],
        ),
        (&["--proxy", "{bad"], &[], &["invalid JSON in --proxy"]),
        (&["--gigachat", "[]"], &[], &["invalid JSON in --gigachat"]),
        (
            &["--proxy", r#"{"bogus": 1}"#],
            &[],
            &["unknown field \"bogus\" in --proxy"],
        ),
        (
            &["--proxy.mode", "staging"],
            &[],
            &["--proxy.mode", "staging", "DEV or PROD"],
        ),
        (
            &[],
            &[("GPT2GIGA_MODE", "test")],
            &["GPT2GIGA_MODE", "test"],
        ),
        (
            &["--proxy.log-level", "verbose"],
            &[],
            &["--proxy.log-level", "verbose", "DEBUG"],
        ),
        (
            &[],
            &[("GPT2GIGA_LOG_FORMAT", "xml")],
            &["GPT2GIGA_LOG_FORMAT", "xml"],
        ),
        (
            &["--gigachat.base-url", "ftp://x/y"],
            &[],
            &["--gigachat.base-url", "ftp://x/y", "http"],
        ),
        (
            &[],
            &[("GIGACHAT_AUTH_URL", "nope")],
            &["GIGACHAT_AUTH_URL", "nope"],
        ),
        (
            &["--gigachat.timeout", "-1"],
            &[],
            &["--gigachat.timeout", "-1", "positive"],
        ),
        (
            &[],
            &[("GIGACHAT_TIMEOUT", "-5")],
            &["GIGACHAT_TIMEOUT", "-5"],
        ),
        (
            &[],
            &[("GIGACHAT_RETRY_BACKOFF_FACTOR", "-1")],
            &["GIGACHAT_RETRY_BACKOFF_FACTOR"],
        ),
        (
            &[],
            &[("GIGACHAT_MAX_RETRIES", "x")],
            &["GIGACHAT_MAX_RETRIES", "\"x\""],
        ),
        (
            &["--gigachat.max-connections", "0"],
            &[],
            &["--gigachat.max-connections", "0"],
        ),
        (
            &["--gigachat.retry-on-status-codes", "abc"],
            &[],
            &["--gigachat.retry-on-status-codes", "abc"],
        ),
        (
            &[],
            &[("GIGACHAT_RETRY_ON_STATUS_CODES", "[429, 999]")],
            &["GIGACHAT_RETRY_ON_STATUS_CODES"],
        ),
        (
            &["--proxy.otlp-protocol", "http/json"],
            &[],
            &[
                "--proxy.otlp-protocol",
                "http/json",
                "expected http/protobuf or grpc",
            ],
        ),
        (
            &[],
            &[
                ("GPT2GIGA_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"),
            ],
            &[
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "\"udp\"",
                "expected http/protobuf or grpc",
            ],
        ),
        (
            &["--proxy.pass-model", "maybe"],
            &[],
            &["--proxy.pass-model", "maybe", "boolean"],
        ),
        (
            &[],
            &[("GIGACHAT_VERIFY_SSL_CERTS", "sure")],
            &["GIGACHAT_VERIFY_SSL_CERTS", "sure"],
        ),
        (
            &[],
            &[("GPT2GIGA_MAX_REQUEST_BODY_BYTES", "10MB")],
            &["GPT2GIGA_MAX_REQUEST_BODY_BYTES", "10MB"],
        ),
        (
            &[],
            &[("GPT2GIGA_CORS_ALLOW_ORIGINS", "[\"a\"")],
            &["GPT2GIGA_CORS_ALLOW_ORIGINS"],
        ),
        (&["--proxy.bogus", "1"], &[], &["--proxy.bogus"]),
        (&["--gigachat.modle", "x"], &[], &["--gigachat.modle"]),
    ];
    for (args, env, needles) in cases {
        let e = load_err(args, env);
        for n in *needles {
            assert!(e.contains(n), "{args:?} {env:?}: {e:?} lacks {n:?}");
        }
    }
}

#[test]
fn dotenv_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GPT2GIGA_PORT=abc\n");
    let e = Config::load_from(argv(&[]), &HashMap::new(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("GPT2GIGA_PORT (from "), "{e}");
    assert!(e.contains(".env)"), "{e}");
    assert!(e.contains("\"abc\""), "{e}");
}

#[test]
fn use_https_needs_key_and_cert() {
    for (args, env) in [
        (vec!["--proxy.use-https"], vec![]),
        (vec![], vec![("GPT2GIGA_USE_HTTPS", "true")]),
        (
            vec!["--proxy.use-https", "true", "--proxy.https-key-file", "k"],
            vec![],
        ),
    ] {
        let e = load_err(&args, &env);
        assert!(
            e.contains("--proxy.https-key-file") && e.contains("--proxy.https-cert-file"),
            "{e}"
        );
    }
}

#[test]
fn invalid_secret_values_are_not_echoed() {
    let e = load_err(&["--proxy", r#"{"api_key": 123456789}"#], &[]);
    assert!(!e.contains("123456789"), "{e}");
    assert!(e.contains(r#""api_key" in --proxy"#), "{e}");
}

#[test]
fn help_and_version() {
    let e = load(&["--help"], &[]).unwrap_err();
    assert!(e.is_help_or_version());
    // Collapse the wrapping so that "[env: X]" is searchable.
    let help = e
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for heading in [
        "General:",
        "Proxy:",
        "HTTPS:",
        "Security:",
        "Limits:",
        "Logging:",
        "GigaChat:",
        "GigaChat authentication:",
        "GigaChat TLS:",
        "GigaChat connection:",
    ] {
        assert!(help.contains(heading), "{heading}\n{help}");
    }
    for f in FIELDS {
        assert!(help.contains(&f.flag()), "{}", f.flag());
        assert!(
            help.contains(&format!("[env: {}]", f.env_var())),
            "{}",
            f.env_var()
        );
    }
    for s in [
        "--proxy [<JSON>]",
        "--gigachat [<JSON>]",
        "--env-path <PATH>",
        "--demo [<BOOL>]",
        "--proxy.use-https [<BOOL>]",
        "[env: GPT2GIGA_DEMO]",
    ] {
        assert!(help.contains(s), "{s}\n{help}");
    }
    assert!(help.contains("[default: 8090]"));
    assert!(help.contains("[default: EmbeddingsGigaR]"));
    assert!(load(&["-h"], &[]).unwrap_err().is_help_or_version());

    let e = load(&["--version"], &[]).unwrap_err();
    assert!(e.is_help_or_version());
    assert!(e.to_string().contains(env!("CARGO_PKG_VERSION")));
    assert!(!load(&["--nope"], &[]).unwrap_err().is_help_or_version());
}

// ---------------------------------------------------------------- warnings

#[test]
fn secrets_on_the_command_line_warn() {
    let secret_flags = [
        ("--proxy.api-key", "GPT2GIGA_API_KEY"),
        ("--proxy.api-keys", "GPT2GIGA_API_KEYS"),
        ("--gigachat.credentials", "GIGACHAT_CREDENTIALS"),
        ("--gigachat.password", "GIGACHAT_PASSWORD"),
        ("--gigachat.access-token", "GIGACHAT_ACCESS_TOKEN"),
        ("--gigachat.key-file-password", "GIGACHAT_KEY_FILE_PASSWORD"),
    ];
    assert_eq!(
        FIELDS.iter().filter(|f| f.secret).count(),
        secret_flags.len()
    );
    for (flag, var) in secret_flags {
        for args in [
            vec![flag, "S3CR3T-VALUE"],
            vec![&*format!("{flag}=S3CR3T-VALUE")],
        ] {
            let c = load_ok(&args, &[]);
            assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
            let w = &c.warnings[0];
            assert!(w.contains(flag) && w.contains(var), "{w}");
            assert!(!w.contains("S3CR3T-VALUE"), "{w}");
        }
        // The same secret from the environment does not warn.
        let c = load_ok(&[], &[(var, "S3CR3T-VALUE")]);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }
    let c = load_ok(
        &[
            "--proxy",
            r#"{"api_key": "S3CR3T-VALUE"}"#,
            "--gigachat",
            r#"{"credentials": "S3CR3T-VALUE", "password": "S3CR3T-VALUE"}"#,
        ],
        &[],
    );
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings.iter().all(|w| !w.contains("S3CR3T-VALUE")));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains(r#""api_key" in --proxy"#))
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains(r#""credentials" in --gigachat"#))
    );
}

#[test]
fn prod_mode_warnings_match_python() {
    let c = load_ok(&["--proxy.mode", "PROD"], &[]);
    assert!(
        c.warnings.iter().any(|w| w.contains("wildcard CORS")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("without API-key auth"))
    );
    let c = load_ok(
        &[],
        &[
            ("GPT2GIGA_MODE", "prod"),
            ("GPT2GIGA_CORS_ALLOW_ORIGINS", r#"["https://app.example"]"#),
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "k"),
        ],
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.proxy.auth_required());
    let c = load_ok(
        &[],
        &[
            ("GPT2GIGA_MODE", "PROD"),
            ("GPT2GIGA_CORS_ALLOW_ORIGINS", "https://app.example"),
            ("GPT2GIGA_API_KEY", "k"),
            ("GPT2GIGA_LOG_LEVEL", "DEBUG"),
            ("GPT2GIGA_LOG_REDACT_SENSITIVE", "false"),
        ],
    );
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
}

#[test]
fn unknown_gpt2giga_variables_warn() {
    let c = load_ok(
        &[],
        &[
            ("GPT2GIGA_PROT", "1"),
            ("GIGACHAT_SSL_CONTEXT", "x"),
            ("OTHER", "y"),
        ],
    );
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("GPT2GIGA_PROT"));
}

// ----------------------------------------------------------------- summary

#[test]
fn summary_masks_every_secret() {
    let secrets = [
        ("GPT2GIGA_API_KEY", "secret-api-key-1"),
        ("GIGACHAT_CREDENTIALS", "secret-credentials-2"),
        ("GIGACHAT_PASSWORD", "secret-password-3"),
        ("GIGACHAT_ACCESS_TOKEN", "secret-token-4"),
        ("GIGACHAT_KEY_FILE_PASSWORD", "secret-kfp-5"),
        ("GPT2GIGA_API_KEYS", "secret-api-keys-6"),
    ];
    let mut env = secrets.to_vec();
    env.push(("GIGACHAT_USER", "alice"));
    let c = load_ok(&[], &env);
    let summary = c.summary();
    let debug = format!("{c:?}");
    for (_, s) in secrets {
        assert!(!summary.contains(s), "{summary}");
        assert!(!debug.contains(s), "{debug}");
    }
    for field in [
        "api_key=***",
        "api_keys=1 x ***",
        "credentials=***",
        "password=***",
        "access_token=***",
        "key_file_password=***",
        "user=alice",
    ] {
        assert!(summary.contains(field), "{field}\n{summary}");
    }
    assert!(
        summary.contains("access token, refreshed via credentials+scope"),
        "{summary}"
    );

    let summary = load_ok(&[], &[]).summary();
    for field in [
        "api_key=-",
        "credentials=-",
        "password=-",
        "access_token=-",
        "key_file_password=-",
    ] {
        assert!(summary.contains(field), "{field}\n{summary}");
    }
    assert!(summary.lines().count() <= 24, "{summary}");
}

#[test]
fn summary_names_the_auth_mode() {
    let auth = |env: &[(&str, &str)]| load_ok(&[], env).gigachat.auth_mode();
    assert_eq!(auth(&[]), AuthMode::None);
    assert_eq!(
        auth(&[
            ("GIGACHAT_CREDENTIALS", "c"),
            ("GIGACHAT_USER", "u"),
            ("GIGACHAT_PASSWORD", "p")
        ]),
        AuthMode::Credentials
    );
    assert_eq!(
        auth(&[("GIGACHAT_USER", "u"), ("GIGACHAT_PASSWORD", "p")]),
        AuthMode::UserPassword
    );
    assert_eq!(
        auth(&[("GIGACHAT_ACCESS_TOKEN", "t")]),
        AuthMode::AccessToken
    );
    assert_eq!(
        auth(&[("GIGACHAT_CERT_FILE", "c"), ("GIGACHAT_KEY_FILE", "k")]),
        AuthMode::Mtls
    );
    let s = load_ok(&[], &[("GIGACHAT_CREDENTIALS", "c")]).summary();
    assert!(s.contains("credentials+scope"), "{s}");
    let s = load_ok(&[], &[("GIGACHAT_USER", "u"), ("GIGACHAT_PASSWORD", "p")]).summary();
    assert!(s.contains("user+password"), "{s}");
    let s = load_ok(
        &[],
        &[("GIGACHAT_CERT_FILE", "c"), ("GIGACHAT_KEY_FILE", "k")],
    )
    .summary();
    assert!(s.contains("mTLS"), "{s}");
    let s = load_ok(&[], &[]).summary();
    assert!(s.contains("Auth:       mode=none"), "{s}");
}

// ----------------------------------------------------------- client config

#[test]
fn to_client_config_maps_every_field() {
    let c = load_ok(
        &[],
        &[
            ("GIGACHAT_BASE_URL", "http://127.0.0.1:1/api/v1"),
            ("GIGACHAT_AUTH_URL", "http://127.0.0.1:2/api/v2/oauth"),
            ("GIGACHAT_CREDENTIALS", "cred"),
            ("GIGACHAT_SCOPE", "GIGACHAT_API_B2B"),
            ("GIGACHAT_USER", "u"),
            ("GIGACHAT_PASSWORD", "p"),
            ("GIGACHAT_ACCESS_TOKEN", "t"),
            ("GIGACHAT_TIMEOUT", "2.5"),
            ("GIGACHAT_VERIFY_SSL_CERTS", "false"),
            ("GIGACHAT_CA_BUNDLE_FILE", "/ca"),
            ("GIGACHAT_CERT_FILE", "/cert"),
            ("GIGACHAT_KEY_FILE", "/key"),
            ("GIGACHAT_KEY_FILE_PASSWORD", "kp"),
            ("GIGACHAT_MAX_CONNECTIONS", "4"),
            ("GIGACHAT_MAX_RETRIES", "2"),
            ("GIGACHAT_RETRY_BACKOFF_FACTOR", "0.1"),
            ("GIGACHAT_RETRY_ON_STATUS_CODES", "[503]"),
            ("GIGACHAT_TOKEN_EXPIRY_BUFFER_MS", "5"),
        ],
    );
    let cc = c.gigachat.to_client_config();
    assert_eq!(cc.base_url, "http://127.0.0.1:1/api/v1");
    assert_eq!(cc.auth_url, "http://127.0.0.1:2/api/v2/oauth");
    assert_eq!(cc.credentials, Some(Secret::new("cred")));
    assert_eq!(cc.scope, "GIGACHAT_API_B2B");
    assert_eq!(cc.user.as_deref(), Some("u"));
    assert_eq!(cc.password, Some(Secret::new("p")));
    assert_eq!(cc.access_token, Some(Secret::new("t")));
    assert_eq!(cc.timeout, std::time::Duration::from_millis(2500));
    assert!(!cc.verify_ssl_certs);
    assert_eq!(cc.ca_bundle_file, Some(PathBuf::from("/ca")));
    assert_eq!(cc.cert_file, Some(PathBuf::from("/cert")));
    assert_eq!(cc.key_file, Some(PathBuf::from("/key")));
    assert_eq!(cc.key_file_password, Some(Secret::new("kp")));
    assert_eq!(cc.max_connections, Some(4));
    assert_eq!(cc.max_retries, 2);
    assert_eq!(cc.retry_backoff_factor, 0.1);
    assert_eq!(cc.retry_on_status_codes, [503]);
    assert_eq!(cc.token_expiry_buffer_ms, 5);
    assert_eq!(cc.user_agent, gigachat::ClientConfig::default().user_agent);

    // Defaults map to ClientConfig's defaults.
    assert_eq!(
        load_ok(&[], &[]).gigachat.to_client_config(),
        gigachat::ClientConfig::default()
    );
}

// ---------------------------------------------------------------- model aliases

#[test]
fn model_aliases_come_inline_from_group_json_or_from_a_file() {
    let c = load_ok(
        &[
            "--proxy",
            r#"{"model_aliases": {"gpt-4o": "GigaChat-2-Pro", "claude-*": {"model": "GigaChat-2"}}}"#,
        ],
        &[],
    );
    let a = &c.proxy.model_aliases;
    let served = |n: &str| {
        a.resolve(n)
            .and_then(|a| a.settings.served_by().map(String::from))
    };
    assert_eq!(served("gpt-4o").as_deref(), Some("GigaChat-2-Pro"));
    assert_eq!(served("claude-3").as_deref(), Some("GigaChat-2"));

    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "aliases.yml",
        "gemini-*:\n  model: GigaChat-2-Max\n  max_tokens: 100\n",
    );
    let c = load_ok(&[], &[("GPT2GIGA_MODEL_ALIASES", file.to_str().unwrap())]);
    let alias = c.proxy.model_aliases.resolve("gemini-2.5-pro").unwrap();
    assert_eq!(alias.settings.max_tokens, Some(100));
    assert!(
        c.summary()
            .contains("Aliases:    1 [gemini-* -> GigaChat-2-Max max_tokens=100]"),
        "{}",
        c.summary()
    );
    assert!(load_ok(&[], &[]).summary().contains("Aliases:    -"));
}

#[test]
fn bad_model_aliases_are_refused_naming_the_setting_and_the_mistake() {
    let e = load_err(
        &[
            "--proxy.model-aliases",
            r#"{"claude-*": {"model": "M", "api_mode": "v3"}}"#,
        ],
        &[],
    );
    assert!(e.contains("--proxy.model-aliases"), "{e}");
    assert!(
        e.contains("alias \"claude-*\": \"api_mode\": expected v1 or v2, got \"v3\""),
        "{e}"
    );
    let e = load_err(
        &[],
        &[(
            "GPT2GIGA_MODEL_ALIASES",
            r#"{"a": {"model": "M", "min_temperature": 1, "max_temperature": 0}}"#,
        )],
    );
    assert!(e.contains("GPT2GIGA_MODEL_ALIASES"), "{e}");
    assert!(
        e.contains("the minimum temperature 1 is above the maximum 0"),
        "{e}"
    );
    let e = load_err(&[], &[("GPT2GIGA_MODEL_ALIASES", "{\"a\": ")]);
    assert!(e.contains("invalid JSON") && e.contains("line 1"), "{e}");
    let e = load_err(&[], &[("GPT2GIGA_MODEL_ALIASES", "/no/such/aliases.yaml")]);
    assert!(
        e.contains("cannot read the alias file /no/such/aliases.yaml"),
        "{e}"
    );
}
