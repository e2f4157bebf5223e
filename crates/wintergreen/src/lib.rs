//! # wintergreen
//!
//! WebSockets for Rust, in the spirit of Elixir's Mint.WebSocket: the protocol lives in a
//! sans-IO core ([`codec`]) that takes bytes in and gives events and bytes out, and thin
//! async layers drive it over the runtime of your choice.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wintergreen::Message;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (mut ws, _response) = wintergreen::connect("ws://127.0.0.1:8080/").await?;
//! ws.send(Message::text("hello")).await?;
//! while let Some(message) = ws.next().await {
//!     println!("received {:?}", message?);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Crates and features
//! - [`codec`] (wintergreen-codec): frames, masking, UTF-8, the [`Session`](codec::Session)
//!   state machine. Usable alone.
//! - [`handshake`] and [`http1`]: the opening handshake, sans-IO, both roles.
//! - [`stream`]: the runtime-agnostic async driver ([`WebSocketStream`]).
//! - `deflate` (default): permessage-deflate, offered by every connect and accepted by
//!   every accept on every runtime ([`ClientOptions::default`], [`ServerOptions::default`]:
//!   one set of defaults); [`ClientBuilder::no_extensions`] and
//!   [`ServerBuilder::no_extensions`] opt out.
//! - [`with_runtime`] (wintergreen-connect): the one connect/accept path, generic over the
//!   [`Runtime`] seam, with [`ConnectError`]; each runtime module below is that path on one
//!   runtime.
//! - `runtime-tokio` (default): [`tokio`](mod@tokio) and the short [`connect`]/[`accept`].
//! - `runtime-smol`: [`smol`](mod@smol); `runtime-async-std`: [`async_std`](mod@async_std)
//!   (async-std is discontinued upstream; prefer smol). Same shape as [`tokio`](mod@tokio):
//!   `connect`, `connect_with`, `accept`, `accept_with`, `Transport`, `http2`.
//! - `rustls-tls` (default): `wss://` with rustls (no OpenSSL) on every enabled runtime,
//!   trusting webpki-roots; `rustls-native-roots`: the OS's roots. The crypto provider:
//!   `ring` (default) or `aws-lc-rs` (preferred when both are on). Servers serve TLS with
//!   [`ServerBuilder::tls`]. A
//!   custom root store or `rustls::ClientConfig` goes in `ConnectOptions::tls` (or `ClientBuilder::tls_config`)
//!   ([`tls`](mod@tls) builds them). SNI comes from the URL host; ALPN is
//!   `["h2", "http/1.1"]` when HTTP/2 is asked for, `["http/1.1"]` otherwise.
//! - `hyper`: [`hyper`](mod@hyper), WebSockets inside hyper 1 services over both HTTP
//!   versions; `axum`: [`axum`](mod@axum), the `WebSocketUpgrade` extractor (implies `hyper`).
//! - `http2`: WebSockets over HTTP/2 (RFC 8441) — `wintergreen::http2` (the transport),
//!   [`ConnectOptions::http2`] with [`Http2Mode`] in [`connect_with`], and
//!   `wintergreen::tokio::http2` (or `smol::http2`, …) for shared connections and servers.
//!
//! ## One example per runtime
//!
//! tokio (the default runtime; `wintergreen::connect` is `wintergreen::tokio` with
//! [`client_options`]):
//!
//! ```no_run
//! # #[cfg(feature = "runtime-tokio")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::{SinkExt, StreamExt};
//! let (mut ws, _) = wintergreen::tokio::connect_with("wss://example.com/ws", &wintergreen::client_options()).await?;
//! ws.send(wintergreen::Message::text("hello")).await?;
//! let reply = ws.next().await;
//! # drop(reply); Ok(()) }
//! ```
//!
//! smol (`features = ["runtime-smol"]`):
//!
//! ```no_run
//! # #[cfg(feature = "runtime-smol")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::{SinkExt, StreamExt};
//! smol::block_on(async {
//!     let (mut ws, _) = wintergreen::smol::connect_with("wss://example.com/ws", &wintergreen::client_options()).await?;
//!     ws.send(wintergreen::Message::text("hello")).await?;
//!     let reply = ws.next().await;
//!     # drop(reply);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! async-std (`features = ["runtime-async-std"]`; discontinued upstream, prefer smol):
//!
//! ```no_run
//! # #[cfg(feature = "runtime-async-std")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::{SinkExt, StreamExt};
//! async_std::task::block_on(async {
//!     let (mut ws, _) = wintergreen::async_std::connect_with("wss://example.com/ws", &wintergreen::client_options()).await?;
//!     ws.send(wintergreen::Message::text("hello")).await?;
//!     let reply = ws.next().await;
//!     # drop(reply);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Memory per connection
//!
//! An idle connection holds its [`WebSocketStream`] (about 1 KiB: the
//! [`Session`](codec::Session) and the driver; buffers are released while idle and taken
//! again from a per-thread spare), the runtime's socket registration and, on a server, the
//! task that serves it. A task is as large as its future's largest state, kept for the
//! task's whole life, so what is alive across the handshake's `.await` stays in the task
//! after it. That is why the handshake futures ([`connect`], [`connect_with`],
//! [`accept`], [`accept_with`], [`ClientBuilder::connect`], [`ServerBuilder::accept`]) are
//! boxed: their state is freed when the WebSocket is open. Two habits keep a serving task
//! small: take the options by reference from something that outlives the task (an
//! `Arc<ServerOptions>`, a `static`, the [`ServerBuilder`]) or use [`accept`], rather than
//! building them in the task (`accept_with(tcp, &ServerOptions::default())` keeps the
//! options, about 360 bytes, in the task); and drop the upgrade request if it is not needed.
//!
//! ## Bursts and several writers
//!
//! Messages are queued in the session and written when the stream is flushed: `feed` several
//! then `flush` once, or `send_all`, and the whole burst leaves in one write (within
//! [`Config::max_pending_output`](codec::Config::max_pending_output)). For
//! several tasks writing to one connection, give them a channel and let one task drive the
//! writer half with `send_all`: it feeds whatever the channel holds and flushes only when the
//! channel is empty, so what the tasks send while a write is under way leaves together in
//! the next one.
//!
//! ```no_run
//! # #[cfg(feature = "runtime-tokio")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::{SinkExt as _, StreamExt as _};
//! use wintergreen::Message;
//!
//! let (ws, _) = wintergreen::connect("ws://127.0.0.1:9001/").await?;
//! let (reader, mut writer) = ws.split();
//! let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(1024);
//! tokio::spawn(async move {
//!     let mut queued = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).map(Ok);
//!     writer.send_all(&mut queued).await
//! });
//! for n in 0..4 {
//!     let tx = tx.clone();
//!     tokio::spawn(async move { tx.send(Message::text(format!("hello from {n}"))).await });
//! }
//! # drop(reader); Ok(()) }
//! ```

