//! The runtime-agnostic async driver of wintergreen. It is written once, generic over
//! `tokio::io::{AsyncRead, AsyncWrite}` (the traits only: no tokio runtime is needed), and
//! drives a sans-IO [`wintergreen_codec::Session`] over any byte stream on which the opening
//! handshake is done:
//!
//! - [`WebSocketStream`] is a `futures_core::Stream` of [`Message`]s and a
//!   `futures_sink::Sink` of them; [`WebSocketStream::split`] gives a reader and a
//!   writer half that two tasks can use at once.
//! - Pings are answered automatically; the session's timers (close timeout, optional
//!   keep-alive and idle timeout, all in [`wintergreen_codec::Config`]) run on one sleep
//!   (a split writer half closing against a peer that does not read waits on a second one,
//!   at the same deadline, so that the reader half keeps its own); closing is bounded by
//!   the close timeout even when the peer reads nothing;
//!   queued output is bounded (the session's `max_pending_output`), so a slow peer pushes
//!   back on sends, and reading pauses while a
//!   peer leaves the answers to its pings unread.
//!
//! It also defines the one runtime seam, [`Runtime`] (time, sleep, spawn, TCP), that the
//! runtime adapters (wintergreen-tokio, wintergreen-smol, wintergreen-async-std) implement,
//! and the one [`compat`] bridge for futures-io sockets. Most users want the `wintergreen`
//! facade crate instead.

#![deny(missing_docs)]

pub mod compat;
mod config;
mod driver;
mod error;
mod runtime;
mod spare;
mod split;

pub use config::{KeepAlive, StreamConfig};
pub use driver::WebSocketStream;
pub use error::Error;
pub use runtime::{BoxFuture, Runtime, Sleep, TcpListener, TcpStream, Timeout, timeout_at};
pub use split::{WebSocketReader, WebSocketWriter};

pub use wintergreen_codec::{CloseCode, CloseFrame, DataKind, Message, Role, Stats, Utf8Bytes};
