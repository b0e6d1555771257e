//! Connection hardening: half-sent headers and idle keep-alive connections are closed,
//! the connection cap refuses clearly, and a panicking handler answers 500 without
//! disturbing other requests and streams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{TestProxy, http};
use gigachat_mock::Reply;
use gpt2giga::server::{self, conn::Limits};
use serde_json::{Value, json};

/// Reads until the peer closes (returns what it sent) or `within` passes (panics).
fn read_until_closed(s: &mut TcpStream, within: Duration) -> String {
    s.set_read_timeout(Some(within)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&out).into_owned();
            }
            Err(e) => panic!("the server kept the connection open ({e}); got {out:?}"),
        }
    }
}

#[tokio::test]
async fn half_sent_headers_are_closed_after_the_header_timeout() {
    let t = TestProxy::start_with(
        &[
            "--proxy.header-read-timeout-secs",
            "1",
            "--proxy.keepalive-timeout-secs",
            "30",
        ],
        &[],
    )
    .await;
    let addr = t.proxy.addr;
    let started = Instant::now();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: app")
                    .unwrap();
                read_until_closed(&mut s, Duration::from_secs(10))
            })
        })
        .collect();
    for h in handles {
        let got = tokio::task::spawn_blocking(move || h.join().unwrap())
            .await
            .unwrap();
        assert!(!got.contains("200 OK"), "{got}");
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    // The server still serves.
    let r = http().get(t.at("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn idle_keepalive_connections_close_but_quiet_streams_do_not() {
    let t = TestProxy::start_with(
        &[
            "--proxy.keepalive-timeout-secs",
            "1",
            "--proxy.header-read-timeout-secs",
            "1",
        ],
        &[],
    )
    .await;
    // One request on a keep-alive connection, then silence: closed after ~1 s.
    let addr = t.proxy.addr;
    let got = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let started = Instant::now();
        let got = read_until_closed(&mut s, Duration::from_secs(10));
        (got, started.elapsed())
    })
    .await
    .unwrap();
    assert!(got.0.starts_with("HTTP/1.1 200"), "{}", got.0);
    assert!(got.1 >= Duration::from_millis(900), "{:?}", got.1);
    assert!(got.1 < Duration::from_secs(5), "{:?}", got.1);

    // A stream whose chunks are 1.5 s apart (longer than both timeouts) is not cut.
    t.ctl().set_chunk_size(8);
    t.ctl().set_chunk_delay(Duration::from_millis(1500));
    t.ctl().push_reply(Reply::text("slow and steady wins"));
    let r = t
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let frames = common::openai_frames(&text);
    assert_eq!(
        common::delta_text(&frames, "content"),
        "slow and steady wins"
    );
}

#[tokio::test]
async fn plain_connections_speak_http2_with_prior_knowledge_and_stalled_prefaces_close() {
    let t = TestProxy::start_with(&["--proxy.header-read-timeout-secs", "1"], &[]).await;
    // h2c with prior knowledge: the preface picks HTTP/2, for plain calls and streams.
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2.get(t.at("/health")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_2)
    );
    t.ctl().set_chunk_size(4);
    t.ctl().push_reply(Reply::text("over h2c, chunk by chunk"));
    let r = h2
        .post(t.at("/v1/chat/completions"))
        .json(
            &json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let frames = common::openai_frames(&r.text().await.unwrap());
    assert_eq!(
        common::delta_text(&frames, "content"),
        "over h2c, chunk by chunk"
    );
    // HTTP/1.1 on the same port, including a method that starts like the preface.
    let r = http().get(t.at("/health")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_11)
    );
    let r = http().patch(t.at("/health")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.status(), 405);

    // A client that stops inside the preface's first word is closed at the header
    // timeout, not held until the keep-alive one.
    let addr = t.proxy.addr;
    let took = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"PR").unwrap();
        let started = Instant::now();
        let got = read_until_closed(&mut s, Duration::from_secs(10));
        assert_eq!(got, "");
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn the_connection_cap_refuses_with_a_clear_503() {
    let t = TestProxy::start_with(&["--proxy.max-connections", "4"], &[]).await;
    let addr = t.proxy.addr;
    let got = tokio::task::spawn_blocking(move || {
        // Four held connections (each has served a request and stays open).
        let held: Vec<TcpStream> = (0..4)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).unwrap();
                assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
                s
            })
            .collect();
        let mut fifth = TcpStream::connect(addr).unwrap();
        let refused = read_until_closed(&mut fifth, Duration::from_secs(5));
        drop(held);
        refused
    })
    .await
    .unwrap();
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got}");
    let body: Value = serde_json::from_str(got.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--proxy.max-connections"),
        "{body}"
    );
    // Once they are gone, connections are accepted again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(r) = http().get(t.at("/ping")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery after the cap");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_spares_other_streams() {
    async fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    async fn slow() -> axum::body::Body {
        let chunks = futures::stream::unfold(0u8, |i| async move {
            if i == 5 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((
                Ok::<_, std::convert::Infallible>(format!("chunk{i};")),
                i + 1,
            ))
        });
        axum::body::Body::from_stream(chunks)
    }
    let app = Router::new()
        .route("/boom", get(boom))
        .route("/slow", get(slow))
        .route("/ok", get(|| async { "ok" }));
    let listener = server::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(
        listener,
        app,
        Limits::default(),
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    let base = format!("http://{addr}");
    let stream = tokio::spawn({
        let url = format!("{base}/slow");
        async move { http().get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..3 {
        let r = http().get(format!("{base}/boom")).send().await.unwrap();
        assert_eq!(r.status(), 500);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "server_error", "{v}");
    }
    assert_eq!(stream.await.unwrap(), "chunk0;chunk1;chunk2;chunk3;chunk4;");
    let r = http().get(format!("{base}/ok")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
