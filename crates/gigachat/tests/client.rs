//! The GigaChat client against the emulator: every auth mode, both token shapes, the
//! token cache, 401 re-auth, retries, streams and their failures, timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use gigachat::types::{EmbeddingsRequest, TokensCountRequest, v1, v2};
use gigachat::{Client, ClientConfig, Error, RequestContext, Secret};
use gigachat_mock::{
    Fault, FaultBody, MockConfig, MockServer, Reply, StreamFault, StreamFaultKind, TokenShape,
};
use serde_json::json;

const KEY: &str = "dGVzdDp0ZXN0"; // base64("test:test")

fn config(mock: &MockServer) -> ClientConfig {
    ClientConfig {
        base_url: mock.base_url(),
        auth_url: mock.auth_url(),
        credentials: Some(Secret::new(KEY)),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

fn hello() -> v1::ChatRequest {
    v1::ChatRequest {
        model: "GigaChat".into(),
        messages: vec![v1::Message::new(v1::Role::User, "Hello")],
        ..Default::default()
    }
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

fn chat_requests(mock: &MockServer) -> usize {
    mock.control()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count()
}

#[tokio::test]
async fn oauth_credentials_and_scope() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(ClientConfig {
        scope: "GIGACHAT_API_CORP".into(),
        ..config(&mock)
    })
    .unwrap();
    let r = client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(mock.control().oauth_token_count(), 1);
    let oauth = mock.control().last_request("/api/v2/oauth").unwrap();
    assert_eq!(
        oauth.header("authorization"),
        Some(&*format!("Basic {KEY}"))
    );
    let rquid = oauth.header("rquid").unwrap();
    assert!(uuid::Uuid::parse_str(rquid).is_ok(), "{rquid}");
    assert_eq!(&oauth.body[..], b"scope=GIGACHAT_API_CORP");
    // The token is reused.
    client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().oauth_token_count(), 1);
    let chat = mock.control().last_request("/chat/completions").unwrap();
    assert!(chat.header("authorization").unwrap().starts_with("Bearer "));
}

#[tokio::test]
async fn a_fresh_rquid_per_token_request() {
    let mock = MockServer::start_with(MockConfig {
        token_ttl: Duration::from_secs(1),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // A 60 s buffer makes every 1 s token stale at once: each call fetches a new one.
    let client = Client::new(config(&mock)).unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    let ids: Vec<String> = mock
        .control()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth"))
        .map(|r| r.header("rquid").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let mock = MockServer::start_with(MockConfig {
        credentials: Some("b3RoZXI6a2V5".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(config(&mock)).unwrap();
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    match &err {
        Error::Auth { status, message } => {
            assert_eq!(*status, 401);
            assert!(message.contains("credentials doesn't match"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn both_token_shapes() {
    for shape in [TokenShape::AccessToken, TokenShape::Tok] {
        let mock = MockServer::start_with(MockConfig {
            token_shape: shape,
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let client = Client::new(config(&mock)).unwrap();
        client.chat(&hello(), &ctx()).await.unwrap();
        client.chat(&hello(), &ctx()).await.unwrap();
        // Either unit is understood: the 30-minute token is reused, not refetched.
        assert_eq!(mock.control().oauth_token_count(), 1, "{shape:?}");
    }
}

#[tokio::test]
async fn user_and_password() {
    let mock = MockServer::start_with(MockConfig {
        user: Some("alice".into()),
        password: Some("s3cret".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(ClientConfig {
        credentials: None,
        user: Some("alice".into()),
        password: Some(Secret::new("s3cret")),
        ..config(&mock)
    })
    .unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    // `{tok, exp}` with `exp` in seconds: the SDK's bug would refetch every time.
    assert_eq!(mock.control().password_token_count(), 1);
    assert_eq!(mock.control().oauth_token_count(), 0);

    let bad = Client::new(ClientConfig {
        credentials: None,
        user: Some("alice".into()),
        password: Some(Secret::new("wrong")),
        ..config(&mock)
    })
    .unwrap();
    assert!(matches!(
        bad.chat(&hello(), &ctx()).await,
        Err(Error::Auth { status: 401, .. })
    ));
}

#[tokio::test]
async fn pre_issued_access_token() {
    let mock = MockServer::start().await.unwrap();
    let token = mock.control().issue_static_token();
    let client = Client::new(ClientConfig {
        credentials: None,
        access_token: Some(Secret::new(token.clone())),
        ..config(&mock)
    })
    .unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().oauth_token_count(), 0);
    let chat = mock.control().last_request("/chat/completions").unwrap();
    assert_eq!(
        chat.header("authorization"),
        Some(&*format!("Bearer {token}"))
    );

    // Rejected, and nothing to refresh with: the 401 reaches the caller.
    mock.control().revoke_all_tokens();
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn refresh_before_expiry() {
    let mock = MockServer::start_with(MockConfig {
        token_ttl: Duration::from_secs(120),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // 120 s left, 60 s buffer: reused.
    let client = Client::new(config(&mock)).unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().oauth_token_count(), 1);
    // 120 s left, 150 s buffer: refreshed before each call.
    let eager = Client::new(ClientConfig {
        token_expiry_buffer_ms: 150_000,
        ..config(&mock)
    })
    .unwrap();
    eager.chat(&hello(), &ctx()).await.unwrap();
    eager.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().oauth_token_count(), 3);
}

#[tokio::test]
async fn single_flight_refresh_under_200_concurrent_calls() {
    let mock = MockServer::start_with(MockConfig {
        // Slow token endpoint and API: all 200 callers find the cache cold together.
        latency: Duration::from_millis(50),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(config(&mock)).unwrap();
    let calls = (0..200).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.chat(&hello(), &ctx()).await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(mock.control().oauth_token_count(), 1);
    assert_eq!(client.token_fetches(), 1);
}

#[tokio::test]
async fn one_reauth_and_retry_on_401() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(config(&mock)).unwrap();
    client.chat(&hello(), &ctx()).await.unwrap();
    mock.control().fail_next_401(1);
    client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().oauth_token_count(), 2);
    // Two 401s in a row: one re-auth, one retry, then the 401 is surfaced.
    mock.control().fail_next_401(2);
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(mock.control().oauth_token_count(), 3);
}

#[tokio::test]
async fn retries_with_backoff_honour_retry_after() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(ClientConfig {
        max_retries: 2,
        retry_backoff_factor: 0.0,
        ..config(&mock)
    })
    .unwrap();
    mock.control().inject_fault(Fault {
        status: 429,
        body: None,
        retry_after: Some("0".into()),
        times: 1,
        path_suffix: Some("/chat/completions".into()),
    });
    mock.control().inject_fault(Fault {
        status: 503,
        body: None,
        retry_after: None,
        times: 1,
        path_suffix: Some("/chat/completions".into()),
    });
    client.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(chat_requests(&mock), 3);

    // Out of retries: the 429 comes back with its Retry-After and GigaChat's message.
    mock.control().inject_fault(Fault {
        status: 429,
        body: None,
        retry_after: Some("0".into()),
        times: 3,
        path_suffix: Some("/chat/completions".into()),
    });
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::ZERO));

    // Not retryable: 400 is returned at once.
    mock.control().clear_requests();
    mock.control().inject_fault(Fault {
        status: 400,
        body: Some(FaultBody::Json(json!({"status": 400, "message": "bad"}))),
        retry_after: None,
        times: 1,
        path_suffix: None,
    });
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("bad"));
    assert_eq!(chat_requests(&mock), 1);
}

#[tokio::test]
async fn no_retry_once_a_stream_has_started() {
    let mock = MockServer::start().await.unwrap();
    mock.control().set_chunk_size(3);
    mock.control()
        .push_reply(Reply::text("one two three four five"));
    mock.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 2 },
        1,
    )));
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..config(&mock)
    })
    .unwrap();
    let mut s = client.chat_stream(&hello(), &ctx()).await.unwrap();
    let mut got = 0;
    let err = loop {
        match s.next().await {
            Some(Ok(_)) => got += 1,
            Some(Err(e)) => break e,
            None => panic!("stream ended cleanly after a disconnect"),
        }
    };
    assert_eq!(got, 2);
    assert!(matches!(err, Error::StreamInterrupted(_)), "{err:?}");
    assert!(s.next().await.is_none());
    assert_eq!(chat_requests(&mock), 1);
}

#[tokio::test]
async fn v1_stream_decoding() {
    let mock = MockServer::start().await.unwrap();
    mock.control().set_chunk_size(4);
    mock.control()
        .push_reply(Reply::reasoning("think", "Hello there"));
    let client = Client::new(config(&mock)).unwrap();
    let ctx = RequestContext {
        request_id: Some("req-1".into()),
        session_id: Some("sess-1".into()),
        client_id: Some("client-1".into()),
    };
    let chunks: Vec<v1::ChatChunk> = client
        .chat_stream(&hello(), &ctx)
        .await
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
        .await;
    let text: String = chunks
        .iter()
        .filter_map(|c| c.choices[0].delta.content.clone())
        .collect();
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c.choices[0].delta.reasoning_content.clone())
        .collect();
    assert_eq!(text, "Hello there");
    assert_eq!(reasoning, "think");
    let last = chunks.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(last.usage.is_some());
    let rec = mock.control().last_request("/chat/completions").unwrap();
    assert_eq!(rec.header("x-request-id"), Some("req-1"));
    assert_eq!(rec.header("x-session-id"), Some("sess-1"));
    assert_eq!(rec.header("x-client-id"), Some("client-1"));
    assert_eq!(rec.header("accept"), Some("text/event-stream"));
    let body: serde_json::Value = serde_json::from_slice(&rec.body).unwrap();
    assert_eq!(body["stream"], true);
}

#[tokio::test]
async fn v1_stream_truncated_or_wrong_type() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(config(&mock)).unwrap();
    mock.control()
        .set_stream_fault(Some(StreamFault::times(StreamFaultKind::TruncateFinal, 1)));
    let items: Vec<_> = client
        .chat_stream(&hello(), &ctx())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items.last(), Some(Err(Error::StreamInterrupted(_)))),
        "{items:?}"
    );

    mock.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::WrongContentType,
        1,
    )));
    let err = client.chat_stream(&hello(), &ctx()).await.err().unwrap();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn v2_chat_and_stream() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(config(&mock)).unwrap();
    let req = v2::ChatRequest {
        model: Some("GigaChat".into()),
        messages: vec![v2::Message {
            role: "user".into(),
            content: vec![v2::ContentPart::text("Hi")],
            ..Default::default()
        }],
        ..Default::default()
    };
    mock.control().push_reply(Reply::function_call(
        "get_weather",
        json!({"city": "Kazan"}),
    ));
    let r = client.chat_v2(&req, &ctx()).await.unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("function_call"));
    let call = r.messages[0].content[0].function_call.as_ref().unwrap();
    assert_eq!(call.arguments, json!({"city": "Kazan"}));
    assert!(r.messages[0].state_id().is_some());
    assert!(
        mock.control()
            .last_request("/v2/chat/completions")
            .is_some()
    );

    mock.control().set_chunk_size(2);
    mock.control().push_reply(Reply::text("abcdef"));
    let events: Vec<v2::StreamEvent> = client
        .chat_v2_stream(&req, &ctx())
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let text: String = events
        .iter()
        .filter(|e| e.event == v2::event::MESSAGE_DELTA)
        .flat_map(|e| e.data.messages.iter())
        .flat_map(|m| m.content.iter())
        .filter_map(|p| p.text.clone())
        .collect();
    assert_eq!(text, "abcdef");
    let done = events.last().unwrap();
    assert_eq!(done.event, v2::event::MESSAGE_DONE);
    assert!(done.data.usage.is_some());

    // A v2 stream cut off mid-way is a typed error, not a hang or a clean end.
    mock.control().push_reply(Reply::text("abcdefgh"));
    mock.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 1 },
        1,
    )));
    let items: Vec<_> = client
        .chat_v2_stream(&req, &ctx())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items.last(), Some(Err(Error::StreamInterrupted(_)))),
        "{items:?}"
    );
}

