//! # spearmint
//!
//! WebSockets for Rust, in the spirit of Elixir's Mint.WebSocket: the protocol lives in a
//! sans-IO core ([`codec`]) that takes bytes in and gives events and bytes out, and thin
//! async layers drive it over the runtime of your choice.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use spearmint::Message;
//!
//! # async fn run() -> Result<(), spearmint::Error> {
//! let (mut ws, _response) = spearmint::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::text("hello")).await?;
//! while let Some(message) = ws.next().await {
//!     println!("received {:?}", message?);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Crates and features
//! - [`codec`] (spearmint-codec): frames, masking, UTF-8, the [`Session`](codec::Session)
//!   state machine. Usable alone.
//! - [`handshake`] and [`http1`]: the opening handshake, sans-IO, both roles.
//! - [`stream`]: the runtime-agnostic async driver ([`WebSocketStream`]).
//! - `deflate` (default): permessage-deflate, offered by clients and accepted by servers
//!   built from [`client_options`]/[`server_options`] (and so by [`connect`], [`accept`] and
//!   [`ClientBuilder`]).
//! - `runtime-tokio` (default): [`tokio`](mod@tokio) and the short [`connect`]/[`accept`].
//! - `http2`: WebSockets over HTTP/2 (RFC 8441) — `spearmint::http2` (the transport),
//!   [`ClientOptions::http2`] with [`Http2Mode`] in [`connect_with`], and
//!   `spearmint::tokio::http2` for shared connections and h2c servers.

#![deny(missing_docs)]

mod builder;
mod defaults;

pub use builder::ClientBuilder;
pub use defaults::{client_options, server_options};
pub use spearmint_codec as codec;
pub use spearmint_handshake as handshake;
pub use spearmint_http1 as http1;
pub use spearmint_stream as stream;

/// WebSockets over HTTP/2 (RFC 8441), runtime-agnostic: [`Http2Client`](http2::Http2Client),
/// [`Http2Acceptor`](http2::Http2Acceptor), the [`H2Stream`](http2::H2Stream) pipe. On
/// tokio, `spearmint::tokio::http2` supplies the spawner and timer.
#[cfg(feature = "http2")]
pub use spearmint_http2 as http2;

pub use spearmint_codec::{CloseCode, CloseFrame, Config, Message, Role, Utf8Bytes};
pub use spearmint_stream::{
    ClientOptions, Error, Http2Mode, IntoClientRequest, KeepAlive, ServerOptions, StreamConfig,
    WebSocketReader, WebSocketStream, WebSocketWriter,
};

/// The tokio runtime: DNS, TCP, timers, and `connect`/`accept`.
#[cfg(feature = "runtime-tokio")]
pub mod tokio {
    pub use spearmint_tokio::*;
}

#[cfg(feature = "runtime-tokio")]
pub use defaults::{accept, connect};
#[cfg(feature = "runtime-tokio")]
pub use spearmint_tokio::{accept_with, connect_with};

/// permessage-deflate (RFC 7692): offers, server policy, the negotiated extension.
#[cfg(feature = "deflate")]
pub use spearmint_deflate as deflate;
