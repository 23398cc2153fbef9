//! Where notices may go: webhook and SMTP targets are resolved, and refused when an address is
//! loopback, link-local (cloud metadata at 169.254.169.254), private or otherwise internal,
//! unless `alerts.allow_private_targets` lets them through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Whether an address is one a notice may be sent to when private targets are not allowed.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [first, second, ..] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || first == 0
        // Carrier-grade NAT (100.64.0.0/10) and benchmarking (198.18.0.0/15).
        || (first == 100 && (64..128).contains(&second))
        || (first == 198 && (18..20).contains(&second))
        || first >= 240)
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let segments = a.segments();
    let first = segments[0];
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    // Addresses that carry an IPv4 one reach it: NAT64 (64:ff9b::/96), 6to4 (2002::/16) and the
    // old IPv4-compatible ::/96. Local-use NAT64 (64:ff9b:1::/48) is internal by definition.
    let carried = match segments {
        [0x64, 0xff9b, 1, ..] => return false,
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(embedded(high, low)),
        [0x2002, high, low, ..] => Some(embedded(high, low)),
        [0, 0, 0, 0, 0, 0, high, low] if high != 0 => Some(embedded(high, low)),
        _ => None,
    };
    if let Some(v4) = carried {
        return is_public_v4(v4);
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        // Unique local (fc00::/7), link-local (fe80::/10), documentation (2001:db8::/32).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Site-local (fec0::/10), deprecated but still routed inside some networks.
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && a.segments()[1] == 0x0db8))
}

/// The policy notices are sent under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Refuses `address` unless it is public or private targets are allowed.
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), String> {
        if self.allow_private || is_public(address) {
            return Ok(());
        }
        Err(format!(
            "{host} is an internal address ({address}); notices go to public addresses only \
             unless alerts.allow_private_targets = true"
        ))
    }

    /// Resolves `host` and returns its addresses, every one checked: one internal address is
    /// enough to refuse (a name that answers both could be rebound between two lookups).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(format!("{host} has no address"));
        }
        for address in &addresses {
            self.check(host, address.ip())?;
        }
        Ok(addresses)
    }
}

/// The webhook client's resolver: every name it connects to passes [`TargetPolicy::resolve`],
/// so the address checked is the address used.
#[derive(Debug, Clone)]
pub struct CheckedResolver(pub TargetPolicy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let addresses = policy
                .resolve(name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// The resolver as reqwest takes it.
pub fn resolver(policy: TargetPolicy) -> Arc<CheckedResolver> {
    Arc::new(CheckedResolver(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "::10.0.0.1",
            "fec0::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "100.128.0.1",
            "172.32.0.1",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[tokio::test]
    async fn names_are_checked_after_they_resolve() {
        let strict = TargetPolicy { allow_private: false };
        let refused = strict.resolve("localhost", 25).await.unwrap_err();
        assert!(refused.contains("allow_private_targets"), "{refused}");
        let literal = strict.resolve("169.254.169.254", 80).await.unwrap_err();
        assert!(literal.contains("internal address"), "{literal}");
        let bracketed = strict.resolve("[::1]", 80).await.unwrap_err();
        assert!(bracketed.contains("internal address"), "{bracketed}");
        let open = TargetPolicy { allow_private: true };
        assert_eq!(
            open.resolve("127.0.0.1", 25).await.unwrap(),
            vec!["127.0.0.1:25".parse().unwrap()]
        );
    }
}
