//! Security features through real HTTP: API-key rotation, per-request GigaChat
//! identities (`--proxy.pass-token`) and their coexistence with the proxy key, PROD
//! mode, HTTPS, the per-model concurrency cap, and hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{TestProxy, bodies, config_for, http, json_of, text_of};
use gigachat_mock::{MockConfig, MockServer, Reply};
use gpt2giga::app::AppState;
use gpt2giga::server;
use serde_json::{Value, json};

fn openai_body() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

fn anthropic_body() -> Value {
    json!({"model": "claude-x", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]})
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// POSTs `body` to `path` with extra headers; the future borrows nothing.
fn post_with(
    p: &TestProxy,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> impl std::future::Future<Output = reqwest::Response> + 'static {
    let mut rb = http().post(p.at(path)).json(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    async move { rb.send().await.unwrap() }
}

/// The `Authorization` headers of the chat requests GigaChat received, oldest first.
fn chat_auth(p: &TestProxy) -> Vec<String> {
    p.ctl()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect()
}

// ------------------------------------------------------------------ API keys

#[tokio::test]
async fn several_api_keys_for_rotation() {
    let p = TestProxy::start_with(
        &[],
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "k-old"),
            ("GPT2GIGA_API_KEYS", "k-new, ,k-next"),
        ],
    )
    .await;
    for key in ["k-old", "k-new", "k-next"] {
        let r = post_with(
            &p,
            "/v1/chat/completions",
            &[("x-api-key", key)],
            &openai_body(),
        )
        .await;
        assert_eq!(r.status(), 200, "{key} as x-api-key");
        let r = post_with(
            &p,
            "/v1/chat/completions",
            &[("authorization", &format!("Bearer {key}"))],
            &openai_body(),
        )
        .await;
        assert_eq!(r.status(), 200, "{key} as bearer");
        let r = post_with(
            &p,
            &format!("/v1/messages?x-api-key={key}"),
            &[],
            &anthropic_body(),
        )
        .await;
        assert_eq!(r.status(), 200, "{key} as query");
    }
    for wrong in ["k-older", "", "k-new,k-next", " "] {
        let r = post_with(
            &p,
            "/v1/chat/completions",
            &[("x-api-key", wrong)],
            &openai_body(),
        )
        .await;
        assert_eq!(r.status(), 401, "{wrong:?}");
    }
}

