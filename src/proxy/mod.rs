//! The reverse proxy.

/// An address range whose forwarding headers are trusted.
#[derive(Clone, Copy, Debug)]
pub struct PeerRange;

impl PeerRange {
    pub fn parse(text: &str) -> Result<PeerRange, String> {
        let _ = text;
        todo!("peer ranges")
    }
}
