//! # wintergreen-http2
//!
//! WebSockets over HTTP/2 (RFC 8441), on the [`h2`] crate. Over HTTP/2 a WebSocket is one
//! stream of a shared connection, opened with an extended CONNECT request
//! (`:method CONNECT`, `:protocol websocket`); many WebSockets and ordinary requests share
//! one connection.
//!
//! Most applications want the `wintergreen` facade crate with its `http2` feature, which
//! opens and accepts WebSockets over HTTP/2 with this crate.
//!
//! Each WebSocket's stream is a byte pipe, [`H2Stream`] (`AsyncRead + AsyncWrite`), driven
//! by the very same [`WebSocketStream`](wintergreen_stream::WebSocketStream) and codec
//! session as over HTTP/1.1: there is no second implementation of the WebSocket protocol.
//! Flow control follows the application: receive capacity is released as it reads, and
//! writes wait for send capacity (backpressure, no unbounded buffering). After the close
//! handshake the stream is ended with END_STREAM; a RST_STREAM or a lost connection ends the
//! WebSocket as an abnormal closure (1006).
//!
//! - Client: [`Http2Client::handshake`] over any byte stream (TCP with prior knowledge, or
//!   TLS after ALPN `h2`), checked for `SETTINGS_ENABLE_CONNECT_PROTOCOL`; then
//!   [`Http2Client::websocket`] as often as you like, and
//!   [`Http2Client::send_request`] for plain requests.
//! - Server: [`Http2Acceptor::handshake`] announces extended CONNECT, judges each request
//!   with wintergreen-handshake's rules and an [`AcceptPolicy`](wintergreen_handshake::AcceptPolicy),
//!   and yields [`Incoming`] WebSockets (and other requests, if asked).
//!
//! Every wait is bounded, with a documented default in [`Http2Config`]: the client's wait
//! for the server's SETTINGS (a first frame that is not SETTINGS is
//! [`Error::NoSettings`]) and for a free stream under the server's concurrent-stream limit
//! ([`Error::StreamLimit`]); the server's handshake timeout (no extended CONNECT within
//! it: GOAWAY) and idle timeout (no open stream for it: GOAWAY). After the close handshake
//! each side ends its half of the stream at once (RFC 8441 §5, RFC 6455 §7.1.1).
//!
//! The connection's driver task is spawned, and waits are bounded, through a
//! [`Runtime`](wintergreen_stream::Runtime) (wintergreen-tokio, wintergreen-smol, …), so
//! this crate runs on any runtime. Connecting (TCP, TLS with ALPN) is the caller's:
//! wintergreen-connect does it for every runtime.
//!
//! ```no_run
//! # async fn run() -> Result<(), wintergreen_http2::Error> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wintergreen_http2::{Http2Client, Http2Config};
//! use wintergreen_stream::{Message, StreamConfig};
//!
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
//! let client = Http2Client::handshake(tcp, &Http2Config::default(), Arc::new(wintergreen_tokio::Tokio)).await?;
//! let request = http::Request::get("ws://127.0.0.1:8080/chat").body(()).unwrap();
//! let config = wintergreen_http1::ClientConfig::default();
//! let (mut ws, _response) = client
//!     .websocket(request, &config, StreamConfig::default(), Duration::from_secs(10))
//!     .await?;
//! ws.send_message(Message::text("hello")).await.ok();
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod client;
mod config;
mod error;
mod pipe;
mod preface;
mod read_ahead;
mod server;
mod slots;

pub use client::{Http2Client, Http2Upgraded};
pub use config::{Http2Config, OtherRequests};
pub use error::Error;
pub use pipe::H2Stream;
pub use server::{AcceptedWebSocket, Http2Acceptor, Incoming, PlainRequest};

/// The h2 crate this transport is built on, for naming its types
/// ([`h2::Reason`], [`h2::RecvStream`], [`h2::server::SendResponse`], ...).
pub use h2;

#[cfg(test)]
mod tests {
    /// Handles and streams move across tasks; errors cross threads.
    #[test]
    fn types_are_send_and_errors_sync() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Error>();
        send_sync::<crate::Http2Client>();
        send_sync::<crate::Http2Config>();
        send::<crate::H2Stream>();
        send::<crate::Http2Acceptor>();
        send::<crate::Incoming>();
    }
}
