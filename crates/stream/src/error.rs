//! The driver's error type.

use std::{fmt, io};

use wintergreen_codec::{ConnectionError, SendError};

/// What can go wrong on a WebSocket stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the byte stream failed.
    Io(io::Error),
    /// The opening handshake failed.
    Handshake(wintergreen_http1::Error),
    /// The connection ended badly: the peer broke the protocol (we sent the matching close
    /// code), the stream ended without a close handshake (1006), or the peer did not answer
    /// our close in time.
    Connection(ConnectionError),
    /// A message could not be sent, e.g. after the connection was closed.
    Send(SendError),
    /// Keep-alive: the peer sent nothing for longer than the interval plus the timeout.
    KeepAliveTimeout,
    /// The URL or request could not be used (bad syntax, unsupported scheme, no host).
    InvalidRequest(String),
    /// Connecting (DNS + TCP) or the opening handshake took longer than allowed.
    Timeout(&'static str),
    /// `wss://` was asked for but this build has no TLS support.
    TlsUnavailable,
    /// TLS could not be set up (no root certificates, a configuration error). Failures of
    /// the TLS handshake itself arrive as [`Error::Io`].
    Tls(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// HTTP/2 was required, but the server's SETTINGS do not enable the extended CONNECT
    /// protocol (RFC 8441 §3), so it cannot carry WebSockets over HTTP/2.
    ExtendedConnectDisabled,
    /// The HTTP/2 transport failed (connection or stream error, or a peer that does not
    /// speak HTTP/2). The source is the transport's own error type (`wintergreen_http2::Error`),
    /// kept opaque here so that this crate needs no HTTP/2 dependency.
    Http2(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// HTTP/2 was asked for, but this build has no HTTP/2 support (the `http2` feature).
    Http2Unavailable,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(err) => write!(f, "I/O error: {err}"),
            Self::Handshake(err) => write!(f, "handshake failed: {err}"),
            Self::Connection(err) => err.fmt(f),
            Self::Send(err) => write!(f, "cannot send: {err}"),
            Self::KeepAliveTimeout => f.write_str("keep-alive timeout: the peer went silent"),
            Self::InvalidRequest(msg) => write!(f, "invalid request: {msg}"),
            Self::Timeout(what) => write!(f, "timed out: {what}"),
            Self::TlsUnavailable => f.write_str("wss:// needs TLS, which this build lacks"),
            Self::Tls(err) => write!(f, "TLS: {err}"),
            Self::ExtendedConnectDisabled => f.write_str(
                "the server does not enable extended CONNECT (RFC 8441): no WebSockets over HTTP/2",
            ),
            Self::Http2(err) => write!(f, "HTTP/2: {err}"),
            Self::Http2Unavailable => {
                f.write_str("HTTP/2 was asked for, but this build lacks the http2 feature")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Handshake(err) => Some(err),
            Self::Connection(err) => Some(err),
            Self::Send(err) => Some(err),
            Self::Http2(err) | Self::Tls(err) => Some(&**err),
            Self::KeepAliveTimeout
            | Self::InvalidRequest(_)
            | Self::Timeout(_)
            | Self::TlsUnavailable
            | Self::ExtendedConnectDisabled
            | Self::Http2Unavailable => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<wintergreen_http1::Error> for Error {
    fn from(err: wintergreen_http1::Error) -> Self {
        Self::Handshake(err)
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
