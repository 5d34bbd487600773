//! Trusted peer ranges: the addresses whose `X-Forwarded-*` and `Forwarded`
//! headers the proxy keeps and appends to.
//!
//! Parsing and matching come from `ipnet`. The one Footprint-specific rule is
//! that an IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`, as a dual-stack listener
//! reports IPv4 clients) matches the IPv4 ranges.

use std::net::IpAddr;

use ipnet::IpNet;

/// An IPv4 or IPv6 address range whose forwarding headers are trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerRange(IpNet);

impl PeerRange {
    /// Parses a single address (`10.0.0.1`, `::1`) or a CIDR range
    /// (`10.0.0.0/8`, `fd00::/8`). Host bits set in a range are ignored, so
    /// `10.1.2.3/8` means `10.0.0.0/8`.
    pub fn parse(text: &str) -> Result<PeerRange, String> {
        let text = text.trim();

        if let Ok(address) = text.parse::<IpAddr>() {
            return Ok(PeerRange(IpNet::from(address)));
        }

        text.parse::<IpNet>().map(|range| PeerRange(range.trunc())).map_err(|_| {
            format!("expected an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8, found `{text}`")
        })
    }

    /// Returns true when `address` lies in the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn single_address_matches_only_itself() {
        let range = PeerRange::parse("10.0.0.1").expect("valid");
        assert!(range.contains(ip("10.0.0.1")));
        assert!(!range.contains(ip("10.0.0.2")));
    }

    #[test]
    fn ipv4_range_matches_its_addresses() {
        let range = PeerRange::parse("192.168.0.0/16").expect("valid");
        assert!(range.contains(ip("192.168.200.7")));
        assert!(!range.contains(ip("192.169.0.1")));
    }

    #[test]
    fn ipv6_range_matches_its_addresses() {
        let range = PeerRange::parse("fd00::/8").expect("valid");
        assert!(range.contains(ip("fd12:3456::1")));
        assert!(!range.contains(ip("fe80::1")));
        assert!(!range.contains(ip("10.0.0.1")));
    }

    #[test]
    fn ipv4_mapped_peer_matches_ipv4_range() {
        let range = PeerRange::parse("10.0.0.0/8").expect("valid");
        assert!(range.contains(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn host_bits_are_ignored() {
        let range = PeerRange::parse("10.1.2.3/8").expect("valid");
        assert!(range.contains(ip("10.200.0.1")));
    }

    #[test]
    fn parse_rejects_invalid_text() {
        for text in ["", "10.0.0", "10.0.0.0/33", "::1/129", "example.com", "10.0.0.0/8/8"] {
            let error = PeerRange::parse(text).expect_err(text);
            assert!(error.contains("expected an IP address"), "{text}: {error}");
        }
    }
}
