//! The WebSocket push protocol (Firefox's `dom.push.serverURL`) at the
//! frame level against the real pushd: hello, register, notification, ack,
//! resume by uaid, backlog, unregister, pings, and every kind of bad frame
//! closing only the connection that sent it.

mod support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use futures_util::{SinkExt as _, StreamExt as _};
use push_sdk::crypto;
use serde_json::{Value, json};
use support::Pushd;
use support::raw::{Senders, Subscribed, encrypt_for};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(pushd: &Pushd) -> Socket {
    let url = pushd.url.replace("http://", "ws://") + "/";
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "push-notification".parse().expect("header"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "push-notification"
    );
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

async fn receive(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The close code pushd ends the connection with.
async fn closed_with(socket: &mut Socket) -> u16 {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return frame.code.into(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn hello(socket: &mut Socket, uaid: &str) -> String {
    send(
        socket,
        json!({"messageType": "hello", "uaid": uaid, "use_webpush": true, "broadcasts": {}}),
    )
    .await;
    let reply = receive(socket).await;
    assert_eq!(reply["messageType"], "hello");
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["use_webpush"], true);
    reply["uaid"].as_str().expect("uaid").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registers_receives_acks_resumes_and_unregisters() {
    let pushd = Pushd::start(&[]);
    let mut sender = Senders::new(&pushd.url).await;
    let mut socket = connect(&pushd).await;
    let uaid = hello(&mut socket, "").await;
    assert!(!uaid.is_empty() && uaid.len() <= 128, "{uaid}");

    let channel = uuid::Uuid::new_v4().hyphenated().to_string();
    // Firefox sends the key base64url with padding.
    let key = URL_SAFE.encode(sender.key.public_key_raw());
    send(
        &mut socket,
        json!({"messageType": "register", "channelID": channel, "key": key}),
    )
    .await;
    let registered = receive(&mut socket).await;
    assert_eq!(registered["messageType"], "register");
    assert_eq!(registered["channelID"], channel.as_str());
    assert_eq!(registered["status"], 200);
    let endpoint = registered["pushEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    assert!(endpoint.starts_with(&pushd.url), "{endpoint}");

    // The browser's keys: pushd never sees them.
    let subscription = Subscribed {
        id: String::new(),
        endpoint: endpoint.clone(),
        keys: crypto::generate_subscription_keys().expect("keys"),
    };
    sender.send_text(&subscription, "hello firefox", 600).await;
    let notification = receive(&mut socket).await;
    assert_eq!(notification["messageType"], "notification");
    assert_eq!(notification["channelID"], channel.as_str());
    assert_eq!(notification["headers"]["encoding"], "aes128gcm");
    assert!(
        notification["ttl"]
            .as_i64()
            .is_some_and(|ttl| ttl > 0 && ttl <= 600)
    );
    let data = URL_SAFE_NO_PAD
        .decode(notification["data"].as_str().expect("data"))
        .expect("base64url");
    let plaintext = crypto::decrypt(&subscription.keys, &data).expect("decrypt");
    assert_eq!(plaintext, b"hello firefox");
    let version = notification["version"]
        .as_str()
        .expect("version")
        .to_owned();
    send(&mut socket, json!({"messageType": "ack", "updates": [{"channelID": channel, "version": version, "code": 100}]})).await;
    send(&mut socket, json!({})).await;
    assert_eq!(receive(&mut socket).await, json!({}), "a ping is answered");
    socket.close(None).await.expect("close");

    // Away: a message waits; back with the same uaid: it arrives, the acked one does not.
    sender.send_text(&subscription, "while away", 600).await;
    let mut socket = connect(&pushd).await;
    assert_eq!(
        hello(&mut socket, &uaid).await,
        uaid,
        "a returning client keeps its uaid"
    );
    let waiting = receive(&mut socket).await;
    let data = URL_SAFE_NO_PAD
        .decode(waiting["data"].as_str().expect("data"))
        .expect("b64");
    assert_eq!(
        crypto::decrypt(&subscription.keys, &data).expect("decrypt"),
        b"while away"
    );
    let version = waiting["version"].as_str().expect("version").to_owned();
    send(&mut socket, json!({"messageType": "ack", "updates": [{"channelID": channel, "version": version, "code": 100}]})).await;

    send(
        &mut socket,
        json!({"messageType": "unregister", "channelID": channel, "code": 200}),
    )
    .await;
    let unregistered = receive(&mut socket).await;
    assert_eq!(unregistered["messageType"], "unregister");
    assert_eq!(unregistered["status"], 200);
    let gone = sender
        .submit(Senders::request(
            &endpoint,
            encrypt_for(&subscription, "late"),
            60,
        ))
        .await
        .expect_err("an unregistered channel takes nothing");
    assert_eq!(gone.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_only_the_connection_that_sent_them() {
    let pushd = Pushd::start(&[]);
    let mut bystander = connect(&pushd).await;
    hello(&mut bystander, "").await;

    let mut early = connect(&pushd).await;
    send(
        &mut early,
        json!({"messageType": "register", "channelID": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(closed_with(&mut early).await, 1002, "register before hello");

    let mut garbled = connect(&pushd).await;
    garbled
        .send(Message::text("{not json"))
        .await
        .expect("send");
    assert_eq!(closed_with(&mut garbled).await, 1007, "invalid JSON");

    let mut unknown = connect(&pushd).await;
    hello(&mut unknown, "").await;
    send(&mut unknown, json!({"messageType": "teleport"})).await;
    assert_eq!(closed_with(&mut unknown).await, 1007, "unknown messageType");

    let mut twice = connect(&pushd).await;
    hello(&mut twice, "").await;
    send(&mut twice, json!({"messageType": "hello", "uaid": ""})).await;
    assert_eq!(closed_with(&mut twice).await, 1002, "a second hello");

    let mut binary = connect(&pushd).await;
    binary
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("send");
    assert!(
        matches!(closed_with(&mut binary).await, 1003 | 1007),
        "binary frames"
    );

    let mut oversized = connect(&pushd).await;
    hello(&mut oversized, "").await;
    let huge = json!({"messageType": "ack", "updates": [], "pad": "x".repeat(100 * 1024)});
    let _ = oversized.send(Message::text(huge.to_string())).await;
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match oversized.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "a 100 KiB frame ends the connection");

    // A foreign channel in an ack and a bad channel id harm nobody.
    send(&mut bystander, json!({"messageType": "ack", "updates": [{"channelID": "x", "version": "not-ours", "code": 100}]})).await;
    send(
        &mut bystander,
        json!({"messageType": "register", "channelID": "NOT-A-UUID"}),
    )
    .await;
    let refused = receive(&mut bystander).await;
    assert_eq!(refused["status"], 400);
    send(&mut bystander, json!({})).await;
    assert_eq!(
        receive(&mut bystander).await,
        json!({}),
        "the bystander is served throughout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacement_silence_and_drain_close_with_the_codes_firefox_reconnects_after() {
    let mut pushd = Pushd::start(&["--handshake-timeout-seconds", "1"]);

    // A client that never says hello is let go after the handshake timeout.
    let mut silent = connect(&pushd).await;
    assert_eq!(closed_with(&mut silent).await, 1002, "no hello in time");

    // A second connection with the same uaid takes over: the first closes normally.
    let mut first = connect(&pushd).await;
    let uaid = hello(&mut first, "").await;
    let mut second = connect(&pushd).await;
    assert_eq!(hello(&mut second, &uaid).await, uaid);
    assert_eq!(
        closed_with(&mut first).await,
        1000,
        "replaced by a newer connection"
    );

    // SIGTERM: the client is told the server is going away (1001), never 4774,
    // which would stop Firefox from reconnecting.
    let terminated = tokio::task::spawn_blocking(move || pushd.terminate());
    assert_eq!(closed_with(&mut second).await, 1001, "draining");
    assert!(terminated.await.expect("join").success());
}
