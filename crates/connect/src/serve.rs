//! Serving: one connection ([`accept_connection`]) or a whole listener ([`serve`]) with
//! HTTP/1.1 upgrades and WebSockets over HTTP/2 (RFC 8441) on one port — h2c with prior
//! knowledge told apart by the connection's first bytes, and, with
//! [`AcceptOptions::tls`](crate::AcceptOptions::tls), TLS with ALPN picking `h2` or
//! `http/1.1` — each connection bounded by the handshake timeout, and the listener by
//! [`AcceptOptions::max_handshakes`](crate::AcceptOptions::max_handshakes).

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::Request;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::Instrument as _;
use wintergreen_codec::{CloseCode, Message, Session};
use wintergreen_stream::{Error, Runtime, TcpListener, TcpStream, WebSocketStream};

use crate::error::ConnectError;
use crate::options::ServerOptions;
use crate::server::accept_within;
use crate::sniff::Rewind;

/// The byte stream under a WebSocket accepted over HTTP/1.1 by [`accept_connection`] or
/// [`serve`]: TCP (the bytes read to tell HTTP/2 from HTTP/1.1 replayed first) or, with
/// [`AcceptOptions::tls`](crate::AcceptOptions::tls), TLS.
#[derive(Debug)]
pub struct ServerTransport {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Tcp(Rewind<TcpStream>),
    #[cfg(feature = "rustls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl ServerTransport {
    /// The TCP connection (under TLS for `wss://`).
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Tcp(tcp) => tcp.get_ref(),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => tls.get_ref().0,
        }
    }

    /// The TLS connection of a `wss://` WebSocket (its SNI name, ALPN protocol, the
    /// client's certificates).
    #[cfg(feature = "rustls")]
    pub fn tls(&self) -> Option<&tokio_rustls::server::TlsStream<TcpStream>> {
        match &self.inner {
            Inner::Tls(tls) => Some(tls),
            Inner::Tcp(_) => None,
        }
    }
}

impl From<Rewind<TcpStream>> for ServerTransport {
    fn from(tcp: Rewind<TcpStream>) -> Self {
        Self {
            inner: Inner::Tcp(tcp),
        }
    }
}

#[cfg(feature = "rustls")]
impl From<tokio_rustls::server::TlsStream<TcpStream>> for ServerTransport {
    fn from(tls: tokio_rustls::server::TlsStream<TcpStream>) -> Self {
        Self {
            inner: Inner::Tls(Box::new(tls)),
        }
    }
}

/// Forwards each tokio-io call to the stream inside.
macro_rules! each_inner {
    ($self:expr, $io:ident => $call:expr) => {
        match $self {
            Inner::Tcp($io) => $call,
            #[cfg(feature = "rustls")]
            Inner::Tls($io) => $call,
        }
    };
}

