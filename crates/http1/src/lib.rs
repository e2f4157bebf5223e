//! # wintergreen-http1
//!
//! The HTTP/1.1 upgrade transport, sans-IO: runs the WebSocket opening handshake
//! (RFC 6455 §4, via [`wintergreen_handshake`]) over one byte stream, then hands the stream
//! to a [`wintergreen_codec::Session`], with any bytes that arrived after the handshake
//! already fed to it.
//!
//! - Client: [`ClientUpgrade::new`] queues the request; write
//!   [`pending_output`](ClientUpgrade::pending_output), feed the server's bytes to
//!   [`receive`](ClientUpgrade::receive) until it yields a [`ClientUpgraded`].
//! - Server: feed the client's bytes to [`ServerUpgrade::receive`] until it yields a
//!   [`ServerUpgraded`]; write its output, then run the session or close.
//!
//! ```
//! use wintergreen_codec::{Event, Message};
//! use wintergreen_http1::{ClientConfig, ClientUpgrade, ServerConfig, ServerUpgrade, ServerUpgraded};
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

mod client;
mod error;
mod server;

pub use client::{ClientConfig, ClientUpgrade, ClientUpgraded};
pub use error::Error;
pub use server::{
    AcceptedParts, ServerAccepted, ServerConfig, ServerRejected, ServerUpgrade, ServerUpgraded,
};
pub use wintergreen_handshake::{AcceptPolicy, HandshakeError, HandshakeLimits, Rejection};

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
    }
}