#[tokio::test]
async fn prod_accepts_a_key_list_alone() {
    let p = TestProxy::start_with(
        &["--proxy.mode", "PROD"],
        &[("GPT2GIGA_API_KEYS", r#"["p1","p2"]"#)],
    )
    .await;
    assert_eq!(
        post_with(&p, "/v1/chat/completions", &[], &openai_body())
            .await
            .status(),
        401
    );
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("x-api-key", "p2")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn prod_refuses_to_start_without_any_key() {
    let mock = MockServer::start().await.unwrap();
    for env in [
        &[][..],
        &[("GPT2GIGA_API_KEY", "")],
        &[("GPT2GIGA_API_KEYS", " , ")],
    ] {
        let config = config_for(
            &mock.base_url(),
            &mock.auth_url(),
            &["--proxy.mode", "prod"],
            env,
        );
        let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
        let err = match AppState::new(config, client) {
            Ok(_) => panic!("PROD without an API key must not start ({env:?})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("GPT2GIGA_API_KEY"), "{err}");
    }
}

// ------------------------------------------------------------------ PROD CORS

async fn preflight(p: &TestProxy, origin: &str) -> reqwest::header::HeaderMap {
    let r = http()
        .request(reqwest::Method::OPTIONS, p.at("/v1/chat/completions"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-api-key")
        .send()
        .await
        .unwrap();
    r.headers().clone()
}

#[tokio::test]
async fn prod_tightens_cors() {
    // DEV with the default `*`: the origin is mirrored, with credentials.
    let dev = TestProxy::start().await;
    let h = preflight(&dev, "https://evil.example").await;
    assert_eq!(h["access-control-allow-origin"], "https://evil.example");
    assert_eq!(h["access-control-allow-credentials"], "true");

    // PROD with the same default: no wildcard, no credentials, so no origin is allowed.
    let prod = TestProxy::start_with(&["--proxy.mode", "PROD"], &[("GPT2GIGA_API_KEY", "k")]).await;
    let h = preflight(&prod, "https://evil.example").await;
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
    assert!(h.get("access-control-allow-credentials").is_none(), "{h:?}");

    // PROD with a configured origin: that one only, still without credentials, and the
    // default header list (which names x-api-key).
    let prod = TestProxy::start_with(
        &["--proxy.mode", "PROD"],
        &[
            ("GPT2GIGA_API_KEY", "k"),
            ("GPT2GIGA_CORS_ALLOW_ORIGINS", "https://app.example"),
        ],
    )
    .await;
    let h = preflight(&prod, "https://app.example").await;
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert!(h.get("access-control-allow-credentials").is_none(), "{h:?}");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-api-key"), "{allowed}");
    let h = preflight(&prod, "https://evil.example").await;
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
}

// ------------------------------------------------------------------ pass-token

const PASS: &[&str] = &["--proxy.pass-token", "true"];

#[tokio::test]
async fn pass_token_uses_the_callers_identity_with_its_own_token_cache() {
    let p = TestProxy::start_with(PASS, &[]).await;
    p.ctl()
        .push_replies((0..4).map(|i| Reply::text(format!("r{i}"))));
    let key = b64("caller:secret");

    for _ in 0..2 {
        let r = post_with(
            &p,
            "/v1/chat/completions",
            &[(
                "authorization",
                &format!("Bearer giga-cred-{key}:GIGACHAT_API_CORP"),
            )],
            &openai_body(),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    // One token for the caller (cached across its requests), asked for with its key and
    // scope.
    let oauth: Vec<_> = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/oauth"))
        .collect();
    assert_eq!(oauth.len(), 1);
    assert_eq!(
        oauth[0].header("authorization"),
        Some(&*format!("Basic {key}"))
    );
    assert_eq!(&oauth[0].body[..], b"scope=GIGACHAT_API_CORP");

    // No Authorization: the proxy's own account (a second, different token).
    assert_eq!(
        post_with(&p, "/v1/chat/completions", &[], &openai_body())
            .await
            .status(),
        200
    );
    assert_eq!(p.ctl().oauth_token_count(), 2);
    let auth = chat_auth(&p);
    assert_eq!(auth.len(), 3);
    assert_eq!(auth[0], auth[1]);
    assert_ne!(auth[0], auth[2]);

    // A pre-issued token goes to GigaChat as is, without a token request.
    let token = p.ctl().issue_static_token();
    let r = post_with(
        &p,
        "/v1/messages",
        &[("authorization", &format!("Bearer giga-auth-{token}"))],
        &anthropic_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(chat_auth(&p)[3], format!("Bearer {token}"));
    assert_eq!(p.ctl().oauth_token_count(), 2);
}

#[tokio::test]
async fn remembered_token_counts_belong_to_the_identity_that_got_them() {
    let p = TestProxy::start_with(PASS, &[]).await;
    let body = json!({"model": "claude-x", "messages": [{"role": "user", "content": "Hello"}]});
    let alice = format!("Bearer giga-cred-{}:GIGACHAT_API_CORP", b64("alice:secret"));
    let bob = format!("Bearer giga-cred-{}:GIGACHAT_API_CORP", b64("bob:secret"));
    let counts = |p: &TestProxy| bodies(p.ctl(), "/tokens/count").len();
    for (who, calls) in [
        (Some(&alice), 1),
        // Alice again: her count is remembered.
        (Some(&alice), 1),
        // Bob and the proxy's own identity each ask GigaChat themselves.
        (Some(&bob), 2),
        (None, 3),
        (Some(&bob), 3),
    ] {
        let headers: Vec<(&str, &str)> = who
            .map(|w| ("authorization", w.as_str()))
            .into_iter()
            .collect();
        let r = post_with(&p, "/v1/messages/count_tokens", &headers, &body).await;
        assert_eq!(r.status(), 200);
        assert_eq!(counts(&p), calls, "after {who:?}");
    }
    // A refused identity is refused even for a text others have counted.
    let mallory = format!("Bearer giga-auth-{}", "not-a-token");
    let r = post_with(
        &p,
        "/v1/messages/count_tokens",
        &[("authorization", &mallory)],
        &body,
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn pass_token_user_password_and_every_endpoint() {
    let mock = MockServer::start_with(MockConfig {
        user: Some("alice".into()),
        password: Some("pa:ss".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let p = TestProxy::start_on(mock, PASS, &[]).await;
    let who = [("authorization", "Bearer giga-user-alice:pa:ss")];
    assert_eq!(
        post_with(&p, "/v1/chat/completions", &who, &openai_body())
            .await
            .status(),
        200
    );
    assert_eq!(
        post_with(
            &p,
            "/v1/responses",
            &who,
            &json!({"model": "gpt-4o", "input": "hi"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        post_with(
            &p,
            "/v1/embeddings",
            &who,
            &json!({"model": "e", "input": ["a", "b"]})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        post_with(&p, "/v1/messages/count_tokens", &who, &anthropic_body())
            .await
            .status(),
        200
    );
    let r = http()
        .get(p.at("/v1/models"))
        .header("authorization", "Bearer giga-user-alice:pa:ss")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Everything ran under alice's one token; the proxy's own credentials never did.
    assert_eq!(p.ctl().password_token_count(), 1);
    assert_eq!(p.ctl().oauth_token_count(), 0);
    let tokens: std::collections::BTreeSet<String> = p
        .ctl()
        .requests()
        .iter()
        .filter(|r| !r.path.ends_with("/token"))
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
}

#[tokio::test]
async fn malformed_or_rejected_identities_are_401_never_a_fallback() {
    let mock = MockServer::start_with(MockConfig {
        // Only the proxy's own key is known to GigaChat.
        credentials: Some(common::credentials()),
        user: Some("alice".into()),
        password: Some("right".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let p = TestProxy::start_on(mock, PASS, &[]).await;
    let other_key = b64("someone:else");
    let cases: Vec<(String, &str)> = vec![
        ("Bearer giga-cred-".into(), "malformed"),
        ("Bearer giga-cred-KEY:not a scope".into(), "malformed"),
        ("Bearer giga-user-alice".into(), "malformed"),
        ("Bearer giga-whatever-1".into(), "malformed"),
        ("Bearer sk-not-a-giga-value".into(), "pass-token"),
        ("Basic dXNlcjpwdw==".into(), "pass-token"),
        // GigaChat says no.
        (format!("Bearer giga-cred-{other_key}"), "rejected"),
        ("Bearer giga-user-alice:wrong".into(), "rejected"),
        ("Bearer giga-auth-unknown-token".into(), "rejected"),
    ];
    for (auth, why) in &cases {
        for (path, body) in [
            ("/v1/chat/completions", openai_body()),
            ("/v1/messages", anthropic_body()),
        ] {
            let r = post_with(&p, path, &[("authorization", auth)], &body).await;
            let (status, _, v) = json_of(r).await;
            assert_eq!(status, 401, "{auth} at {path}: {v}");
            assert_eq!(v["error"]["type"], "authentication_error", "{v}");
            if path == "/v1/messages" {
                assert_eq!(v["type"], "error", "{v}");
            }
            let text = v.to_string();
            assert!(text.contains(why) || *why == "rejected", "{auth}: {text}");
            // Secrets never come back.
            assert!(
                !text.contains(&other_key) && !text.contains("wrong"),
                "{text}"
            );
        }
    }
    // Not one chat request went out under the proxy's own token.
    assert_eq!(
        p.ctl().oauth_token_count(),
        0,
        "the server's credentials were used"
    );
    assert!(
        chat_auth(&p).iter().all(|a| a == "Bearer unknown-token"),
        "{:?}",
        chat_auth(&p)
    );
}

#[tokio::test]
async fn pass_token_and_api_key_coexist() {
    let p = TestProxy::start_with(
        PASS,
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "pk"),
        ],
    )
    .await;
    let t1 = p.ctl().issue_static_token();
    let t2 = p.ctl().issue_static_token();
    let giga1 = format!("giga-auth-{t1}");
    let bearer1 = format!("Bearer {giga1}");
    let giga2 = format!("giga-auth-{t2}");

    // OpenAI style: identity in Authorization, proxy key in x-api-key or the query.
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", &bearer1), ("x-api-key", "pk")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(chat_auth(&p).last().unwrap(), &format!("Bearer {t1}"));
    let r = post_with(
        &p,
        "/v1/chat/completions?x-api-key=pk",
        &[("authorization", &bearer1)],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 200);

    // The identity alone is not a proxy key.
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", &bearer1)],
        &openai_body(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 401);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pass-token"),
        "{v}"
    );
    // ... nor a wrong key with it.
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", &bearer1), ("x-api-key", "nope")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 401);

    // The proxy key as the bearer, no identity: the proxy's own account.
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", "Bearer pk")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let own = chat_auth(&p).last().unwrap().clone();
    assert!(own != format!("Bearer {t1}") && own != format!("Bearer {t2}"));

    // Anthropic style (e.g. Claude Code with ANTHROPIC_API_KEY=giga-… and
    // ANTHROPIC_AUTH_TOKEN=<proxy key>): identity in x-api-key, key as the bearer.
    let r = post_with(
        &p,
        "/v1/messages",
        &[("x-api-key", &giga2), ("authorization", "Bearer pk")],
        &anthropic_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(chat_auth(&p).last().unwrap(), &format!("Bearer {t2}"));
    // And the other way round (ANTHROPIC_AUTH_TOKEN=giga-…, ANTHROPIC_API_KEY=<proxy key>).
    let r = post_with(
        &p,
        "/v1/messages",
        &[
            ("authorization", &format!("Bearer {giga2}")),
            ("x-api-key", "pk"),
        ],
        &anthropic_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(chat_auth(&p).last().unwrap(), &format!("Bearer {t2}"));
}

#[tokio::test]
async fn without_pass_token_a_giga_bearer_is_just_a_wrong_key() {
    let p = TestProxy::start_with(
        &[],
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "pk"),
        ],
    )
    .await;
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", "Bearer giga-auth-x")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 401);
    // Without API-key auth the bearer is ignored: the proxy's own account.
    let p = TestProxy::start().await;
    let r = post_with(
        &p,
        "/v1/chat/completions",
        &[("authorization", "Bearer giga-auth-x")],
        &openai_body(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_ne!(chat_auth(&p)[0], "Bearer x");
}

#[tokio::test]
async fn an_api_key_that_looks_like_an_identity_is_refused_at_start_up() {
    let mock = MockServer::start().await.unwrap();
    let config = config_for(
        &mock.base_url(),
        &mock.auth_url(),
        PASS,
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "1"),
            ("GPT2GIGA_API_KEY", "giga-auth-oops"),
        ],
    );
    let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
    assert!(AppState::new(config, client).is_err());
}

// ------------------------------------------------------------------ HTTPS

struct Tls {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    cert_pem: String,
}

fn self_signed() -> Tls {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    Tls {
        _dir: dir,
        cert,
        key,
        cert_pem: ck.cert.pem(),
    }
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let tls = self_signed();
    let mock = MockServer::start().await.unwrap();
    mock.control().push_reply(Reply::text("over TLS"));
    let config = config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &[
            "--proxy.use-https",
            "--proxy.https-cert-file",
            tls.cert.to_str().unwrap(),
            "--proxy.https-key-file",
            tls.key.to_str().unwrap(),
        ],
        &[],
    );
    let server_tls = server::tls::load(&tls.cert, &tls.key).unwrap();
    let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
    let grace = config.proxy.shutdown_timeout();
    let limits = server::conn::Limits::from_settings(&config.proxy);
    let state = AppState::new(config, client).unwrap();
    let listener = server::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_tls(
        listener,
        server_tls,
        server::app(state),
        limits,
        async {
            let _ = stopped.await;
        },
        grace,
    ));

    let trusting = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", addr.port());
    let r = trusting.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN offers h2");
    let r = trusting
        .post(format!("{base}/v1/chat/completions"))
        .json(&openai_body())
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "over TLS");

    // HTTP/1.1 works too; a client that does not trust the certificate fails; so does
    // plain HTTP on the TLS port — and neither stops the server.
    let h1 = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let r = h1.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert!(http().get(format!("{base}/health")).send().await.is_err());
    assert!(
        http()
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .is_err()
    );
    // A silent client that never starts a handshake holds up nobody.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let r = trusting.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve_tls returns after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bad_https_files_stop_the_start_up_naming_the_file() {
    let tls = self_signed();
    let other = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.pem");

    let cases = [
        (&missing, &tls.key, "missing.pem"),
        (&tls.cert, &missing, "missing.pem"),
        (&tls.key, &tls.key, "no PEM certificate"),
        (&tls.cert, &garbage, "garbage.pem"),
        (&tls.cert, &tls.cert, "no usable PEM private key"),
        // A key that is not the certificate's.
        (&tls.cert, &other.key, "cannot be used with the certificate"),
    ];
    for (cert, key, expected) in cases {
        let e = server::tls::load(cert, key).unwrap_err().to_string();
        assert!(e.contains(expected), "{expected}: {e}");
    }

    // Through the real entry point: an error before anything listens.
    let mock = MockServer::start().await.unwrap();
    let port = common::free_port();
    let mut config = config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &[
            "--proxy.use-https",
            "true",
            "--proxy.https-cert-file",
            missing.to_str().unwrap(),
            "--proxy.https-key-file",
            tls.key.to_str().unwrap(),
        ],
        &[],
    );
    config.proxy.port = port;
    let e = tokio::time::timeout(Duration::from_secs(10), gpt2giga::run(config))
        .await
        .expect("run must fail fast")
        .unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("missing.pem") && e.contains("https-cert-file"),
        "{e}"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "port {port} is listening"
    );
}

// ------------------------------------------------------------------ concurrency cap

fn cap(n: &'static str, queue: &'static str, timeout: &'static str) -> Vec<&'static str> {
    vec![
        "--proxy.max-concurrent-requests-per-model",
        n,
        "--proxy.concurrency-queue-size",
        queue,
        "--proxy.concurrency-queue-timeout-secs",
        timeout,
    ]
}

/// An emulator that allows one request in flight per token (a personal account) and
/// answers after `latency`.
async fn personal_account(latency: Duration) -> MockServer {
    let mock = MockServer::start().await.unwrap();
    mock.control().set_concurrency_limit(Some(1));
    mock.control().set_latency(latency);
    mock
}

/// An emulator streaming slowly and allowing one request in flight per token.
async fn slow_streaming_personal_account() -> MockServer {
    let mock = MockServer::start().await.unwrap();
    mock.control().set_concurrency_limit(Some(1));
    mock.control().set_chunk_size(2);
    mock.control().set_chunk_delay(Duration::from_millis(60));
    mock.control()
        .push_reply(Reply::text("a fairly long streamed answer"));
    mock
}

#[tokio::test]
async fn without_a_cap_gigachat_refuses_the_second_request() {
    let p = TestProxy::start_on(slow_streaming_personal_account().await, &[], &[]).await;
    let mut body = openai_body();
    body["stream"] = json!(true);
    let stream = post_with(&p, "/v1/chat/completions", &[], &body).await;
    assert_eq!(stream.status(), 200);
    // The cap is off by default: the second request reaches GigaChat, which says 429.
    let (status, _, v) =
        json_of(post_with(&p, "/v1/chat/completions", &[], &openai_body()).await).await;
    assert_eq!(status, 429, "{v}");
    assert!(
        !v.to_string().contains("too many concurrent requests"),
        "{v}"
    );
    assert_eq!(p.chat_bodies().len(), 2);
    let (_, _, text) = text_of(stream).await;
    assert!(text.contains("[DONE]"));
}

#[tokio::test]
async fn excess_requests_queue_then_get_429_with_retry_after() {
    let p = TestProxy::start_on(
        personal_account(Duration::from_millis(400)).await,
        &cap("1", "1", "5"),
        &[],
    )
    .await;
    // One runs, one waits for it, the third finds the queue full.
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        post_with(&p, "/v1/chat/completions", &[], &openai_body()),
        post_with(&p, "/v1/chat/completions", &[], &openai_body()),
        post_with(&p, "/v1/chat/completions", &[], &openai_body())
    );
    let mut results = Vec::new();
    for r in [a, b, c] {
        results.push(json_of(r).await);
    }
    let ok = results.iter().filter(|(s, _, _)| *s == 200).count();
    assert_eq!(ok, 2, "{results:?}");
    let (status, headers, v) = results.iter().find(|(s, _, _)| *s != 200).unwrap();
    assert_eq!(*status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many concurrent requests"),
        "{v}"
    );
    // The two that ran took turns: token + answer for the first, then the second's
    // answer (400 ms each).
    assert!(
        started.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(common::bodies(p.ctl(), "/chat/completions").len(), 2);
}

#[tokio::test]
async fn a_wait_longer_than_the_timeout_is_a_429_in_the_callers_dialect() {
    let p = TestProxy::start_on(
        personal_account(Duration::from_millis(1500)).await,
        &cap("1", "10", "0.3"),
        &[],
    )
    .await;
    let slow = post_with(&p, "/v1/messages", &[], &anthropic_body());
    let waiting = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let r = post_with(&p, "/v1/messages", &[], &anthropic_body()).await;
        (started.elapsed(), r)
    };
    let (slow, (waited, r)) = tokio::join!(slow, waiting);
    assert_eq!(slow.status(), 200);
    let (status, headers, v) = json_of(r).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_millis(1300),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_stream_holds_its_slot_until_it_ends() {
    let mock = slow_streaming_personal_account().await;
    let p = TestProxy::start_on(mock, &cap("1", "0", "1"), &[]).await;
    let mut body = openai_body();
    body["stream"] = json!(true);
    let stream = post_with(&p, "/v1/chat/completions", &[], &body).await;
    assert_eq!(stream.status(), 200);
    // Headers are in, the body is still streaming: the slot is taken, and the proxy
    // answers 429 itself, without asking GigaChat.
    let (status, headers, v) =
        json_of(post_with(&p, "/v1/chat/completions", &[], &openai_body()).await).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert!(
        v.to_string().contains("too many concurrent requests"),
        "{v}"
    );
    assert_eq!(p.chat_bodies().len(), 1);
    let (_, _, text) = text_of(stream).await;
    assert!(text.contains("[DONE]"));
    // The stream ended: the slot is free again. (GigaChat's own per-token limit is
    // lifted so that its bookkeeping of the finished stream cannot race the check.)
    p.ctl().set_concurrency_limit(None);
    let r = post_with(&p, "/v1/chat/completions", &[], &openai_body()).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_cap_is_per_model_and_per_identity() {
    let mut args = cap("1", "0", "1");
    args.extend_from_slice(PASS);
    args.push("--proxy.pass-model");
    let p = TestProxy::start_on(
        personal_account(Duration::from_millis(300)).await,
        &args,
        &[],
    )
    .await;
    let t1 = p.ctl().issue_static_token();
    let t2 = p.ctl().issue_static_token();
    let (a1, a2) = (
        format!("Bearer giga-auth-{t1}"),
        format!("Bearer giga-auth-{t2}"),
    );
    let model = |m: &str| json!({"model": m, "messages": [{"role": "user", "content": "hi"}]});
    let (one, other_model) = (model("GigaChat"), model("GigaChat-2-Max"));
    let (x, y, z) = tokio::join!(
        post_with(&p, "/v1/chat/completions", &[("authorization", &a1)], &one),
        post_with(&p, "/v1/chat/completions", &[("authorization", &a2)], &one),
        // Same identity, another model: its own slot (GigaChat may still refuse it).
        post_with(
            &p,
            "/v1/chat/completions",
            &[("authorization", &a1)],
            &other_model
        ),
    );
    assert_eq!(x.status(), 200);
    assert_eq!(y.status(), 200);
    let (status, _, v) = json_of(z).await;
    assert!(
        status == 200 || !v.to_string().contains("too many concurrent requests"),
        "{status}: {v}"
    );
}

// ------------------------------------------------------------------ hostile input

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn deep_nesting_is_a_400_in_every_dialect() {
    let p = TestProxy::start().await;
    let deep = nested(100_000);
    for (path, body) in [
        (
            "/v1/chat/completions",
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],"metadata":{deep}}}"#
            ),
        ),
        (
            "/v1/messages",
            format!(
                r#"{{"model":"m","max_tokens":5,"messages":[{{"role":"user","content":"hi"}}],"metadata":{deep}}}"#
            ),
        ),
        (
            "/v1/messages/count_tokens",
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],"metadata":{deep}}}"#
            ),
        ),
        (
            "/v1/responses",
            format!(r#"{{"model":"m","input":{deep}}}"#),
        ),
        (
            "/v1/embeddings",
            format!(r#"{{"model":"m","input":{deep}}}"#),
        ),
    ] {
        let r = http()
            .post(p.at(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, _, v) = json_of(r).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert!(v.to_string().contains("recursion limit"), "{path}: {v}");
        if path.starts_with("/v1/messages") {
            assert_eq!(v["type"], "error", "{v}");
        }
    }
    // Deep but within the limit, inside a tool schema: handled, not a 500.
    let mut schema = json!({"type": "string"});
    for _ in 0..60 {
        schema = json!({"type": "object", "properties": {"x": schema}});
    }
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]});
    let status = post_with(&p, "/v1/chat/completions", &[], &body)
        .await
        .status();
    assert!(status.is_success() || status.is_client_error(), "{status}");
}

#[tokio::test]
async fn a_ref_bomb_in_a_tool_schema_is_cut_short() {
    let p = TestProxy::start().await;
    let mut defs = serde_json::Map::new();
    defs.insert("a0".into(), json!({"type": "string"}));
    for i in 1..40 {
        let r = json!({"$ref": format!("#/$defs/a{}", i - 1)});
        defs.insert(
            format!("a{i}"),
            json!({"type": "object", "properties": {"x": r, "y": r, "z": r}}),
        );
    }
    let schema = json!({"$defs": defs, "$ref": "#/$defs/a39"});
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]});
    let started = Instant::now();
    let r = post_with(&p, "/v1/chat/completions", &[], &body).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field_in_every_dialect() {
    let p = TestProxy::start().await;
    let cases = [
        ("/v1/chat/completions", json!({"model": "m"}), "messages"),
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": 5}]}),
            "messages[0]",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": "hi"}),
            "messages",
        ),
        (
            "/v1/chat/completions",
            json!({"model": 7, "messages": []}),
            "model",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            "/v1/messages",
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens",
        ),
        (
            "/v1/messages",
            json!({"model": "m", "max_tokens": "many", "messages": []}),
            "max_tokens",
        ),
        (
            "/v1/messages",
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            "messages[0]",
        ),
        (
            "/v1/messages/count_tokens",
            json!({"model": "m", "messages": 3}),
            "messages",
        ),
        ("/v1/responses", json!({"model": "m", "input": 5}), "input"),
        (
            "/v1/responses",
            json!({"model": "m", "input": "hi", "max_output_tokens": "lots"}),
            "max_output_tokens",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            "messages[0].content",
        ),
        (
            "/v1/responses",
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 5}]}]}),
            "input[0].content[0].text",
        ),
        (
            "/v1/messages",
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": null}]}]}]}),
            "messages[0].content[0].content[0].text",
        ),
        ("/v1/embeddings", json!({"model": "m"}), "input"),
        (
            "/v1/embeddings",
            json!({"model": "m", "input": {"a": 1}}),
            "input",
        ),
    ];
    for (path, body, field) in cases {
        let (status, _, v) = json_of(p.post(path, &body).await).await;
        assert_eq!(status, 400, "{path} {body}: {v}");
        let text = v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
            + v["error"]["param"].as_str().unwrap_or_default();
        assert!(
            text.contains(field),
            "{path} {body}: expected {field:?} in {v}"
        );
        if path.starts_with("/v1/messages") {
            assert_eq!(v["type"], "error", "{v}");
            assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        } else {
            assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        }
    }
    // Not JSON at all, and not an object.
    for path in [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/responses",
        "/v1/embeddings",
    ] {
        for raw in [
            "{nope",
            "[1,2]",
            "\"text\"",
            "null",
            "{\"model\":\"m\"} trailing",
        ] {
            let r = http()
                .post(p.at(path))
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            let (status, _, v) = json_of(r).await;
            assert_eq!(status, 400, "{path} {raw}: {v}");
        }
    }
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn huge_bodies_are_cut_off_by_the_cap() {
    let p = TestProxy::start_with(&["--proxy.max-request-body-bytes", "100000"], &[]).await;
    // A huge array of tiny items, declared and chunked.
    let items = vec![json!(0); 60_000];
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": items});
    let r = post_with(&p, "/v1/chat/completions", &[], &body).await;
    assert_eq!(r.status(), 413);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..200)
        .map(|_| Ok(bytes::Bytes::from(vec![b' '; 1000])))
        .collect();
    let r = http()
        .post(p.at("/v1/messages"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["type"], "error");
}