#![deny(missing_docs)]

mod builder;
mod defaults;
#[macro_use]
mod runtimes;
pub mod upgrade;

/// The `bytes` crate, whose `Bytes` carries message payloads without copying.
pub use ::bytes;
/// The `http` crate, whose `Request`, `Response`, `HeaderMap`, `StatusCode` and `Uri` the API
/// speaks, re-exported so that no extra dependency is needed to name them.
#[doc(inline)]
pub use ::http;

// README.md's Rust blocks are compiled (and the runnable ones run) as doc tests of this crate:
// what a user copies from the README builds. `cargo xtask ci` also builds and runs its client
// and server blocks as written, in a crate of their own.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub use builder::{ClientBuilder, ServerBuilder};
pub use defaults::{client_options, server_options};
#[cfg(feature = "runtime-async-std")]
pub use runtimes::async_std;
#[cfg(feature = "runtime-smol")]
pub use runtimes::smol;
#[cfg(feature = "runtime-tokio")]
pub use runtimes::tokio;
// The workspace's crates are inlined, so that the facade's docs (`cargo doc -p wintergreen
// --no-deps`, what docs.rs builds) hold every page their links lead to.
#[doc(inline)]
pub use wintergreen_codec as codec;
#[doc(inline)]
pub use wintergreen_handshake as handshake;
#[doc(inline)]
pub use wintergreen_http1 as http1;
#[doc(inline)]
pub use wintergreen_stream as stream;
// The one connect/accept path, generic over the `Runtime` seam (what each runtime module is
// on one runtime, and what a runtime of your own plugs into); its docs are its own.
#[doc(inline)]
pub use wintergreen_connect as with_runtime;

