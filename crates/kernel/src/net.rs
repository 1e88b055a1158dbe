//! The client's address behind proxies.
//!
//! Rate limits and lockouts key on the client's address. Behind an ingress or a load balancer
//! the TCP peer is the proxy, so every citizen would share one bucket; but a forwarded header is
//! written by whoever sends the request, so it is believed only from a peer listed in
//! `PEKEN_TRUSTED_PROXIES`. Of the forwarded chain, the client is the rightmost address that is
//! not itself a trusted proxy: everything to its left was written by the client and may be
//! forged.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;

/// An address block, `10.0.0.0/8` or `fd00::/8` (a bare address is a block of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address that arrived as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The forwarded chain, client first: `Forwarded: for=…` when present, else `X-Forwarded-For`;
/// a hop that is not an address (`unknown`, an obfuscated name) is `None`.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    };
    let forwarded = values("forwarded");
    let hops: Vec<String> = if forwarded.is_empty() {
        values("x-forwarded-for")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| h.trim().to_owned())
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            })
            .collect()
    };
    hops.iter()
        .map(|hop| {
            // `[2001:db8::1]:4711`, `192.0.2.1:4711` or a bare address.
            let bare = hop
                .strip_prefix('[')
                .and_then(|h| h.split_once(']').map(|(a, _)| a))
                .unwrap_or(hop);
            bare.parse::<IpAddr>()
                .ok()
                .or_else(|| bare.rsplit_once(':').and_then(|(a, _)| a.parse().ok()))
                .map(canonical)
        })
        .collect()
}

/// The client's address for `peer` and `headers`, believing forwarded headers only from
/// `trusted` peers.
pub fn client_address_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Cidr]) -> String {
    let Some(peer) = peer.map(canonical) else {
        return "unknown".to_owned();
    };
    let is_trusted = |a: IpAddr| trusted.iter().any(|c| c.contains(a));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let chain = forwarded_chain(headers);
    // The rightmost hop that is no trusted proxy. If that hop is no address (a trusted proxy
    // wrote `unknown`), the peer stands for the client; hops further left are never read, so a
    // client gains nothing by writing junk or someone else's address there.
    match chain.iter().rev().find(|hop| !hop.is_some_and(is_trusted)) {
        Some(Some(client)) => client.to_string(),
        Some(None) => peer.to_string(),
        // Only trusted proxies: the first of them.
        None => chain.first().copied().flatten().unwrap_or(peer).to_string(),
    }
}

/// The client's address of a request, as the server's settings say to read it.
pub fn client_address(req: &HttpRequest) -> String {
    let trusted = req
        .app_data::<actix_web::web::Data<crate::AppState>>()
        .map(|s| s.settings.trusted_proxies.clone())
        .unwrap_or_default();
    client_address_of(req.peer_addr().map(|a| a.ip()), req.headers(), &trusted)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_contain_what_their_prefix_says() {
        let private = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(private.contains("10.1.2.3".parse().unwrap()));
        assert!(private.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!private.contains("11.0.0.1".parse().unwrap()));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "ten", "10.0.0.0/x", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_peers() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let forged = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(
            client_address_of(Some(ip("198.51.100.4")), &forged, &trusted),
            "198.51.100.4"
        );
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &forged, &[]),
            "10.0.0.2"
        );
        // From a trusted proxy: the rightmost hop that is not a trusted proxy.
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &forged, &trusted),
            "203.0.113.9"
        );
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &chain, &trusted),
            "203.0.113.9"
        );
        let split = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &split, &trusted),
            "203.0.113.9"
        );
        // RFC 7239 `Forwarded`, with ports and IPv6.
        let rfc = headers(&[(
            "forwarded",
            "for=1.2.3.4;proto=https, for=\"[2001:db8::7]:4711\";by=10.0.0.1",
        )]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &rfc, &trusted),
            "2001:db8::7"
        );
        // A chain of trusted proxies only: the first hop.
        let internal = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &internal, &trusted),
            "10.9.9.9"
        );
        // No header, or a hop that is no address: the peer.
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &headers(&[]), &trusted),
            "10.0.0.2"
        );
        let forged_left = headers(&[("x-forwarded-for", "unknown, 203.0.113.9")]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &forged_left, &trusted),
            "203.0.113.9"
        );
        let junk = headers(&[("x-forwarded-for", "203.0.113.9, unknown")]);
        assert_eq!(
            client_address_of(Some(ip("10.0.0.2")), &junk, &trusted),
            "10.0.0.2"
        );
    }
}
