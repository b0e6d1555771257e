//! mTLS against a real TLS server that demands a client certificate: plain and
//! password-protected keys, a custom CA bundle, `verify_ssl_certs=false`, and refusal
//! without a certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use gigachat::types::v1;
use gigachat::{Client, ClientConfig, Error, RequestContext, Secret};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pkcs8::der::pem::LineEnding;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

const ANSWER: &str = r#"{"choices":[{"message":{"content":"over mTLS","role":"assistant"},"index":0,"finish_reason":"stop"}],"created":1,"model":"GigaChat:1","object":"chat.completion","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"precached_prompt_tokens":0}}"#;

struct Pki {
    dir: tempfile::TempDir,
    server: Arc<rustls::ServerConfig>,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();

    write(dir.path(), "ca.pem", &ca.pem());
    write(dir.path(), "client.pem", &client.pem());
    write(dir.path(), "client.key", &client_key.serialize_pem());
    let info = pkcs8::PrivateKeyInfo::try_from(client_key.serialized_der()).unwrap();
    let encrypted = info.encrypt(rand_core::OsRng, b"hunter2").unwrap();
    let encrypted_pem = encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .unwrap();
    write(dir.path(), "client-enc.key", &encrypted_pem);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    Pki {
        dir,
        server: Arc::new(server),
    }
}

/// A TLS server on 127.0.0.1 answering every request with [`ANSWER`]; counts requests
/// that carried an `Authorization` header.
async fn serve(config: Arc<rustls::ServerConfig>) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let with_auth = Arc::new(AtomicUsize::new(0));
    let counter = with_auth.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    if req.headers().contains_key("authorization") {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json; charset=utf-8")
                                .body(Full::new(Bytes::from_static(ANSWER.as_bytes())))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (port, with_auth)
}

fn hello() -> v1::ChatRequest {
    v1::ChatRequest {
        model: "GigaChat".into(),
        messages: vec![v1::Message::new(v1::Role::User, "Hi")],
        ..Default::default()
    }
}

fn config(pki: &Pki, port: u16) -> ClientConfig {
    ClientConfig {
        base_url: format!("https://localhost:{port}/api/v1"),
        ca_bundle_file: Some(pki.path("ca.pem")),
        cert_file: Some(pki.path("client.pem")),
        key_file: Some(pki.path("client.key")),
        ..Default::default()
    }
}

#[tokio::test]
async fn client_certificate_with_plain_and_encrypted_keys() {
    let pki = pki();
    let (port, with_auth) = serve(pki.server.clone()).await;
    let ctx = RequestContext::default();

    let plain = Client::new(config(&pki, port)).unwrap();
    let r = plain.chat(&hello(), &ctx).await.unwrap();
    assert_eq!(r.choices[0].message.content.as_deref(), Some("over mTLS"));

    let encrypted = Client::new(ClientConfig {
        key_file: Some(pki.path("client-enc.key")),
        key_file_password: Some(Secret::new("hunter2")),
        ..config(&pki, port)
    })
    .unwrap();
    encrypted.chat(&hello(), &ctx).await.unwrap();

    // mTLS without credentials sends no Authorization header at all.
    assert_eq!(with_auth.load(Ordering::SeqCst), 0);

    // Development mode: no CA bundle, verification off.
    let insecure = Client::new(ClientConfig {
        ca_bundle_file: None,
        verify_ssl_certs: false,
        ..config(&pki, port)
    })
    .unwrap();
    insecure.chat(&hello(), &ctx).await.unwrap();
}

#[tokio::test]
async fn refusals() {
    let pki = pki();
    let (port, _) = serve(pki.server.clone()).await;
    let ctx = RequestContext::default();

    // No client certificate: the handshake is refused.
    let anonymous = Client::new(ClientConfig {
        cert_file: None,
        key_file: None,
        ..config(&pki, port)
    })
    .unwrap();
    assert!(matches!(
        anonymous.chat(&hello(), &ctx).await,
        Err(Error::Connect(_))
    ));

    // Server not trusted without the CA bundle.
    let untrusted = Client::new(ClientConfig {
        ca_bundle_file: None,
        ..config(&pki, port)
    })
    .unwrap();
    assert!(matches!(
        untrusted.chat(&hello(), &ctx).await,
        Err(Error::Connect(_))
    ));

    // Wrong or missing password for an encrypted key: a configuration error at start-up.
    let wrong = Client::new(ClientConfig {
        key_file: Some(pki.path("client-enc.key")),
        key_file_password: Some(Secret::new("nope")),
        ..config(&pki, port)
    });
    assert!(matches!(wrong, Err(Error::Config(_))), "{wrong:?}");
    let missing = Client::new(ClientConfig {
        key_file: Some(pki.path("client-enc.key")),
        ..config(&pki, port)
    });
    assert!(matches!(missing, Err(Error::Config(ref m)) if m.contains("key_file_password")));
    let half = Client::new(ClientConfig {
        key_file: None,
        ..config(&pki, port)
    });
    assert!(matches!(half, Err(Error::Config(_))));
}
