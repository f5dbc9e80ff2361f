//! Reverse-proxy headers: `--trusted-proxies` ranges, and who the client is and whether it
//! came over HTTPS, from the peer address and its `X-Forwarded-For` / `X-Forwarded-Proto`.
//!
//! Input lines: the `--trusted-proxies` text, the peer address, `tls` or anything else,
//! then header lines `name: value`.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use trifecta::web::proxy::{ProxyArgs, TrustedProxies, client_info};

/// Checks one request's worth of proxy input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let ranges = lines.next().unwrap_or("");
    let trusted = match ranges.parse::<TrustedProxies>() {
        Ok(trusted) => trusted,
        Err(err) => {
            // A refusal names the entry to fix.
            assert!(
                err.to_string()
                    .contains("is not an IP address or CIDR range")
            );
            return;
        }
    };
    let peer: Option<IpAddr> = lines.next().and_then(|l| l.trim().parse().ok());
    let tls = lines.next().is_some_and(|l| l.trim() == "tls");
    let mut headers = HeaderMap::new();
    let mut forwarded_for = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) else {
            continue;
        };
        if name == "x-forwarded-for" {
            forwarded_for.push(value.to_str().unwrap_or("").to_owned());
        }
        headers.append(name, value);
    }
    for assume_ssl in [false, true] {
        let args = ProxyArgs {
            trusted_proxies: trusted.clone(),
            assume_ssl,
        };
        let info = client_info(&args, peer, tls, &headers);
        let bare = client_info(&args, peer, tls, &HeaderMap::new());
        let peer = peer.map(|p| p.to_canonical());
        assert_eq!(info.via_proxy, peer.is_some_and(|p| trusted.contains(p)));
        assert!(!tls || info.https, "TLS terminated here is always HTTPS");
        assert!(
            !assume_ssl || info.https,
            "--assume-ssl makes every request HTTPS"
        );
        if !info.via_proxy {
            // The security invariant: an untrusted peer's headers change nothing.
            assert_eq!(info, bare, "headers of an untrusted peer were believed");
            assert_eq!(info.addr, peer);
            continue;
        }
        // Behind a trusted proxy the client is the peer or an address it forwarded.
        let addr = info.addr.expect("a trusted peer has an address");
        let forwarded = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .any(|entry| {
                let entry = entry.trim();
                entry.contains(&addr.to_string())
                    || entry
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.to_canonical() == addr)
            });
        assert!(
            Some(addr) == peer || forwarded,
            "client {addr} is neither the peer nor a forwarded address"
        );
    }
}
