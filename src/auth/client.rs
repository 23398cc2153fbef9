//! Who the client is: its socket address, or the address a trusted reverse proxy forwarded.

use std::net::IpAddr;

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    pub fn parse(text: &str) -> Option<AddressRange> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= bits)?,
            None => bits,
        };
        Some(AddressRange { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (canonical(self.network), address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => same_prefix(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(a)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                same_prefix(u128::from(net), u128::from(a), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
    a & mask == b & mask
}

/// `::ffff:10.0.0.1` is `10.0.0.1` (a dual-stack listener reports IPv4 peers that way).
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

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
        return Some(canonical(peer));
    }
    let hops = forwarded_for.iter().flat_map(|header| header.split(',')).map(str::trim);
    let hops: Vec<&str> = hops.collect();
    let mut nearest = canonical(peer);
    for hop in hops.iter().rev() {
        // Garbage in the header ends the trusted chain: what is left of it is unknown.
        let Ok(address) = hop.parse::<IpAddr>() else { return Some(nearest) };
        nearest = canonical(address);
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
    fn ranges_parse_and_contain() {
        let private = AddressRange::parse("10.0.0.0/8").unwrap();
        assert!(private.contains(ip("10.1.2.3")));
        assert!(private.contains(ip("::ffff:10.1.2.3")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(AddressRange::parse("192.0.2.7").unwrap().contains(ip("192.0.2.7")));
        assert!(!AddressRange::parse("192.0.2.7").unwrap().contains(ip("192.0.2.8")));
        assert!(AddressRange::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(AddressRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "proxy.local", "10.0.0.0/x", "::/129"] {
            assert_eq!(AddressRange::parse(bad), None, "{bad:?}");
        }
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
