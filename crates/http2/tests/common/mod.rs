//! Shared test helpers: the tokio runtime, our own h2c WebSocket server, raw h2
//! servers that misbehave on purpose, and bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use h2::RecvStream;
use h2::server::SendResponse;
use http::Request;
use tokio::net::{TcpListener, TcpStream};
use wintergreen_http1::{ClientConfig, ServerConfig};
use wintergreen_http2::{Http2Acceptor, Http2Client, Http2Config, Incoming};
use wintergreen_stream::{BoxFuture, Message, Runtime, StreamConfig};

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(wintergreen_tokio::Tokio)
}

/// The driver's runtime, as `WebSocketStream::from_session` takes it.
pub fn timer() -> Option<Arc<dyn Runtime>> {
    Some(runtime())
}

/// Awaits `future`, failing the test after [`LIMIT`].
pub async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Accepts one TCP connection on `listener` and starts an HTTP/2 server on it with the
/// default WebSocket settings and `config`.
pub async fn accept_one(listener: &TcpListener, config: &Http2Config) -> Http2Acceptor {
    let (tcp, _) = listener.accept().await.unwrap();
    Http2Acceptor::handshake(
        tcp,
        &ServerConfig::default(),
        &StreamConfig::default(),
        config,
        runtime(),
    )
    .await
    .unwrap()
}

/// Connects an [`Http2Client`] to `addr` with prior knowledge.
pub async fn client(addr: SocketAddr) -> Http2Client {
    client_with(addr, &Http2Config::default()).await.unwrap()
}

pub async fn client_with(
    addr: SocketAddr,
    config: &Http2Config,
) -> Result<Http2Client, wintergreen_http2::Error> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    Http2Client::handshake(tcp, config, runtime()).await
}

/// Our own h2c WebSocket echo server. Plain requests (with `HandBack`) get
/// `200 hello from h2`. Returns the address and a counter of TCP connections accepted.
pub async fn echo_server(
    options: ServerConfig,
    config: Http2Config,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let (listener, addr) = listener().await;
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let options = options.clone();
            let config = config.clone();
            tokio::spawn(async move {
                let Ok(mut acceptor) = Http2Acceptor::handshake(
                    tcp,
                    &options,
                    &StreamConfig::default(),
                    &config,
                    runtime(),
                )
                .await
                else {
                    return;
                };
                while let Some(incoming) = acceptor.next().await {
                    match incoming {
                        Ok(Incoming::WebSocket(accepted)) => {
                            tokio::spawn(echo(accepted.stream));
                        }
                        Ok(Incoming::Request(plain)) => {
                            let mut respond = plain.respond;
                            let mut send = respond
                                .send_response(http::Response::new(()), false)
                                .unwrap();
                            send.send_data(Bytes::from_static(b"hello from h2"), true)
                                .unwrap();
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    (addr, connections)
}

/// Echoes data messages until the peer closes.
pub async fn echo<S>(mut ws: S)
where
    S: futures_util::Stream<Item = Result<Message, wintergreen_stream::Error>>
        + futures_util::Sink<Message, Error = wintergreen_stream::Error>
        + Unpin,
{
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            return;
        }
    }
}

pub type Handler =
    Arc<dyn Fn(Request<RecvStream>, SendResponse<Bytes>) -> BoxFuture<'static, ()> + Send + Sync>;

/// A raw h2 server, with or without extended CONNECT, that hands every request to
/// `handler` (each in its own task).
pub async fn raw_server(enable_connect_protocol: bool, handler: Handler) -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut builder = h2::server::Builder::new();
                if enable_connect_protocol {
                    builder.enable_connect_protocol();
                }
                let Ok(mut connection) = builder.handshake::<_, Bytes>(tcp).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(handler(request, respond));
                }
            });
        }
    });
    addr
}

/// Opens a WebSocket to `addr` on `client`'s connection with the default settings.
pub async fn open_default(
    client: &Http2Client,
    addr: SocketAddr,
) -> wintergreen_stream::WebSocketStream<wintergreen_http2::H2Stream> {
    let (ws, _) = bounded(client.websocket(
        ws_request(addr, "/"),
        &options(),
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap();
    ws
}

pub fn ws_request(addr: SocketAddr, path: &str) -> Request<()> {
    Request::get(format!("ws://{addr}{path}")).body(()).unwrap()
}

pub fn options() -> ClientConfig {
    ClientConfig::default()
}

/// Adds a subprotocol to a client's offer.
pub trait Offer {
    fn subprotocol(self, protocol: &str) -> Self;
}

impl Offer for ClientConfig {
    fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocols.push(protocol.to_owned());
        self
    }
}
