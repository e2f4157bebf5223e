//! Accepting a WebSocket after another HTTP stack (hyper, axum, …) read the request:
//! [`response_for`] judges it and gives the response to send, [`rejection_response`]
//! answers a refusal, and [`from_upgraded`] (tokio) or [`PendingUpgrade::into_stream`]
//! drives the WebSocket over the upgraded connection. See [`wintergreen_connect::upgrade`].
//!
//! With hyper or axum, the `hyper` and `axum` features do all of this (the version check,
//! hyper's upgrade handle, the spawn and the body type): `wintergreen::hyper::upgrade` and
//! the `wintergreen::axum::WebSocketUpgrade` extractor. These functions are for other HTTP
//! stacks.
//!
//! ```no_run
//! # async fn run(mut request: http::Request<()>) {
//! let options = wintergreen::server_options();
//! match wintergreen::upgrade::response_for(&request, &options) {
//!     Ok((response, pending)) => {
//!         // hyper: let upgraded = hyper::upgrade::on(&mut request); send `response`;
//!         // then: let ws = wintergreen::upgrade::from_upgraded(TokioIo::new(upgraded.await?), pending);
//!         # drop((response, pending));
//!     }
//!     Err(err) => {
//!         let response = wintergreen::upgrade::rejection_response(&err); // send it
//!         # drop(response);
//!     }
//! }
//! # }
//! ```

pub use wintergreen_connect::upgrade::{PendingUpgrade, rejection_response, response_for};

/// [`PendingUpgrade::into_stream`] on the tokio runtime. With hyper, wrap its `Upgraded` in
/// `hyper_util::rt::TokioIo` and pass it here.
#[cfg(feature = "runtime-tokio")]
pub fn from_upgraded<IO>(io: IO, pending: PendingUpgrade) -> wintergreen_stream::WebSocketStream<IO>
where
    IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin,
{
    pending.into_stream(io, Some(crate::tokio::runtime()))
}
