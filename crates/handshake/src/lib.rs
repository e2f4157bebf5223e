//! The version-neutral rules of the WebSocket opening handshake (RFC 6455 §4, RFC 8441),
//! sans-IO, on the `http` crate's types. Transports (HTTP/1.1 in `wintergreen-http1`,
//! HTTP/2 in `wintergreen-http2`) read and write the bytes and call these rules:
//!
//! - [`ClientRequest`]: what a client asks for; [`prepare`](ClientRequest::prepare)
//!   checks it and splits it into host, target, header fields and the [`ClientOffer`].
//! - [`validate_response`] and [`ClientOffer::accept_response`]: the client's checks of
//!   the server's answer.
//! - [`validate_request`], [`accept`], [`AcceptPolicy::negotiate`] and [`check_version`]:
//!   the server's checks of a request and the negotiated result.
//! - [`HandshakeError`] and [`Rejection`]: what went wrong, and the response a server
//!   answers a refusal with.
//! - [`headers`]: token lists and the `Sec-WebSocket-Extensions` grammar.
//! - [`accept_key`] and [`generate_key`]: `Sec-WebSocket-Key` / `Sec-WebSocket-Accept`.
//!
//! ```
//! use wintergreen_handshake::{AcceptPolicy, ClientRequest, accept, accept_key, generate_key,
//!                           validate_response};
//!
//! // Client: what to send.
//! let prepared = ClientRequest::from_url("ws://example.com/chat", http::HeaderMap::new())
//!     .unwrap()
//!     .prepare()
//!     .unwrap();
//! let key = generate_key();
//! let request = http::Request::get(prepared.target.as_str())
//!     .header("host", prepared.host.as_str())
//!     .header("upgrade", "websocket")
//!     .header("connection", "Upgrade")
//!     .header("sec-websocket-key", key.as_str())
//!     .header("sec-websocket-version", "13")
//!     .body(())
//!     .unwrap();
//!
//! // Server: judge it.
//! let (response, _negotiated) = accept(&request, &AcceptPolicy::new()).unwrap();
//! assert_eq!(response.status(), 101);
//!
//! // Client: check the answer.
//! validate_response(&response, &accept_key(key.as_bytes())).unwrap();
//! prepared.offer.accept_response(response.headers()).unwrap();
//! ```
//!
//! Most applications want the `wintergreen` facade crate, which runs these rules for them;
//! use this crate to build a transport of your own.

#![deny(missing_docs)]

mod client;
mod error;
pub mod headers;
mod key;
mod negotiate;
mod request;
mod response;
mod server;

pub use client::{ClientRequest, PreparedRequest, validate_response};
pub use error::{Fault, HandshakeError, MAX_REJECTION_MESSAGE, Rejection};
pub use key::{WEBSOCKET_GUID, accept_key, generate_key, is_valid_key};
pub use negotiate::{AcceptPolicy, ClientOffer, Negotiated, check_version};
pub use request::{RESERVED_REQUEST_HEADERS, UrlScheme, authority_port, check_reserved_headers};
pub use response::{HOP_BY_HOP_HEADERS, rejection_response, session_for};
pub use server::{accept, validate_request};

#[cfg(test)]
mod tests {
    /// Transports hand these across tasks and wrap the error in `std::io::Error`.
    #[test]
    fn handshake_types_are_send_and_errors_sync() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::HandshakeError>();
        send_sync::<crate::Rejection>();
        send_sync::<crate::AcceptPolicy>();
        send::<crate::ClientRequest>();
        send::<crate::PreparedRequest>();
    }
}
