//! WebSocket upgrades pass through the proxy: a tokio-tungstenite client
//! talks to a tokio-tungstenite echo server through it.

#[path = "support/upstream.rs"]
mod upstream;

use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use upstream::*;

/// A WebSocket server that echoes every text and binary message.
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn websocket_messages_pass_through() {
    let upstream_addr = echo_server().await;
    let (hooks, mut recorded) = RecordingHooks::new(0, 0);
    let proxy = start_proxy(proxy_config(upstream_addr), hooks).await;
    let stream = TcpStream::connect(proxy.addr).await.expect("connect");

    let (mut socket, response) =
        guard("handshake", tokio_tungstenite::client_async(format!("ws://{}/live", proxy.addr), stream))
            .await
            .expect("handshake");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);

    let messages = vec![
        Message::text("hello"),
        Message::binary(pattern_bytes(70_000, 9)),
        Message::text("ünïcode ✓"),
        Message::binary(vec![0u8, 255, 1, 254]),
        Message::text("bye"),
    ];
    for message in &messages {
        socket.send(message.clone()).await.expect("send");
        let echoed = guard("echo", socket.next()).await.expect("stream open").expect("message");
        assert_eq!(&echoed, message);
    }
    socket.close(None).await.expect("close");

    let recorded = next_recorded(&mut recorded).await;
    assert_eq!(recorded.exchange.status, StatusCode::SWITCHING_PROTOCOLS);
    assert!(recorded.request_headers.get("upgrade").is_some_and(|value| value == "websocket"));
}