#[tokio::test]
async fn pass_token_pool_is_bounded_by_identity_not_requests() {
    // Many requests from one identity make one pooled client.
    let mock = MockServer::start().await.unwrap();
    let token = mock.control().issue_static_token();
    let config = config_for(&mock.base_url(), &mock.auth_url(), PASS, &[]);
    let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
    let state = AppState::new(config, client).unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer giga-auth-{token}").parse().unwrap(),
    );
    for _ in 0..10 {
        gpt2giga::server::auth::upstream_of(&state, &headers).unwrap();
    }
    assert_eq!(state.pooled_identities(), 1);
}

#[tokio::test]
async fn stored_responses_are_private_to_their_gigachat_identity() {
    let p = TestProxy::start_with(PASS, &[]).await;
    let alice = format!("Bearer giga-auth-{}", p.ctl().issue_static_token());
    let bob = format!("Bearer giga-auth-{}", p.ctl().issue_static_token());
    let r = post_with(
        &p,
        "/v1/responses",
        &[("authorization", &alice)],
        &json!({"model": "gpt-5", "input": "secret plans"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let get = |who: &str, path: String| {
        let rb = http().get(p.at(&path)).header("authorization", who);
        async move { rb.send().await.unwrap().status().as_u16() }
    };
    // Bob (and the server's own identity) see nothing: not found, not forbidden.
    assert_eq!(get(&bob, format!("/v1/responses/{id}")).await, 404);
    assert_eq!(
        get(&bob, format!("/v1/responses/{id}/input_items")).await,
        404
    );
    let follow = post_with(
        &p,
        "/v1/responses",
        &[("authorization", &bob)],
        &json!({"model": "gpt-5", "input": "more", "previous_response_id": id}),
    )
    .await;
    assert_eq!(follow.status(), 404);
    let del = http()
        .delete(p.at(&format!("/v1/responses/{id}")))
        .header("authorization", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404);
    assert_eq!(
        get("Bearer nothing", format!("/v1/responses/{id}")).await,
        401
    );

    // Alice still has it.
    assert_eq!(get(&alice, format!("/v1/responses/{id}")).await, 200);
    let follow = post_with(
        &p,
        "/v1/responses",
        &[("authorization", &alice)],
        &json!({"model": "gpt-5", "input": "more", "previous_response_id": id}),
    )
    .await;
    assert_eq!(follow.status(), 200);
}
