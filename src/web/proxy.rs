//! Reverse proxies (Rails' `trusted_proxies` and `assume_ssl`, Thruster's forwarded
//! headers): who the client is and whether it reached us over HTTPS, decided once per
//! request by the [`resolve`] middleware and kept as the [`ClientInfo`] extension.
//!
//! A peer inside `--trusted-proxies` is a proxy: the client is the right-most
//! `X-Forwarded-For` entry that is not itself a trusted proxy, and its `X-Forwarded-Proto`
//! names the scheme. Any other peer is the client, and the forwarded headers it sent are
//! removed before anything reads them. A request is HTTPS when it came over TLS that this
//! server terminated, when a trusted proxy says `https`, or always with `--assume-ssl`. Then
//! every cookie of the response is `Secure` and HSTS is sent (Rails' `force_ssl` does the
//! same to the cookies of a response). `X-Forwarded-Proto` is rewritten to the decision, so
//! the engines that cannot see this module (Inertia's full URLs, ActionCable's origin check)
//! read the scheme from that header.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use clap::Args;
use ipnet::IpNet;

/// The ranges trusted by default, as Rails' `ActionDispatch::RemoteIp::TRUSTED_PROXIES`:
/// loopback, the private ranges and link-local addresses.
pub const DEFAULT_TRUSTED: &str = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,\
169.254.0.0/16,fc00::/7,fe80::/10";

/// The HSTS policy sent on HTTPS responses: two years, as Rails' default.
const HSTS: &str = "max-age=63072000";

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers only a trusted proxy may send; removed from requests of any other peer.
const FORWARDED: [&str; 6] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "forwarded",
    "x-request-id",
];

/// Reverse-proxy settings of `trifecta serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct ProxyArgs {
    /// Peers whose `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Request-Id` are believed:
    /// comma-separated addresses or CIDR ranges, or `none`. Default: loopback, private and
    /// link-local ranges (as Rails).
    #[arg(long, env = "TRIFECTA_TRUSTED_PROXIES", default_value = DEFAULT_TRUSTED)]
    pub trusted_proxies: TrustedProxies,
    /// Treat every request as HTTPS (behind a TLS-terminating proxy that sends no
    /// `X-Forwarded-Proto`): cookies are `Secure` and HSTS is sent.
    #[arg(long, env = "TRIFECTA_ASSUME_SSL")]
    pub assume_ssl: bool,
}

/// The `--trusted-proxies` ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self(
            DEFAULT_TRUSTED
                .split(',')
                .filter_map(|s| net(s).ok())
                .collect(),
        )
    }
}

/// A `--trusted-proxies` entry that is neither an address nor a CIDR range.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range (such as 10.0.0.0/8 or fd00::/8)")]
pub struct BadRange(String);

impl FromStr for TrustedProxies {
    type Err = BadRange;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() || s.trim().eq_ignore_ascii_case("none") {
            return Ok(Self(Vec::new()));
        }
        s.split(',').map(net).collect::<Result<_, _>>().map(Self)
    }
}

fn net(text: &str) -> Result<IpNet, BadRange> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| BadRange(text.to_owned()))
}

/// Marks a request that arrived over TLS this server terminated (set by the accept loop).
#[derive(Clone, Copy, Debug)]
pub struct TlsConnection;

/// Who sent a request and how, decided once by [`resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (unknown only when the server has no peer address).
    pub addr: Option<IpAddr>,
    /// The client reached us over HTTPS (here or at a trusted proxy), or `--assume-ssl`.
    pub https: bool,
    /// The peer is a trusted proxy, so its forwarded headers (and request id) count.
    pub via_proxy: bool,
}

/// Middleware around every request: computes [`ClientInfo`], removes forwarded headers of
/// untrusted peers and sets `X-Forwarded-Proto` to the decided scheme; on HTTPS, flags
/// every cookie of the response `Secure` and adds HSTS.
pub async fn resolve(
    State(args): State<Arc<ProxyArgs>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let tls = request.extensions().get::<TlsConnection>().is_some();
    let info = client_info(&args, peer, tls, request.headers());
    let headers = request.headers_mut();
    if !info.via_proxy {
        for name in FORWARDED {
            headers.remove(name);
        }
    }
    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if info.https { "https" } else { "http" }),
    );
    request.extensions_mut().insert(info);
    let mut response = next.run(request).await;
    if info.https {
        secure_cookies(response.headers_mut());
        response
            .headers_mut()
            .entry(STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
    response
}

/// The decision for one request from `peer` (after TLS if `tls`) with `headers`.
pub fn client_info(
    args: &ProxyArgs,
    peer: Option<IpAddr>,
    tls: bool,
    headers: &HeaderMap,
) -> ClientInfo {
    // An IPv4 client of a dual-stack listener is `::ffff:a.b.c.d`; ranges are written IPv4.
    let peer = peer.map(|p| p.to_canonical());
    let via_proxy = peer.is_some_and(|p| args.trusted_proxies.contains(p));
    let addr = match peer {
        Some(peer) if via_proxy => Some(forwarded_client(peer, headers, &args.trusted_proxies)),
        other => other,
    };
    let forwarded_https = via_proxy && forwarded_proto(headers).is_some_and(|p| p == "https");
    ClientInfo {
        addr,
        https: tls || args.assume_ssl || forwarded_https,
        via_proxy,
    }
}

/// The client behind trusted proxy `peer`: walking `X-Forwarded-For` from the right (the
/// entries our own proxies appended), the first address that is not a trusted proxy. When
/// every entry is trusted, the left-most valid one; an unreadable entry ends the walk there,
/// as everything to its left was written by someone we cannot vouch for.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = forwarded_ip(entry) else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) or in brackets.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
        .map(|ip| ip.to_canonical())
}

