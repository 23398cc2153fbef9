//! Address ranges the config names (`auth.trusted_proxies`): an address or a CIDR range.

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

    /// `::ffff:10.0.0.1` is `10.0.0.1` (a dual-stack listener reports IPv4 peers that way).
    pub fn canonical(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        }
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = Self::canonical(address);
        match (Self::canonical(self.network), address) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
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
}
