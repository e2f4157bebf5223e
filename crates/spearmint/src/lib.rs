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
//! - `runtime-tokio` (default): [`tokio`](mod@tokio) and the short [`connect`]/[`accept`].

#![deny(missing_docs)]

mod builder;

pub use builder::ClientBuilder;
pub use spearmint_codec as codec;
pub use spearmint_handshake as handshake;
pub use spearmint_http1 as http1;
pub use spearmint_stream as stream;

pub use spearmint_codec::{CloseCode, CloseFrame, Config, Message, Role, Utf8Bytes};
pub use spearmint_stream::{
    ClientOptions, Error, IntoClientRequest, KeepAlive, ServerOptions, StreamConfig,
    WebSocketReader, WebSocketStream, WebSocketWriter,
};

/// The tokio runtime: DNS, TCP, timers, and `connect`/`accept`.
#[cfg(feature = "runtime-tokio")]
pub mod tokio {
    pub use spearmint_tokio::*;
}

#[cfg(feature = "runtime-tokio")]
pub use spearmint_tokio::{accept, accept_with, connect, connect_with};