impl AsyncRead for ServerTransport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_inner!(&mut self.get_mut().inner, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl AsyncWrite for ServerTransport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_inner!(&mut self.get_mut().inner, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_inner!(&mut self.get_mut().inner, io => Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        each_inner!(&self.inner, io => io.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_inner!(&mut self.get_mut().inner, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_inner!(&mut self.get_mut().inner, io => Pin::new(io).poll_shutdown(cx))
    }
}

/// What [`accept_connection`] made of a connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum AcceptedConnection {
    /// One WebSocket over HTTP/1.1 (RFC 6455), with the client's upgrade request.
    Http1(Box<(WebSocketStream<ServerTransport>, Request<()>)>),
    /// An HTTP/2 connection with extended CONNECT enabled (RFC 8441): take its
    /// WebSockets, any number, with [`Http2Acceptor::accept`](crate::http2::Http2Acceptor::accept).
    #[cfg(feature = "http2")]
    Http2(crate::http2::Http2Acceptor),
}

/// Accepts a connection the caller accepted: with
/// [`AcceptOptions::tls`](crate::AcceptOptions::tls), the TLS handshake first and ALPN
/// picks the version (`h2` → HTTP/2, anything else or none → HTTP/1.1); on plain TCP,
/// with the `http2` feature, the first bytes do (the HTTP/2 client preface → h2c with
/// prior knowledge, anything else → HTTP/1.1; at most 24 bytes are read for it and
/// replayed). One handshake timeout bounds it all: TLS, the first bytes, and the HTTP/1.1
/// upgrade or the HTTP/2 preface.
///
/// A TLS configuration without ALPN protocols gets [`server_alpn_protocols`](crate::tls::server_alpn_protocols)
/// (a copy per connection: set them once, as `ServerBuilder::tls` and [`serve`] do).
///
/// # Errors
/// [`ConnectError::Tls`] (typed), [`TimeoutKind::Tls`](crate::TimeoutKind::Tls) or
/// [`TimeoutKind::Handshake`](crate::TimeoutKind::Handshake), an invalid or refused request (the rejection has been written), HTTP/2 errors, I/O
/// (a client that closes before sending a request: `UnexpectedEof`).
pub async fn accept_connection(
    runtime: &Arc<dyn Runtime>,
    tcp: TcpStream,
    options: &ServerOptions,
) -> Result<AcceptedConnection, ConnectError> {
    let span = tracing::debug_span!("ws_accept", peer = %tcp.peer_addr());
    let deadline = Deadline::new(&**runtime, options.accept.handshake_timeout);
    async move {
        #[cfg(feature = "rustls")]
        if let Some(config) = &options.accept.tls {
            let config = crate::tls::server_config(config);
            let tls = crate::tls::accept(tcp, config);
            let tls = crate::client::within(
                runtime,
                deadline.left(),
                crate::error::TimeoutKind::Tls,
                tls,
            )
            .await??;
            if crate::tls::negotiated_h2(tls.get_ref().1.alpn_protocol()) {
                #[cfg(feature = "http2")]
                return crate::http2::accept_within(runtime, tls, options, deadline.left())
                    .await
                    .map(AcceptedConnection::Http2);
                #[cfg(not(feature = "http2"))]
                return Err(ConnectError::Http2Unavailable);
            }
            let io = ServerTransport::from(tls);
            let accepted = accept_within(runtime, io, options, deadline.left()).await?;
            return Ok(AcceptedConnection::Http1(Box::new(accepted)));
        }
        #[cfg(feature = "http2")]
        {
            let mut tcp = tcp;
            let sniffed = crate::sniff::sniff(&mut tcp);
            let (sniffed, prefix) = crate::client::within(
                runtime,
                deadline.left(),
                crate::error::TimeoutKind::Handshake,
                sniffed,
            )
            .await??;
            let io = Rewind::new(prefix, tcp);
            if sniffed == crate::sniff::Sniffed::Http2 {
                tracing::debug!("HTTP/2 client preface (h2c, prior knowledge)");
                return crate::http2::accept_within(runtime, io, options, deadline.left())
                    .await
                    .map(AcceptedConnection::Http2);
            }
            let io = ServerTransport::from(io);
            let accepted = accept_within(runtime, io, options, deadline.left()).await?;
            Ok(AcceptedConnection::Http1(Box::new(accepted)))
        }
        #[cfg(not(feature = "http2"))]
        {
            let io = ServerTransport::from(Rewind::new(bytes::Bytes::new(), tcp));
            let accepted = accept_within(runtime, io, options, deadline.left()).await?;
            Ok(AcceptedConnection::Http1(Box::new(accepted)))
        }
    }
    .instrument(span)
    .await
}

/// One timeout shared by the steps of an accept.
struct Deadline<'a> {
    runtime: &'a dyn Runtime,
    at: Instant,
}

impl<'a> Deadline<'a> {
    fn new(runtime: &'a dyn Runtime, timeout: Duration) -> Self {
        let now = runtime.now();
        Self {
            runtime,
            at: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(1 << 32)),
        }
    }

    /// What is left of the timeout (zero once it has passed: the next step times out).
    fn left(&self) -> Duration {
        self.at.saturating_duration_since(self.runtime.now())
    }
}

/// A WebSocket that [`serve`] accepted, over either HTTP version. It is a
/// `futures_core::Stream` of messages and a `futures_sink::Sink` of
/// them, as [`WebSocketStream`] is; match it to reach the stream of one version.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerWebSocket {
    /// Over HTTP/1.1 (TCP or TLS).
    Http1(WebSocketStream<ServerTransport>),
    /// One stream of an HTTP/2 connection (h2c or TLS).
    #[cfg(feature = "http2")]
    Http2(WebSocketStream<crate::http2::H2Stream>),
}

/// Forwards a call to the [`WebSocketStream`] inside.
macro_rules! each_version {
    ($self:expr, $ws:ident => $call:expr) => {
        match $self {
            ServerWebSocket::Http1($ws) => $call,
            #[cfg(feature = "http2")]
            ServerWebSocket::Http2($ws) => $call,
        }
    };
}

