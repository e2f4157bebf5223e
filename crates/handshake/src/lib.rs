//! # wintergreen-handshake
//!
//! The WebSocket opening handshake (RFC 6455 §4), sans-IO, on the `http` crate's types,
//! for both roles:
//!
//! - [`ClientHandshake`]: writes the HTTP/1.1 upgrade request for a [`ClientRequest`] and
//!   judges the server's response, read incrementally.
//! - [`ServerHandshake`]: reads a request incrementally and judges it with an
//!   [`AcceptPolicy`], producing the 101 or a rejection response to write.
//! - [`ClientOffer`], [`AcceptPolicy::negotiate`] and [`check_version`]: the subprotocol
//!   and extension rules alone, on header maps, for an HTTP/2 (RFC 8441) transport too.
//! - [`headers`]: token lists and the `Sec-WebSocket-Extensions` grammar.
//! - [`accept_key`] and [`generate_key`]: `Sec-WebSocket-Key` / `Sec-WebSocket-Accept`.
//!
//! Every limit is in [`HandshakeLimits`], with documented defaults; no input makes the
//! parsers panic or buffer without bound, and every failure is a typed [`HandshakeError`].
//!
//! ```
//! use wintergreen_handshake::{AcceptPolicy, ClientHandshake, ClientRequest, HandshakeLimits,
//!                           ServerDecision, ServerHandshake};
//!
//! let request = ClientRequest::from_url("ws://example.com/chat", http::HeaderMap::new()).unwrap();
//! let mut client = ClientHandshake::new(request).unwrap();
//! let mut server = ServerHandshake::new(AcceptPolicy::new(), HandshakeLimits::default());
//!
//! let Some(ServerDecision::Accept(accepted)) = server.receive(client.request_bytes()).unwrap() else {
//!     panic!("rejected");
//! };
//! let response = client.receive(&accepted.response_bytes).unwrap().unwrap();
//! assert_eq!(response.response.status(), 101);
//! ```

#![deny(missing_docs)]

mod client;
mod error;
pub mod headers;
mod key;
mod limits;
mod negotiate;
mod parse;
mod request;
mod response;
mod server;
mod write;

pub use client::{ClientAccept, ClientHandshake, ClientRequest};
pub use error::{Fault, HandshakeError, Rejection};
pub use key::{WEBSOCKET_GUID, accept_key, generate_key, is_valid_key};
pub use limits::HandshakeLimits;
pub use negotiate::{AcceptPolicy, ClientOffer, Negotiated, check_version};
pub use request::{RESERVED_REQUEST_HEADERS, UrlScheme, check_reserved_headers};
pub use response::{HOP_BY_HOP_HEADERS, rejection_response, session_for};
pub use server::{
    ServerAccept, ServerDecision, ServerHandshake, ServerReject, accept, validate_request,
    write_rejection, write_response,
};

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
        send_sync::<crate::ClientHandshake>();
        send_sync::<crate::ServerHandshake>();
        send::<crate::ClientAccept>();
        send::<crate::ServerDecision>();
    }
}
