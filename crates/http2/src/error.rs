//! The HTTP/2 transport's error.

use std::io;

use wintergreen_handshake::{Fault, HandshakeError};

/// What can go wrong opening or accepting WebSockets over HTTP/2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server's SETTINGS do not set `SETTINGS_ENABLE_CONNECT_PROTOCOL` to 1
    /// (RFC 8441 §3): it cannot carry WebSockets over HTTP/2. (h2 itself would send the
    /// request anyway; wintergreen refuses, as Mint does.)
    #[error(
        "the server does not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL is not 1)"
    )]
    ExtendedConnectDisabled,
    /// The HTTP/2 connection preface failed before the server's SETTINGS arrived: the peer
    /// most likely does not speak HTTP/2 with prior knowledge (e.g. an HTTP/1.1-only server).
    #[error("the HTTP/2 connection preface failed (does the peer speak HTTP/2?): {0}")]
    Preface(#[source] h2::Error),
    /// The server's connection preface is not a SETTINGS frame (RFC 9113 §3.4): it answered
    /// our PING (or sent another frame) before any SETTINGS, so no SETTINGS arrived within
    /// [`settings_timeout`](crate::Http2Config::settings_timeout) and nothing says whether
    /// it enables extended CONNECT. (Not [`ExtendedConnectDisabled`](Self::ExtendedConnectDisabled):
    /// the server never said so.)
    #[error(
        "the server sent no HTTP/2 SETTINGS (its first frame had type {first_frame:#04x}, RFC 9113 §3.4 requires SETTINGS)"
    )]
    NoSettings {
        /// The type of the first frame the server sent instead (RFC 9113 §6; 0x6 is PING).
        first_frame: u8,
    },
    /// The server's SETTINGS did not arrive within
    /// [`settings_timeout`](crate::Http2Config::settings_timeout).
    #[error("the server's HTTP/2 SETTINGS did not arrive in time")]
    SettingsTimeout,
    /// The opening handshake failed: a non-2xx answer is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed) (status, header fields, and the
    /// start of the body); a bad subprotocol or extension answer, an invalid URI, or a
    /// reserved header are the other variants.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// An HTTP/2 connection or stream error (a protocol error, a reset, a lost connection).
    /// Its message says whose doing it was: the peer's reset or GOAWAY, a protocol
    /// violation h2 caught in what the peer sent, or the connection's I/O.
    #[error("{cause}: {0}", cause = h2_cause(.0))]
    H2(#[from] h2::Error),
    /// Reading or writing the connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// Every stream the server allows at once (its `SETTINGS_MAX_CONCURRENT_STREAMS`,
    /// RFC 9113 §5.1.2) was in use, and none became free within
    /// [`stream_wait_timeout`](crate::Http2Config::stream_wait_timeout) (or the open's own
    /// timeout, if shorter). Open a new connection, or retry once a WebSocket is dropped.
    #[error(
        "the server's limit of {max_concurrent_streams} concurrent HTTP/2 streams was reached and no stream became free within {waited:?}"
    )]
    StreamLimit {
        /// The server's limit when the wait ended.
        max_concurrent_streams: usize,
        /// How long the open waited for a free stream.
        waited: std::time::Duration,
    },
    /// The connection preface (server side) or the extended CONNECT exchange took longer
    /// than allowed.
    #[error("timed out: {0}")]
    Timeout(&'static str),
}

/// Who ended the stream or connection, for [`Error::H2`]'s message (h2's own message names
/// the reason code, not who sent it).
fn h2_cause(err: &h2::Error) -> &'static str {
    if err.is_io() {
        "the HTTP/2 connection's I/O failed"
    } else if err.is_remote() && err.is_go_away() {
        "the peer closed the HTTP/2 connection (GOAWAY)"
    } else if err.is_remote() && err.is_reset() {
        "the peer reset the HTTP/2 stream (RST_STREAM)"
    } else if err.is_library() {
        "the peer broke the HTTP/2 protocol"
    } else {
        "HTTP/2"
    }
}

impl Error {
    /// Whether this says the server cannot carry WebSockets over HTTP/2 at all (no HTTP/2
    /// with prior knowledge, no SETTINGS in time or at all, or extended CONNECT disabled), so that a
    /// client may fall back to HTTP/1.1 on a new connection.
    pub fn is_http2_unsupported(&self) -> bool {
        matches!(
            self,
            Self::ExtendedConnectDisabled
                | Self::Preface(_)
                | Self::SettingsTimeout
                | Self::NoSettings { .. }
        )
    }

    /// Who is at fault: a server that cannot carry WebSockets over HTTP/2
    /// ([`is_http2_unsupported`](Self::is_http2_unsupported)) or has no free stream is a
    /// [`Refusal`](Fault::Refusal); an h2 error is the [`Network`](Fault::Network)'s when
    /// it is I/O and the peer's otherwise (its reset, its GOAWAY, its protocol violation);
    /// the handshake's errors are [`HandshakeError::fault`]'s.
    pub fn fault(&self) -> Fault {
        match self {
            Self::ExtendedConnectDisabled
            | Self::Preface(_)
            | Self::SettingsTimeout
            | Self::NoSettings { .. }
            | Self::StreamLimit { .. } => Fault::Refusal,
            Self::Handshake(err) => err.fault(),
            Self::H2(err) if err.is_io() => Fault::Network,
            Self::H2(_) => Fault::Peer,
            Self::Io(_) | Self::Timeout(_) => Fault::Network,
        }
    }

    /// The handshake error, if that is what this is.
    pub fn as_handshake(&self) -> Option<&HandshakeError> {
        match self {
            Self::Handshake(err) => Some(err),
            _ => None,
        }
    }
}

/// An h2 error as an I/O error for the byte pipe, keeping the h2 error as the source.
pub(crate) fn into_io(err: h2::Error) -> io::Error {
    if err.is_io() {
        return match err.into_io() {
            Some(err) => err,
            None => io::Error::other("HTTP/2 I/O error"),
        };
    }
    let kind = if err.is_reset() || err.is_go_away() {
        io::ErrorKind::ConnectionReset
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, err)
}
