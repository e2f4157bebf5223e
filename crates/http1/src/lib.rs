//! The HTTP/1.1 transport, sans-IO: the HTTP/1.1 wire (RFC 9112: an incremental,
//! bounded head reader on httparse, the head writer, a refusal's body framing and chunked
//! decoding) and the WebSocket opening handshake over it (RFC 6455 §4, with the
//! version-neutral rules of [`wintergreen_handshake`]). Once upgraded, the byte stream goes
//! to a [`wintergreen_codec::Session`], with any bytes that arrived after the handshake
//! already fed to it.
//!
//! Most applications want the `wintergreen` facade crate, which runs this transport over a
//! socket; use this crate for HTTP/1.1 over a byte stream of your own.
//!
//! - [`ClientHandshake`] and [`ServerHandshake`]: the handshake alone (bytes in, response
//!   or decision out), for a caller that builds its own session or relays the stream.
//! - Client: [`ClientUpgrade::new`] queues the request; write
//!   [`pending_output`](PendingOutput::pending_output), feed the server's bytes to
//!   [`receive`](ClientUpgrade::receive) until it yields a [`ClientUpgraded`].
//! - Server: feed the client's bytes to [`ServerUpgrade::receive`] until it yields a
//!   [`ServerUpgraded`]; write its output, then run the session or close.
//!
//! Every buffer a peer fills during the handshake is bounded by [`Limits`] (documented
//! defaults), no input makes the parsers panic, and every failure is a typed [`Error`]
//! that says who is at fault.
//!
//! ```
//! use wintergreen_codec::{Event, Message};
//! use wintergreen_http1::{
//!     ClientConfig, ClientUpgrade, PendingOutput, ServerConfig, ServerUpgrade, ServerUpgraded,
//! };
//!
//! let request = http::Request::get("ws://localhost/").body(()).unwrap();
//! let mut client = ClientUpgrade::new(request, ClientConfig::default()).unwrap();
//! let mut server = ServerUpgrade::new(ServerConfig::default());
//!
//! let Some(ServerUpgraded::Accepted(mut accepted)) = server.receive(client.pending_output()).unwrap() else {
//!     panic!("rejected");
//! };
//! let mut client = client.receive(accepted.pending_output()).unwrap().unwrap().session;
//! accepted.consume_output(accepted.pending_output().len());
//! let mut server = accepted.into_parts().unwrap().session;
//!
//! client.send_text("hello").unwrap();
//! server.receive(std::time::Instant::now(), client.pending_output());
//! assert!(matches!(server.poll_event(), Some(Ok(Event::Message(Message::Text(t)))) if t == "hello"));
//! ```

#![deny(missing_docs)]

mod body;
mod client;
mod error;
mod head;
mod limits;
mod output;
mod response;
mod server;
mod write;

pub use client::{ClientAccept, ClientConfig, ClientHandshake, ClientUpgrade, ClientUpgraded};
pub use error::{Error, ParseError};
pub use limits::Limits;
pub use output::PendingOutput;
pub use response::ResponseReader;
pub use server::{
    AcceptedParts, ServerAccept, ServerAccepted, ServerConfig, ServerDecision, ServerHandshake,
    ServerReject, ServerRejected, ServerUpgrade, ServerUpgraded,
};
pub use wintergreen_handshake::{AcceptPolicy, HandshakeError, Rejection};
pub use write::{write_rejection, write_response};

#[cfg(test)]
mod tests {
    /// The async driver moves these across tasks and wraps the error in `std::io::Error`.
    #[test]
    fn upgrade_types_are_send_and_errors_sync() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Error>();
        send_sync::<crate::ClientConfig>();
        send_sync::<crate::ServerConfig>();
        send::<crate::ClientUpgrade>();
        send::<crate::ServerUpgrade>();
        send::<crate::ClientUpgraded>();
        send::<crate::ServerUpgraded>();
        send_sync::<crate::ClientHandshake>();
        send_sync::<crate::ServerHandshake>();
        send::<crate::ClientAccept>();
        send::<crate::ServerDecision>();
    }
}