#[tokio::test]
async fn timeouts() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&mock)
    })
    .unwrap();
    client.authenticate().await.unwrap();
    mock.control().set_latency(Duration::from_secs(3));
    let err = client.chat(&hello(), &ctx()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");

    // A stream that stalls after its first chunk times out between chunks.
    mock.control().set_latency(Duration::ZERO);
    mock.control().set_chunk_size(2);
    mock.control().push_reply(Reply::text("abcdef"));
    mock.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Stall { after_chunks: 1 },
        1,
    )));
    let items: Vec<_> = client
        .chat_stream(&hello(), &ctx())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items[0].is_ok());
    assert!(
        matches!(
            items.last(),
            Some(Err(Error::Timeout(_) | Error::StreamInterrupted(_)))
        ),
        "{items:?}"
    );
    mock.control().release_stalled_streams();
}

#[tokio::test]
async fn connection_cap() {
    let mock = MockServer::start_with(MockConfig {
        latency: Duration::from_millis(100),
        concurrency_limit: Some(2),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // The emulator answers 429 beyond 2 in-flight requests per token; the client's cap
    // of 2 keeps 20 concurrent callers under it.
    let client = Client::new(ClientConfig {
        max_connections: Some(2),
        ..config(&mock)
    })
    .unwrap();
    client.authenticate().await.unwrap();
    let calls = (0..20).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.chat(&hello(), &ctx()).await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
}

#[tokio::test]
async fn other_resources() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::new(config(&mock)).unwrap();
    let models = client.models(&ctx()).await.unwrap();
    assert!(models.data.iter().any(|m| m.id == "GigaChat"));
    assert_eq!(
        client.model("GigaChat", &ctx()).await.unwrap().id,
        "GigaChat"
    );
    let err = client.model("Nope", &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("No such model"));

    let e = client
        .embeddings(
            &EmbeddingsRequest {
                input: vec!["a".into(), "b".into()],
                model: "Embeddings".into(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(e.data.len(), 2);
    assert_eq!(e.data[0].embedding.len(), 1024);

    let counts = client
        .tokens_count(
            &TokensCountRequest {
                model: "GigaChat".into(),
                input: vec!["hello world".into()],
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(counts.len(), 1);
    assert!(counts[0].tokens > 0);

    let b = client.balance(&ctx()).await.unwrap();
    assert!(b.balance.iter().any(|x| x.usage == "GigaChat"));
    // Pay-as-you-go accounts have no balance: 403.
    mock.control().set_balance(None);
    assert_eq!(
        client.balance(&ctx()).await.unwrap_err().status(),
        Some(403)
    );

    let png =
        bytes::Bytes::from_static(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    let f = client
        .upload_file(
            gigachat::FileUpload {
                filename: "a.png".into(),
                mime: "image/png".into(),
                data: png.clone(),
                purpose: String::new(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(f.bytes, png.len() as u64);
    assert!(
        client
            .list_files(&ctx())
            .await
            .unwrap()
            .data
            .iter()
            .any(|x| x.id == f.id)
    );
    assert_eq!(
        client.get_file(&f.id, &ctx()).await.unwrap().filename,
        "a.png"
    );
    assert_eq!(client.file_content(&f.id, &ctx()).await.unwrap(), png);
    assert!(client.delete_file(&f.id, &ctx()).await.unwrap().deleted);
    assert_eq!(
        client.get_file(&f.id, &ctx()).await.unwrap_err().status(),
        Some(404)
    );
}

#[tokio::test]
async fn with_credentials_authenticates_as_someone_else_with_its_own_token_cache() {
    let mock = MockServer::start_with(MockConfig {
        user: Some("bob".into()),
        password: Some("b0b".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let server = Client::new(config(&mock)).unwrap();
    server.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(server.token_fetches(), 1);

    // Another authorization key and scope: a token of its own, cached.
    let other_key = "b3RoZXI6a2V5"; // base64("other:key")
    let other = server
        .with_credentials(gigachat::Credentials::AuthorizationKey {
            key: Secret::new(other_key),
            scope: "GIGACHAT_API_B2B".into(),
        })
        .unwrap();
    other.chat(&hello(), &ctx()).await.unwrap();
    other.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(other.token_fetches(), 1);
    assert_eq!(server.token_fetches(), 1);
    // The family counter (for metrics) sees both identities' token requests.
    assert_eq!(server.token_fetches_all(), 2);
    assert_eq!(other.token_fetches_all(), 2);
    let oauth = mock.control().last_request("/api/v2/oauth").unwrap();
    assert_eq!(
        oauth.header("authorization"),
        Some(&*format!("Basic {other_key}"))
    );
    assert_eq!(&oauth.body[..], b"scope=GIGACHAT_API_B2B");
    assert_eq!(
        other.config().credentials.as_ref().unwrap().expose(),
        other_key
    );
    assert_eq!(other.config().scope, "GIGACHAT_API_B2B");
    // The server's token is still the one it uses.
    server.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(server.token_fetches(), 1);
    assert_eq!(mock.control().oauth_token_count(), 2);

    // User and password.
    let user = server
        .with_credentials(gigachat::Credentials::UserPassword {
            user: "bob".into(),
            password: Secret::new("b0b"),
        })
        .unwrap();
    user.chat(&hello(), &ctx()).await.unwrap();
    assert_eq!(mock.control().password_token_count(), 1);
    assert!(user.config().credentials.is_none());
    let wrong = server
        .with_credentials(gigachat::Credentials::UserPassword {
            user: "bob".into(),
            password: Secret::new("nope"),
        })
        .unwrap();
    assert!(matches!(
        wrong.chat(&hello(), &ctx()).await,
        Err(Error::Auth { status: 401, .. })
    ));

    // A pre-issued token: sent as is, never refreshed.
    let token = mock.control().issue_static_token();
    let fixed = server
        .with_credentials(gigachat::Credentials::AccessToken(Secret::new(
            token.clone(),
        )))
        .unwrap();
    fixed.chat(&hello(), &ctx()).await.unwrap();
    let chat = mock.control().last_request("/chat/completions").unwrap();
    assert_eq!(
        chat.header("authorization"),
        Some(&*format!("Bearer {token}"))
    );
    let unknown = server
        .with_credentials(gigachat::Credentials::AccessToken(Secret::new(
            "not-a-token",
        )))
        .unwrap();
    let err = unknown.chat(&hello(), &ctx()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(unknown.token_fetches(), 0);
}