impl ServerWebSocket {
    /// The HTTP version the WebSocket was opened with: `HTTP_11` or `HTTP_2`.
    pub fn http_version(&self) -> http::Version {
        match self {
            Self::Http1(_) => http::Version::HTTP_11,
            #[cfg(feature = "http2")]
            Self::Http2(_) => http::Version::HTTP_2,
        }
    }

    /// The session: the negotiated extension, the close state, …
    pub fn session(&self) -> &Session {
        each_version!(self, ws => ws.session())
    }

    /// The next message: see [`WebSocketStream::next_message`].
    pub async fn next_message(&mut self) -> Option<Result<Message, Error>> {
        each_version!(self, ws => ws.next_message().await)
    }

    /// Sends a message: see [`WebSocketStream::send_message`].
    ///
    /// # Errors
    /// As [`WebSocketStream::send_message`].
    pub async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        each_version!(self, ws => ws.send_message(message).await)
    }

    /// Runs the close handshake: see [`WebSocketStream::close`].
    ///
    /// # Errors
    /// As [`WebSocketStream::close`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        each_version!(self, ws => ws.close(code, reason).await)
    }
}

impl futures_core::Stream for ServerWebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        each_version!(self.get_mut(), ws => Pin::new(ws).poll_next(cx))
    }
}

