//! IP ranges for the `IpAddress` / `NotIpAddress` condition operators: IPv4 and IPv6 CIDR blocks,
//! where a bare address means a /32 or /128 block. Host bits set in the block (`10.1.2.3/8`) are
//! ignored, as a mask would ignore them.
//!
//! This is not a network library; it answers one question, "is this address in this block", and
//! treats an IPv4-mapped IPv6 request address as its IPv4 form.

use std::net::IpAddr;

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a, Some(p.parse::<u8>().ok()?))
            }
            None => (text, None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        Some(Cidr { network, prefix })
    }

    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .filter(|_| self.network.is_ipv4())
                .map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.network, addr) {
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

/// Parse a request address (a bare IPv4 or IPv6 address, no prefix).
pub(crate) fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(block: &str, addr: &str) -> bool {
        let (Some(b), Some(a)) = (Cidr::parse(block), parse_address(addr)) else {
            return false;
        };
        b.contains(a)
    }

    #[test]
    fn v4_and_v6() {
        assert!(within("203.0.113.0/24", "203.0.113.77"));
        assert!(!within("203.0.113.0/24", "203.0.114.1"));
        assert!(within("0.0.0.0/0", "8.8.8.8"));
        assert!(within("10.1.2.3/8", "10.200.0.1"));
        assert!(within("192.0.2.1", "192.0.2.1"));
        assert!(!within("192.0.2.1", "192.0.2.2"));
        assert!(within("2001:db8::/32", "2001:db8:1::5"));
        assert!(!within("2001:db8::/32", "2001:db9::1"));
        assert!(!within("2001:db8::/32", "10.0.0.1"));
        assert!(within("10.0.0.0/8", "::ffff:10.1.1.1"));
    }

    #[test]
    fn invalid_blocks() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "::/129",
            "x",
            "10.0.0.0/-1",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
