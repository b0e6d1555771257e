//! SSRF-safe downloads of client-supplied `http(s)` URLs.
//!
//! One `reqwest::Client` serves every download. Its DNS resolver ([`GuardedResolver`])
//! looks the host up itself and refuses the connection if *any* address is
//! non-public; the addresses it returns are the only ones the connector dials, so a
//! name cannot be re-resolved to something else between the check and the connect
//! (DNS rebinding). Literal IP hosts never reach a resolver, so they are checked
//! before the first request ([`check_url`]) and on every redirect hop by the redirect
//! policy, which also re-checks the scheme and caps the number of hops. Proxies from
//! the environment are disabled (a proxy would resolve the name where we cannot
//! check it), no cookies or credentials are ever sent, and bodies are read with a
//! running size cap under an overall deadline.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use url::{Host, Url};

use crate::error::ProxyError;

/// Whether an address is off-limits for downloads: anything but ordinary public
/// unicast (loopback, private, link-local incl. cloud metadata, CGNAT, unique-local,
/// unspecified, multicast, broadcast, documentation, benchmarking, reserved), and
/// IPv6 forms that embed such an IPv4 address (mapped, NAT64, 6to4).
pub(super) fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[(u32, u8)] = &[
        (0x0000_0000, 8),  // 0.0.0.0/8 "this network", incl. unspecified
        (0x0A00_0000, 8),  // 10.0.0.0/8 private
        (0x6440_0000, 10), // 100.64.0.0/10 CGNAT
        (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
        (0xA9FE_0000, 16), // 169.254.0.0/16 link-local, cloud metadata
        (0xAC10_0000, 12), // 172.16.0.0/12 private
        (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
        (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
        (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
        (0xC0A8_0000, 16), // 192.168.0.0/16 private
        (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
        (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
        (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
        (0xE000_0000, 4),  // 224.0.0.0/4 multicast
        (0xF000_0000, 4),  // 240.0.0.0/4 reserved, incl. 255.255.255.255 broadcast
    ];
    let a = u32::from(ip);
    BLOCKED.iter().any(|&(net, len)| {
        let mask = u32::MAX << (32 - u32::from(len));
        a & mask == net
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let a = u128::from(ip);
    let in_net = |net: u128, len: u32| a & (u128::MAX << (128 - len)) == net;
    let seg = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address in the low 32 bits.
    if in_net(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return forbidden_v4(Ipv4Addr::from(a as u32));
    }
    // 6to4 2002::/16 embeds one in bits 16..48.
    if seg[0] == 0x2002 {
        return forbidden_v4(Ipv4Addr::from(((a >> 80) & 0xFFFF_FFFF) as u32));
    }
    const BLOCKED: &[(u128, u32)] = &[
        (0, 96),                                         // ::/96: ::, ::1, IPv4-compatible
        (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48), // local-use NAT64
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // discard-only
        (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // IETF assignments, Teredo
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation
        (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // documentation (RFC 9637)
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // unique-local
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // link-local
        (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // site-local (deprecated)
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // multicast
    ];
    BLOCKED.iter().any(|&(net, len)| in_net(net, len))
}

/// Why a download was refused. Travels through reqwest's error chain (from the
/// resolver and the redirect policy) and is recovered by downcasting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The host is, or resolves to, a non-public address.
    Forbidden {
        host: String,
    },
    /// A scheme other than http/https (first URL or a redirect target).
    Scheme {
        scheme: String,
    },
    NoHost,
    TooManyRedirects {
        max: usize,
    },
    Dns {
        host: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Forbidden { host } => write!(
                f,
                "refusing to fetch an attachment from {host}: it is a private, loopback, \
                 link-local or otherwise non-public address"
            ),
            Refusal::Scheme { scheme } => write!(
                f,
                "unsupported attachment URL scheme {scheme:?}: only http, https and data URLs \
                 are accepted"
            ),
            Refusal::NoHost => f.write_str("the attachment URL has no host"),
            Refusal::TooManyRedirects { max } => write!(
                f,
                "fetching an attachment followed more than {max} redirects"
            ),
            Refusal::Dns { host } => write!(f, "cannot resolve the attachment host {host}"),
        }
    }
}

impl StdError for Refusal {}

/// What the guards enforce. Both are on in production; `allow_private_urls` turns
/// both off. Tests switch them separately to exercise each layer on loopback.
#[derive(Debug, Clone, Copy)]
pub(super) struct Guard {
    /// Refuse host names resolving to forbidden addresses (resolver layer).
    pub names: bool,
    /// Refuse literal forbidden IPs (pre-flight and redirect layer).
    pub literals: bool,
}

/// Checks a URL before it is requested (first URL and every redirect target): scheme,
/// presence of a host, and literal IPs.
pub(super) fn check_url(url: &Url, guard: Guard) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme {
            scheme: url.scheme().to_string(),
        });
    }
    let forbidden = match url.host() {
        None => return Err(Refusal::NoHost),
        Some(Host::Ipv4(ip)) => is_forbidden(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_forbidden(IpAddr::V6(ip)),
        Some(Host::Domain(_)) => false,
    };
    if forbidden && guard.literals {
        return Err(Refusal::Forbidden {
            host: host_label(url),
        });
    }
    Ok(())
}

/// The host (and port, if explicit) for messages and logs; never the path or query,
/// which may carry tokens.
pub(super) fn host_label(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => "(no host)".to_string(),
    }
}

/// DNS resolution with the address check built in; every connection of the download
/// client, redirect hops included, goes through it.
struct GuardedResolver {
    check: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let check = self.check;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(it) => it.collect(),
                Err(_) => Vec::new(),
            };
            if addrs.is_empty() {
                return Err(Box::new(Refusal::Dns { host }) as Box<dyn StdError + Send + Sync>);
            }
            if check && addrs.iter().any(|a| is_forbidden(a.ip())) {
                tracing::warn!(%host, "attachment host resolves to a non-public address");
                return Err(
                    Box::new(Refusal::Forbidden { host }) as Box<dyn StdError + Send + Sync>
                );
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Builds the shared download client.
pub(super) fn build_client(
    guard: Guard,
    max_redirects: usize,
    timeout: Duration,
) -> Result<reqwest::Client, ProxyError> {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds the URLs already requested, starting with the first one,
        // so its length is the number of this hop.
        if attempt.previous().len() > max_redirects {
            return attempt.error(Refusal::TooManyRedirects { max: max_redirects });
        }
        match check_url(attempt.url(), guard) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { check: guard.names }))
        .redirect(policy)
        .no_proxy()
        .referer(false)
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!(
            "gpt2giga-rs/",
            env!("CARGO_PKG_VERSION"),
            " (attachment fetcher)"
        ))
        .build()
        .map_err(|e| ProxyError::Internal(format!("cannot build the download client: {e}")))
}

/// A downloaded body and its `Content-Type`.
pub(super) struct Download {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

/// Downloads `url` (already checked with [`check_url`]) with a running size cap and an
/// overall deadline. `what` names the part in error messages; `cap_label` explains
/// the cap (e.g. "the 15 MiB limit for images").
pub(super) async fn download(
    http: &reqwest::Client,
    url: &Url,
    cap: u64,
    timeout: Duration,
    what: &str,
    cap_label: &str,
) -> Result<Download, ProxyError> {
    let host = host_label(url);
    let param = what.to_string();
    let work = async {
        let mut resp = http
            .get(url.clone())
            .header(http::header::ACCEPT, "*/*")
            .send()
            .await
            .map_err(|e| request_error(&e, &host, timeout, &param))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ProxyError::invalid_param(
                format!("fetching the attachment in {what} from {host} failed: HTTP {status}"),
                param.clone(),
            ));
        }
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let too_large = || {
            ProxyError::PayloadTooLarge(format!(
                "the attachment in {what} (from {host}) exceeds {cap_label}"
            ))
        };
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        let initial = resp
            .content_length()
            .unwrap_or(64 * 1024)
            .min(cap)
            .min(1 << 20);
        let mut buf = BytesMut::with_capacity(usize::try_from(initial).unwrap_or(0));
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| request_error(&e, &host, timeout, &param))?
        {
            if (buf.len() + chunk.len()) as u64 > cap {
                // Dropping the response closes the connection mid-body.
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Download {
            bytes: buf.freeze(),
            content_type,
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(what, &host, timeout)),
    }
}

fn timed_out(what: &str, host: &str, timeout: Duration) -> ProxyError {
    ProxyError::invalid_param(
        format!(
            "fetching the attachment in {what} from {host} timed out after {}s",
            timeout.as_secs_f64()
        ),
        what,
    )
}

/// Maps a reqwest failure to a client error that names the host but never the URL.
fn request_error(e: &reqwest::Error, host: &str, timeout: Duration, what: &str) -> ProxyError {
    if let Some(refusal) = find_refusal(e) {
        return ProxyError::invalid_param(format!("{what}: {refusal}"), what);
    }
    if e.is_timeout() {
        return timed_out(what, host, timeout);
    }
    let reason = if e.is_redirect() {
        "a redirect could not be followed"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the response body broke off"
    } else {
        "request failed"
    };
    ProxyError::invalid_param(
        format!("cannot fetch the attachment in {what} from {host}: {reason}"),
        what,
    )
}

fn find_refusal(e: &reqwest::Error) -> Option<Refusal> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_classification() {
        for (ip, forbidden) in [
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("10.0.0.1", true),
            ("10.255.255.255", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("127.0.0.1", true),
            ("127.10.0.1", true),
            ("169.254.169.254", true),
            ("172.15.255.255", false),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.0.0.8", true),
            ("192.0.2.1", true),
            ("192.168.1.1", true),
            ("198.18.0.1", true),
            ("198.51.100.7", true),
            ("203.0.113.9", true),
            ("224.0.0.1", true),
            ("239.255.255.250", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("1.1.1.1", false),
            ("93.184.216.34", false),
            ("192.169.0.1", false),
            ("11.0.0.1", false),
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            assert_eq!(is_forbidden(addr), forbidden, "{ip}");
        }
    }

    #[test]
    fn ipv6_classification() {
        for (ip, forbidden) in [
            ("::", true),
            ("::1", true),
            ("::127.0.0.1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.1.2.3", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:8.8.8.8", false),
            ("64:ff9b::a9fe:a9fe", true),
            ("64:ff9b::808:808", false),
            ("64:ff9b:1::1", true),
            ("2002:7f00:1::1", true),
            ("2002:0808:0808::1", false),
            ("2001::1", true),
            ("2001:db8::1", true),
            ("3fff::1", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("100::1", true),
            ("2606:4700:4700::1111", false),
            ("2a00:1450:4001:81d::200e", false),
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            assert_eq!(is_forbidden(addr), forbidden, "{ip}");
        }
    }

    const STRICT: Guard = Guard {
        names: true,
        literals: true,
    };

    #[test]
    fn url_precheck() {
        for (u, ok) in [
            ("http://127.0.0.1/x", false),
            ("http://10.0.0.1/x", false),
            ("http://169.254.169.254/latest/meta-data/", false),
            ("http://[::1]:8080/x", false),
            ("http://[::ffff:7f00:1]/x", false),
            ("http://2130706433/x", false),
            ("http://0x7f.1/x", false),
            ("http://0/x", false),
            ("https://8.8.8.8/x.png", true),
            ("https://example.com/x.png", true),
            ("ftp://example.com/x.png", false),
            ("file:///etc/passwd", false),
            ("gopher://example.com/", false),
        ] {
            let url = Url::parse(u).unwrap();
            assert_eq!(check_url(&url, STRICT).is_ok(), ok, "{u}");
        }
        let open = Guard {
            names: false,
            literals: false,
        };
        assert!(check_url(&Url::parse("http://127.0.0.1/").unwrap(), open).is_ok());
        assert!(check_url(&Url::parse("file:///etc/passwd").unwrap(), open).is_err());
    }

    #[test]
    fn host_label_hides_path_and_query() {
        let url = Url::parse("https://user:pw@cdn.example.com:8443/a/b.png?token=secret").unwrap();
        assert_eq!(host_label(&url), "cdn.example.com:8443");
    }
}