impl futures_sink::Sink<Message> for ServerWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        each_version!(self.get_mut(), ws => Pin::new(ws).poll_ready(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        each_version!(self.get_mut(), ws => Pin::new(ws).start_send(item))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        each_version!(self.get_mut(), ws => Pin::new(ws).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        each_version!(self.get_mut(), ws => Pin::new(ws).poll_close(cx))
    }
}

/// A WebSocket [`serve`] accepted.
#[derive(Debug)]
#[non_exhaustive]
pub struct Accepted {
    /// The WebSocket.
    pub websocket: ServerWebSocket,
    /// The client's request: the HTTP/1.1 upgrade request or the HTTP/2 extended CONNECT.
    pub request: Request<()>,
    /// The client's address.
    pub peer: SocketAddr,
}

/// A connection [`serve`] could not make a WebSocket of (or the listener's accept failing).
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", peer.map_or_else(|| "accepting".to_owned(), |peer| peer.to_string()))]
#[non_exhaustive]
pub struct ServeError {
    /// The client's address; `None` when the listener's accept itself failed.
    pub peer: Option<SocketAddr>,
    /// What went wrong.
    #[source]
    pub error: ConnectError,
}

/// The WebSockets of a listener that [`serve`] runs, over HTTP/1.1 and HTTP/2 alike, and
/// the connections that failed. Dropping it stops accepting; WebSockets already handed
/// out keep running, and HTTP/2 connections are closed gracefully (GOAWAY).
#[derive(Debug)]
pub struct WebSocketListener {
    incoming: mpsc::Receiver<Result<Accepted, ServeError>>,
    local_addr: SocketAddr,
}

impl WebSocketListener {
    /// The next WebSocket, or a connection that failed (a TLS or handshake error, a
    /// timeout, a refused request, an accept error): the listener goes on either way.
    /// `None` only if the serving task ended (its runtime shut down).
    pub async fn accept(&mut self) -> Option<Result<Accepted, ServeError>> {
        self.incoming.recv().await
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl futures_core::Stream for WebSocketListener {
    type Item = Result<Accepted, ServeError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().incoming.poll_recv(cx)
    }
}

/// How many results wait for [`WebSocketListener::accept`] in the channel (more wait in
/// their connections' tasks, within `max_handshakes`).
const READY_QUEUE: usize = 32;

/// After the listener's accept fails (out of file descriptors, …), how long to wait before
/// accepting again, instead of spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves WebSockets on `listener`, on one port: HTTP/1.1 upgrades, HTTP/2 with prior
/// knowledge (h2c) and, with [`AcceptOptions::tls`](crate::AcceptOptions::tls), TLS with
/// ALPN picking `h2` or `http/1.1` (see [`accept_connection`]). Each connection runs in a
/// task of its own on `runtime`, bounded by the handshake timeout; at most
/// [`max_handshakes`](crate::AcceptOptions::max_handshakes) are in their handshake (or
/// wait for [`WebSocketListener::accept`]) at once. An HTTP/2 connection then carries any
/// number of WebSockets, within its [`Http2Config`](crate::http2::Http2Config) limits.
///
/// # Errors
/// The listener's local address cannot be read.
pub fn serve(
    runtime: &Arc<dyn Runtime>,
    listener: Box<dyn TcpListener>,
    options: ServerOptions,
) -> io::Result<WebSocketListener> {
    let local_addr = listener.local_addr()?;
    #[allow(unused_mut)] // changed only with TLS
    let mut options = options;
    #[cfg(feature = "rustls")]
    if let Some(config) = &options.accept.tls {
        options.accept.tls = Some(crate::tls::server_config(config));
    }
    let permits = options
        .accept
        .max_handshakes
        .clamp(1, Semaphore::MAX_PERMITS);
    let (tx, rx) = mpsc::channel(READY_QUEUE);
    let task = accept_loop(
        Arc::clone(runtime),
        listener,
        Arc::new(options),
        tx,
        Arc::new(Semaphore::new(permits)),
    );
    let span = tracing::debug_span!("ws_serve", %local_addr);
    runtime.spawn(Box::pin(task.instrument(span)));
    Ok(WebSocketListener {
        incoming: rx,
        local_addr,
    })
}

type Results = mpsc::Sender<Result<Accepted, ServeError>>;

async fn accept_loop(
    runtime: Arc<dyn Runtime>,
    listener: Box<dyn TcpListener>,
    options: Arc<ServerOptions>,
    tx: Results,
    permits: Arc<Semaphore>,
) {
    loop {
        let Some(Ok(permit)) = until_closed(&tx, Arc::clone(&permits).acquire_owned()).await else {
            return;
        };
        let tcp = match until_closed(&tx, listener.accept()).await {
            None => return,
            Some(Ok(tcp)) => tcp,
            Some(Err(err)) => {
                tracing::debug!(%err, "accept failed");
                let failed = ServeError {
                    peer: None,
                    error: ConnectError::Io(err),
                };
                if tx.send(Err(failed)).await.is_err() {
                    return;
                }
                let backoff = runtime.sleep_until(runtime.now() + ACCEPT_BACKOFF);
                if until_closed(&tx, backoff).await.is_none() {
                    return;
                }
                continue;
            }
        };
        let task = serve_connection(
            Arc::clone(&runtime),
            tcp,
            Arc::clone(&options),
            tx.clone(),
            permit,
        );
        runtime.spawn(Box::pin(task));
    }
}

/// One connection of [`serve`]: its handshake, then its WebSocket(s) into the channel. The
/// permit is held until the handshake is over and, for HTTP/1.1, the WebSocket handed
/// over; an HTTP/2 connection returns it once its preface is in.
async fn serve_connection(
    runtime: Arc<dyn Runtime>,
    tcp: TcpStream,
    options: Arc<ServerOptions>,
    tx: Results,
    permit: OwnedSemaphorePermit,
) {
    let peer = tcp.peer_addr();
    let failed = |error| {
        Err(ServeError {
            peer: Some(peer),
            error,
        })
    };
    let Some(accepted) = until_closed(&tx, accept_connection(&runtime, tcp, &options)).await else {
        return;
    };
    match accepted {
        Err(error) => {
            tracing::debug!(%peer, %error, "connection failed");
            let _ = tx.send(failed(error)).await;
        }
        Ok(AcceptedConnection::Http1(accepted)) => {
            let (websocket, request) = *accepted;
            let accepted = Accepted {
                websocket: ServerWebSocket::Http1(websocket),
                request,
                peer,
            };
            let _ = tx.send(Ok(accepted)).await;
        }
        #[cfg(feature = "http2")]
        Ok(AcceptedConnection::Http2(mut acceptor)) => {
            drop(permit);
            while let Some(Some(next)) = until_closed(&tx, acceptor.accept()).await {
                let result = match next {
                    Ok((websocket, request)) => Ok(Accepted {
                        websocket: ServerWebSocket::Http2(websocket),
                        request,
                        peer,
                    }),
                    Err(error) => failed(error.into()),
                };
                if tx.send(result).await.is_err() {
                    return;
                }
            }
            return;
        }
    }
    drop(permit);
}

/// Runs `future` until it completes, or until the [`WebSocketListener`] is dropped (`None`).
async fn until_closed<F: Future>(tx: &Results, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut closed = pin!(tx.closed());
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        closed.as_mut().poll(cx).map(|()| None)
    })
    .await
}
