//! Who the client is: its socket address, or the address a trusted reverse proxy forwarded.

use std::net::IpAddr;

use crate::config::AddressRange;

/// The client's address: the socket's peer, unless that peer is a trusted proxy — then the
/// nearest address in `X-Forwarded-For` (read right to left) that is not one of the trusted
/// proxies. Entries a client wrote itself sit left of those and are never taken.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[AddressRange],
) -> Option<IpAddr> {
    let is_trusted = |a: IpAddr| trusted.iter().any(|range| range.contains(a));
    let peer = peer?;
    if !is_trusted(peer) {
        return Some(AddressRange::canonical(peer));
    }
    let hops = forwarded_for.iter().flat_map(|header| header.split(',')).map(str::trim);
    let hops: Vec<&str> = hops.collect();
    let mut nearest = AddressRange::canonical(peer);
    for hop in hops.iter().rev() {
        // Garbage in the header ends the trusted chain: what is left of it is unknown.
        let Ok(address) = hop.parse::<IpAddr>() else { return Some(nearest) };
        nearest = AddressRange::canonical(address);
        if !is_trusted(nearest) {
            break;
        }
    }
    Some(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn ranges(texts: &[&str]) -> Vec<AddressRange> {
        texts.iter().map(|t| AddressRange::parse(t).unwrap()).collect()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = ranges(&["127.0.0.1", "10.0.0.0/8"]);
        let direct = client_address(Some(ip("198.51.100.9")), &["203.0.113.1"], &trusted);
        assert_eq!(direct, Some(ip("198.51.100.9")), "a client cannot claim another address");
        let proxied = client_address(Some(ip("127.0.0.1")), &["203.0.113.1"], &trusted);
        assert_eq!(proxied, Some(ip("203.0.113.1")));
        // The client wrote "1.1.1.1" itself; the proxies appended what they saw.
        let chain =
            client_address(Some(ip("10.0.0.2")), &["1.1.1.1, 203.0.113.5", "10.0.0.3"], &trusted);
        assert_eq!(chain, Some(ip("203.0.113.5")));
        let garbage = client_address(Some(ip("127.0.0.1")), &["evil, 10.0.0.4"], &trusted);
        assert_eq!(garbage, Some(ip("10.0.0.4")), "the last address before the garbage");
        let no_header = client_address(Some(ip("127.0.0.1")), &[], &trusted);
        assert_eq!(no_header, Some(ip("127.0.0.1")));
        let nobody_trusted = client_address(Some(ip("127.0.0.1")), &["203.0.113.1"], &[]);
        assert_eq!(nobody_trusted, Some(ip("127.0.0.1")));
    }
}
