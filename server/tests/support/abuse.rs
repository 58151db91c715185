//! What abuse tests need beyond a normal client: a raw HTTP/2 connection
//! whose reading the test controls, gRPC framing by hand, and readings of
//! what the pushd process holds (descriptors, memory, CPU, sockets).

use std::time::Duration;

use bytes::Bytes;
use push_proto::v1 as pb;
use tokio::net::{TcpSocket, TcpStream};

use super::Pushd;

/// Descriptors the process holds open.
pub fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Resident memory in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time used so far (user + system), in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    field(11).unwrap_or(0) + field(12).unwrap_or(0)
}

/// The soft open-files limit of the process.
pub fn soft_open_files_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Whether the kernel still has a TCP socket from `server_port` to
/// `client_port` on 127.0.0.1 (the server's end of one connection).
pub fn server_end_open(server_port: u16, client_port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let (local, remote) = (
        format!("0100007F:{server_port:04X}"),
        format!("0100007F:{client_port:04X}"),
    );
    table.lines().skip(1).any(|line| {
        let mut columns = line.split_whitespace().skip(1);
        columns.next() == Some(&local) && columns.next() == Some(&remote)
    })
}

/// Waits (at most `wait`) for the peer to close `tcp`: true when it did.
pub async fn closed_by_peer(tcp: &mut TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A TCP connection to `address` from `source` (another loopback address
/// counts as another client), optionally with a small receive buffer.
pub async fn connect_from(address: &str, source: &str, receive_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    socket
        .bind(format!("{source}:0").parse().expect("source address"))
        .expect("bind source");
    socket
        .connect(address.parse().expect("server address"))
        .await
        .expect("connect")
}

/// One gRPC message as framed on the wire: uncompressed flag, length, body.
pub fn grpc_frame(message: &impl prost::Message) -> Bytes {
    grpc_frame_of(&message.encode_to_vec())
}

/// `body` framed as one gRPC message, whatever its bytes are.
pub fn grpc_frame_of(body: &[u8]) -> Bytes {
    let mut framed = Vec::with_capacity(5 + body.len());
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(body);
    Bytes::from(framed)
}

/// A gRPC request's head for `path` (e.g. `/push.v1.Device/Listen`).
pub fn grpc_request(address: &str, path: &str, bearer: Option<&str>) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://{address}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(bearer) = bearer {
        request = request.header("authorization", bearer);
    }
    request.body(()).expect("request")
}

/// The Hello that opens a Listen stream, framed.
pub fn hello_frame() -> Bytes {
    grpc_frame(&pb::ClientFrame {
        frame: Some(pb::client_frame::Frame::Hello(pb::Hello::default())),
    })
}

/// HTTP/2 over `tcp` with windows large enough that pushd's writes are
/// held back by TCP only, never by HTTP/2 flow control. The connection is
/// driven only while the caller polls the returned future.
pub async fn h2_with_large_windows(
    tcp: TcpStream,
) -> (
    h2::client::SendRequest<Bytes>,
    h2::client::Connection<TcpStream, Bytes>,
) {
    h2::client::Builder::new()
        .initial_window_size(1 << 30)
        .initial_connection_window_size(1 << 30)
        .handshake(tcp)
        .await
        .expect("h2 handshake")
}

/// A device registered over a raw connection from `source` (another
/// loopback address is another client): true when pushd answered OK.
pub async fn registers_from(pushd: &Pushd, source: &str) -> bool {
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let tcp = connect_from(&address, source, None).await;
    let Ok((client, connection)) = h2::client::handshake(tcp).await else {
        return false;
    };
    tokio::spawn(connection);
    let Ok(mut client) = client.ready().await else {
        return false;
    };
    let request = grpc_request(&address, "/push.v1.Device/Register", None);
    let Ok((response, mut body)) = client.send_request(request, false) else {
        return false;
    };
    let _ = body.send_data(grpc_frame(&pb::RegisterRequest {}), true);
    let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(10), response).await else {
        return false;
    };
    let mut body = response.into_body();
    while let Some(Ok(_)) = body.data().await {}
    let trailers = body.trailers().await.ok().flatten().unwrap_or_default();
    trailers
        .get("grpc-status")
        .is_some_and(|status| status == "0")
}

/// One unary call over a fresh raw HTTP/2 connection: `body` sent as is
/// (already framed), answered with its `grpc-status` and `grpc-message`,
/// from the trailers or, for a trailers-only answer, the headers.
pub async fn raw_unary(pushd: &Pushd, request: http::Request<()>, body: Bytes) -> (String, String) {
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let tcp = TcpStream::connect(&address).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let (response, mut sending) = client.send_request(request, false).expect("send");
    sending.send_data(body, true).expect("body");
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("answered in time")
        .expect("response");
    let (head, mut body) = response.into_parts();
    let mut fields = head.headers;
    if !fields.contains_key("grpc-status") {
        while let Some(Ok(_)) = body.data().await {}
        fields = body.trailers().await.ok().flatten().unwrap_or_default();
    }
    let field = |name: &str| {
        fields
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (field("grpc-status"), field("grpc-message"))
}

/// An HTTP/2 connection the test drives until [`Unread::stop_reading`]:
/// from then on it stays open and nobody reads its socket.
pub struct Unread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    driver: Option<tokio::task::JoinHandle<Box<dyn std::any::Any + Send>>>,
    held: Option<Box<dyn std::any::Any + Send>>,
}

impl Unread {
    pub fn drive(connection: h2::client::Connection<TcpStream, Bytes>) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let driver = tokio::spawn(async move {
            let mut connection = Box::pin(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped => {}
            }
            Box::new(connection) as Box<dyn std::any::Any + Send>
        });
        Self {
            stop: Some(stop),
            driver: Some(driver),
            held: None,
        }
    }

    pub async fn stop_reading(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(driver) = self.driver.take() {
            self.held = Some(driver.await.expect("driver"));
        }
    }
}

/// Opens a `Listen` stream for the device holding `bearer` on `client`:
/// its response (once the stream is open) and its request body.
pub async fn open_listen(
    client: &h2::client::SendRequest<Bytes>,
    address: &str,
    bearer: &str,
) -> (http::Response<h2::RecvStream>, h2::SendStream<Bytes>) {
    let mut client = client.clone().ready().await.expect("ready");
    let request = grpc_request(address, "/push.v1.Device/Listen", Some(bearer));
    let (response, mut body) = client.send_request(request, false).expect("send");
    body.send_data(hello_frame(), false).expect("hello");
    let response = response.await.expect("the stream opens");
    assert_eq!(response.status(), 200);
    (response, body)
}

/// A device registered, subscribed and listening now gets a message sent to it.
pub async fn still_served(url: &str) {
    let mut live = super::RawDevice::register(url).await;
    let subscription = live.subscribe(None).await;
    let mut stream = live.listen_live(pb::Hello::default()).await;
    let mut sender = super::raw::Senders::new(url).await;
    sender.send_text(&subscription, "still served", 600).await;
    let message = stream.next_message().await;
    assert_eq!(
        super::raw::decrypt_text(&subscription, &message),
        "still served"
    );
}
