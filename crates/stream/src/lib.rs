//! # wintergreen-stream
//!
//! The runtime-agnostic async driver of wintergreen. It is written once, generic over
//! `tokio::io::{AsyncRead, AsyncWrite}` (the traits only: no tokio runtime is needed), and
//! drives a sans-IO [`wintergreen_codec::Session`] over any byte stream:
//!
//! - [`WebSocketStream`] is a [`Stream`](futures_core::Stream) of [`Message`]s and a
//!   [`Sink`](futures_sink::Sink) of them; [`WebSocketStream::split`] gives a reader and a
//!   writer half that two tasks can use at once.
//! - Pings are answered automatically; the session's timers (close timeout, optional
//!   keep-alive and idle timeout, all in [`wintergreen_codec::Config`]) run on one sleep;
//!   the write buffer is bounded, so a slow peer pushes back, and reading pauses while a
//!   peer leaves the answers to its pings unread.
//! - [`client_handshake`] and [`server_handshake`] run the HTTP/1.1 upgrade over the stream.
//!
//! Timers come from the runtime through the small [`Timer`] trait; the runtime crates
//! (wintergreen-tokio, wintergreen-smol, …) provide it.
//!
//! Features: `rustls` adds [`ClientOptions::tls`] and the shared TLS configuration
//! (`tls` module; roots from `webpki-roots` and/or `native-roots`).

#![deny(missing_docs)]

mod config;
mod driver;
mod error;
mod handshake;
mod options;
mod split;
mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
pub mod upgrade;

pub use config::{KeepAlive, StreamConfig};
pub use driver::WebSocketStream;
pub use error::Error;
pub use handshake::{client_handshake, server_handshake};
pub use options::{ClientOptions, Http2Mode, IntoClientRequest, ServerOptions, Target};
pub use split::{WebSocketReader, WebSocketWriter};
pub use timer::{Sleep, Timer};

pub use wintergreen_codec::{CloseCode, CloseFrame, DataKind, Message, Role, Utf8Bytes};
pub use wintergreen_http1::{ClientConfig, ServerConfig};