/// The scheme the nearest proxy reports: the last `X-Forwarded-Proto` value (as Rack reads
/// it), lower-cased.
fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(X_FORWARDED_PROTO)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Adds `Secure` to every `Set-Cookie` of `headers` that lacks it.
fn secure_cookies(headers: &mut HeaderMap) {
    if headers.get_all(SET_COOKIE).iter().all(is_secure) {
        return;
    }
    let cookies: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            if is_secure(value) {
                return value.clone();
            }
            let mut bytes = value.as_bytes().to_vec();
            bytes.extend_from_slice(b"; Secure");
            HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| value.clone())
        })
        .collect();
    headers.remove(SET_COOKIE);
    for cookie in cookies {
        headers.append(SET_COOKIE, cookie);
    }
}

fn is_secure(cookie: &HeaderValue) -> bool {
    cookie
        .as_bytes()
        .split(|b| *b == b';')
        .skip(1)
        .any(|attr| attr.trim_ascii().eq_ignore_ascii_case(b"secure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(trusted: &str, peer: &str, xff: &[&str], proto: Option<&str>) -> ClientInfo {
        let args = ProxyArgs {
            trusted_proxies: trusted.parse().expect("ranges"),
            assume_ssl: false,
        };
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(v).expect("value"));
        }
        if let Some(p) = proto {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_str(p).expect("value"));
        }
        client_info(&args, Some(peer.parse().expect("peer")), false, &headers)
    }

    fn addr(i: ClientInfo) -> String {
        i.addr.map(|a| a.to_string()).unwrap_or_default()
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let d = DEFAULT_TRUSTED;
        assert_eq!(
            addr(info(d, "10.0.0.2", &["203.0.113.9"], None)),
            "203.0.113.9"
        );
        // A spoofed left-most entry is ignored: the proxy appended the real peer.
        assert_eq!(
            addr(info(
                d,
                "10.0.0.2",
                &["1.1.1.1, 203.0.113.9, 10.0.0.1"],
                None
            )),
            "203.0.113.9"
        );
        // Several header lines read as one list.
        assert_eq!(
            addr(info(d, "10.0.0.2", &["1.1.1.1", "203.0.113.9:5555"], None)),
            "203.0.113.9"
        );
        // Everything trusted: the left-most entry.
        assert_eq!(
            addr(info(d, "127.0.0.1", &["192.168.1.7, 10.0.0.1"], None)),
            "192.168.1.7"
        );
        // An unreadable entry stops the walk at the last address we could vouch for.
        assert_eq!(
            addr(info(d, "127.0.0.1", &["1.1.1.1, junk, 10.0.0.1"], None)),
            "10.0.0.1"
        );
        assert_eq!(
            addr(info(d, "::ffff:127.0.0.1", &["[2001:db8::1]"], None)),
            "2001:db8::1"
        );
        assert_eq!(addr(info(d, "127.0.0.1", &[], None)), "127.0.0.1");
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_send() {
        let i = info("10.0.0.0/8", "127.0.0.1", &["203.0.113.9"], Some("https"));
        assert_eq!(addr(i), "127.0.0.1");
        assert!(!i.https && !i.via_proxy);
        let i = info("none", "10.0.0.1", &["203.0.113.9"], Some("https"));
        assert_eq!(addr(i), "10.0.0.1");
        assert!(!i.https);
    }

    #[test]
    fn the_nearest_proxys_scheme_counts() {
        let d = DEFAULT_TRUSTED;
        assert!(info(d, "127.0.0.1", &[], Some("https")).https);
        assert!(info(d, "127.0.0.1", &[], Some("http, HTTPS")).https);
        assert!(!info(d, "127.0.0.1", &[], Some("https, http")).https);
        assert!(!info(d, "127.0.0.1", &[], None).https);
    }

    #[test]
    fn ranges_parse_or_say_what_is_wrong() {
        let t: TrustedProxies = "10.0.0.0/8, 192.0.2.7 ,fd00::/8".parse().expect("ranges");
        assert!(t.contains("10.9.9.9".parse().expect("ip")));
        assert!(t.contains("192.0.2.7".parse().expect("ip")));
        assert!(!t.contains("192.0.2.8".parse().expect("ip")));
        let err = "10.0.0.0/8,nonsense"
            .parse::<TrustedProxies>()
            .expect_err("invalid");
        assert!(err.to_string().contains("\"nonsense\""), "{err}");
        assert_eq!(TrustedProxies::default().0.len(), 8);
    }

    #[test]
    fn cookies_become_secure_once() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("b=2; Secure; HttpOnly"),
        );
        secure_cookies(&mut h);
        let all: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .collect();
        assert_eq!(all, ["a=1; Path=/; Secure", "b=2; Secure; HttpOnly"]);
    }
}