// Re-exported modules bring their own docs: a doc comment here would be shown before theirs,
// a second summary.
#[cfg(feature = "http2")]
pub use wintergreen_connect::http2;

pub use wintergreen_codec::{CloseCode, CloseFrame, Config, DataKind, Message, Role, Utf8Bytes};
pub use wintergreen_codec::{ConnectionError, ExtensionError, ProtocolError, SendError, TimerKind};
pub use wintergreen_connect::proxy;
pub use wintergreen_connect::{
    AcceptOptions, ClientHandshakeOptions, ClientOptions, ConnectError, ConnectOptions, Connector,
    Http2Mode, IntoClientRequest, ServerHandshakeOptions, ServerOptions, TimeoutKind, TlsError,
    Transport,
};
/// Who a failed connect or handshake is the fault of: [`ConnectError::fault`].
pub use wintergreen_handshake::Fault;
/// The running stream's error. What its variants carry is re-exported here at the root (and
/// stays at `wintergreen::codec::…`): [`ConnectionError`] with [`ProtocolError`] and
/// [`TimerKind`], [`SendError`], and [`ExtensionError`] inside either.
///
/// ```
/// use wintergreen::{ConnectionError, Error, ProtocolError, SendError, TimerKind};
///
/// fn describe(err: &Error) -> &'static str {
///     match err {
///         Error::Connection(ConnectionError::Protocol(ProtocolError::InvalidUtf8)) => {
///             "the peer sent a text message that is not UTF-8"
///         }
///         Error::Connection(ConnectionError::TimedOut(TimerKind::KeepAlive)) => {
///             "the peer went silent after a ping"
///         }
///         Error::Connection(_) => "the connection ended badly",
///         Error::Send(SendError::AlreadyClosed) => "sent after close",
///         Error::Send(_) => "the message could not be sent",
///         Error::Io(_) => "reading or writing the byte stream failed",
///         _ => "another error",
///     }
/// }
/// let timed_out = Error::Connection(ConnectionError::TimedOut(TimerKind::KeepAlive));
/// assert_eq!(describe(&timed_out), "the peer went silent after a ping");
/// ```
pub use wintergreen_stream::Error;
pub use wintergreen_stream::{
    KeepAlive, Runtime, StreamConfig, WebSocketReader, WebSocketStream, WebSocketWriter,
};

#[cfg(feature = "__rustls")]
pub use wintergreen_connect::tls;

// Serving on one port (HTTP/1.1, h2c, TLS with ALPN): what `ServerBuilder::listen`, `serve`
// and `accept_connection` return. (A doc comment on a `use` list would be prepended to each
// item's own.)
pub use wintergreen_connect::{
    Accepted, AcceptedConnection, ServeError, ServerTransport, ServerWebSocket, WebSocketListener,
};

#[cfg(feature = "runtime-tokio")]
pub use runtimes::tokio::{accept, accept_with, connect, connect_with};

#[cfg(feature = "hyper")]
#[doc(inline)]
pub use wintergreen_hyper as hyper;

#[cfg(feature = "axum")]
pub use wintergreen_hyper::axum;

#[cfg(feature = "deflate")]
#[doc(inline)]
pub use wintergreen_deflate as deflate;
