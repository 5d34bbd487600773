//! Protocol upgrades (WebSocket): after the upstream responds with `101 Switching
//! Protocols`, the two connections are joined into a byte tunnel.
//!
//! The tunnel runs in its own task, outside hyper, until either side
//! closes. The proxy does not look at the tunnelled bytes.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::Instrument;

/// Joins the client and upstream connections once both have switched protocols.
///
/// NOTE: tunnels are not tracked by graceful shutdown, so an open WebSocket
/// lasts until either side closes it or the process exits.
pub(crate) fn spawn_tunnel(client: OnUpgrade, upstream: OnUpgrade) {
    let tunnel = async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "protocol upgrade failed");
                return;
            }
        };

        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            Ok((sent, received)) => tracing::debug!(bytes.sent = sent, bytes.received = received, "tunnel closed"),
            Err(error) => tracing::debug!(%error, "tunnel closed with an error"),
        }
    };

    tokio::spawn(tunnel.in_current_span());
}
