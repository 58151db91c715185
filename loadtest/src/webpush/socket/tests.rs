//! The client against a stand-in service that behaves like autoconnect at the handshake: it
//! does not echo the `push-notification` subprotocol, which tungstenite treats as a failed
//! handshake unless the offer is dropped.
use std::net::{IpAddr, Ipv4Addr};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use super::*;

/// Serves `connections` clients: answers `hello` and `register`, then sends one
/// notification and expects its ack. Returns every client message it read.
async fn stand_in(listener: TcpListener, connections: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut served = 0;
    while served < connections {
        let (tcp, _) = listener.accept().await.expect("accept");
        let Ok(mut socket) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        // The client that was offered no subprotocol back hangs up without a word.
        let before = seen.len();
        while let Some(Ok(Message::Text(text))) = socket.next().await {
            let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
            let answer = match message["messageType"].as_str() {
                Some("hello") => json!({"messageType": "hello", "uaid": "8f2b", "status": 200}),
                Some("register") => json!({"messageType": "register", "status": 200,
                    "channelID": message["channelID"], "pushEndpoint": "http://127.0.0.1:9/wpush/v2/x"}),
                _ => {
                    seen.push(message);
                    break;
                }
            };
            seen.push(message);
            socket
                .send(Message::text(answer.to_string()))
                .await
                .expect("answer");
            if seen.last().is_some_and(|m| m["messageType"] == "register") {
                let note =
                    json!({"messageType": "notification", "channelID": "c", "version": "v1"});
                socket
                    .send(Message::text(note.to_string()))
                    .await
                    .expect("notify");
            }
        }
        served += usize::from(seen.len() > before);
    }
    seen
}

#[tokio::test]
async fn a_service_that_does_not_echo_the_subprotocol_is_still_reached() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("address"));
    let served = tokio::spawn(stand_in(listener, 2));
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let service = PushService::resolve(&url, source).await.expect("resolve");
    for _ in 0..2 {
        let mut socket = service.open(source).await.expect("open");
        assert_eq!(socket.hello(None).await.expect("hello"), "8f2b");
        let endpoint = socket.register("0c2bb9a6-5b7e-4a0a-9d52-1f3c8e9a7b10", "Bk==");
        assert!(endpoint.await.expect("register").ends_with("/v2/x"));
        let notification = socket.next().await.expect("read").expect("a notification");
        assert_eq!(notification.version, "v1");
        socket.ack(&notification).await.expect("ack");
    }
    assert!(service.without_subprotocol.load(Ordering::Relaxed));
    let seen = served.await.expect("stand-in");
    assert_eq!(seen.len(), 6, "hello, register, ack twice: {seen:?}");
    assert_eq!(
        seen[0],
        json!({"messageType": "hello", "use_webpush": true})
    );
    assert_eq!(seen[1]["key"], "Bk==");
    assert_eq!(seen[2]["updates"][0]["code"], 100);
}
