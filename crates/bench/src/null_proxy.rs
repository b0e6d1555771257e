//! The null pass-through proxy: the floor every real proxy is compared with.
//!
//! A minimal hyper HTTP/1.1 server (keep-alive, `TCP_NODELAY`) that forwards each request
//! to the mock through a keep-alive connection pool and streams the answer back byte for
//! byte. It does no translation: the only changes are the path (`/v1/chat/completions`
//! and `/v1/messages` → `/api/v1/chat/completions`, `/v1/embeddings` →
//! `/api/v1/embeddings`), a fixed `Authorization: Bearer <token>` (the mock runs with
//! `--accept-any-token`, so no OAuth), and the hop-by-hop headers. Run as a hidden
//! sub-command of the bench binary so it is a separate process that can be pinned and
//! measured exactly like the proxies under test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpSocket;

type Upstream = Client<HttpConnector, Incoming>;
type Body = Either<Incoming, Full<Bytes>>;

struct Ctx {
    client: Upstream,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    upstream: String,
    auth: HeaderValue,
}

/// The upstream path for a client path.
fn map_path(path: &str) -> &str {
    match path {
        "/v1/chat/completions" | "/chat/completions" | "/v1/messages" | "/messages" => {
            "/api/v1/chat/completions"
        }
        "/v1/embeddings" | "/embeddings" => "/api/v1/embeddings",
        other => other,
    }
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn bad_gateway(message: String) -> Response<Body> {
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp
}

async fn forward(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let path = map_path(parts.uri.path());
    let target = match parts.uri.query() {
        Some(q) => format!("{}{path}?{q}", ctx.upstream),
        None => format!("{}{path}", ctx.upstream),
    };
    parts.uri = match target.parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => return Ok(bad_gateway(format!("bad upstream uri: {e}"))),
    };
    strip_hop_by_hop(&mut parts.headers);
    // Host is re-derived from the upstream URI by the client.
    parts.headers.remove(header::HOST);
    parts.headers.remove("x-api-key");
    parts
        .headers
        .insert(header::AUTHORIZATION, ctx.auth.clone());
    match ctx.client.request(Request::from_parts(parts, body)).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Either::Left(body)))
        }
        Err(e) => Ok(bad_gateway(format!("upstream error: {e}"))),
    }
}

/// Serves until killed.
pub async fn serve(port: u16, upstream: String, token: String) -> anyhow::Result<()> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(std::time::Duration::from_secs(300))
        .build(connector);
    let ctx = Arc::new(Ctx {
        client,
        upstream: upstream.trim_end_matches('/').to_string(),
        auth: HeaderValue::from_str(&format!("Bearer {token}")).context("bad token")?,
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // A deep accept queue (tokio's `bind` leaves the kernel's 128), so the floor is not
    // limited by connect bursts.
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot bind {addr}"))?;
    let listener = socket.listen(4096)?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                eprintln!("null-proxy: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(ctx.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_gigachat_v1() {
        assert_eq!(map_path("/v1/chat/completions"), "/api/v1/chat/completions");
        assert_eq!(map_path("/v1/messages"), "/api/v1/chat/completions");
        assert_eq!(map_path("/v1/embeddings"), "/api/v1/embeddings");
        assert_eq!(map_path("/other"), "/other");
    }
}
