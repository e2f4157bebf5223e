//! The running stream's error: by operation (reading and writing the byte stream, the
//! connection's end, sending).

use std::{fmt, io};

use wintergreen_codec::{ConnectionError, SendError};

/// What can go wrong on a running WebSocket stream. Opening one (connecting, the opening
/// handshake) has its own error, in the crate that opens it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the byte stream failed.
    Io(io::Error),
    /// The connection ended badly: the peer broke the protocol (we sent the matching close
    /// code), the stream ended without a close handshake (1006), or one of the session's
    /// timers ran out: the peer did not answer our close in time, or went silent past the
    /// keep-alive or idle timeout (`ConnectionError::TimedOut(TimerKind::Close | KeepAlive |
    /// Idle)`).
    Connection(ConnectionError),
    /// A message could not be sent, e.g. after the connection was closed: the caller's
    /// misuse.
    Send(SendError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(err) => write!(f, "I/O error: {err}"),
            Self::Connection(err) => err.fmt(f),
            Self::Send(err) => write!(f, "cannot send: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Connection(err) => Some(err),
            Self::Send(err) => Some(err),
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<ConnectionError> for Error {
    fn from(err: ConnectionError) -> Self {
        Self::Connection(err)
    }
}

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        Self::Send(err)
    }
}
