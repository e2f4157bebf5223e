//! The one connect/accept path of wintergreen, written once and generic over the
//! [`Runtime`](wintergreen_stream::Runtime) seam (tokio, smol and async-std each implement
//! it in their adapter crate):
//!
//! - [`Target`]: a URL → host, port, TLS (the scheme rule itself is
//!   [`UrlScheme`](wintergreen_handshake::UrlScheme)'s);
//! - DNS and TCP ([`tcp_connect`], errors naming the address) or a [`Connector`] of the
//!   caller's, through HTTP CONNECT and SOCKS5 proxies ([`proxy`]), TLS through
//!   tokio-rustls for every runtime (feature `rustls`; [`tls`]);
//! - the HTTP-version choice with the [`Http2Mode`] fallback, and shared HTTP/2 connections
//!   (feature `http2`; [`http2`]);
//! - [`connect`], [`handshake`] and [`accept`], each bounded by its timeout;
//! - serving on one port ([`serve`](fn@serve), [`accept_connection`]): HTTP/1.1, h2c with prior
//!   knowledge, and TLS (ALPN `h2` or `http/1.1`), bounded by the server's limits;
//! - [`ClientOptions`]/[`ServerOptions`] with one set of defaults (feature `deflate`: every
//!   connect offers permessage-deflate, every accept accepts it), and [`ConnectError`].
//!
//! Most users want the `wintergreen` facade crate instead.

#![deny(missing_docs)]

mod client;
mod connector;
mod error;
mod http1;
#[cfg(feature = "http2")]
pub mod http2;
mod options;
pub mod proxy;
mod serve;
mod server;
mod sniff;
mod target;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;
pub mod upgrade;

pub use client::{connect, handshake, tcp_connect};
pub use connector::Connector;
pub use error::{ConnectError, TimeoutKind, TlsError};
pub use http1::{client_handshake, server_handshake};
pub use options::{
    AcceptOptions, ClientHandshakeOptions, ClientOptions, ConnectOptions, Http2Mode,
    IntoClientRequest, InvalidUrl, ServerHandshakeOptions, ServerOptions,
};
pub use serve::{
    Accepted, AcceptedConnection, ServeError, ServerTransport, ServerWebSocket, WebSocketListener,
    accept_connection, serve,
};
pub use server::accept;
pub use sniff::Rewind;
pub use target::Target;
pub use transport::Transport;
