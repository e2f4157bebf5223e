//! The one bridge from the futures-io world (smol, async-std) to the tokio-io traits the
//! driver is written against: tokio-util's [`Compat`].
//!
//! ```
//! use wintergreen_stream::compat::FuturesAsyncReadCompatExt as _;
//! # fn wrap<T: futures_io::AsyncRead + futures_io::AsyncWrite>(socket: T) {
//! let socket = socket.compat(); // now tokio::io::{AsyncRead, AsyncWrite}
//! # let _ = socket; }
//! ```

pub use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};
