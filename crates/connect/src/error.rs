//! [`ConnectError`]: what can go wrong opening (or accepting) a WebSocket, by operation —
//! the request, DNS, TCP, TLS, the opening handshake, HTTP/2 — and by fault.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use wintergreen_handshake::{Fault, HandshakeError};

use crate::proxy::ProxyError;

/// Which bound ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// DNS resolution plus TCP connect ([`ConnectOptions::connect_timeout`](crate::ConnectOptions::connect_timeout)).
    Connect,
    /// The TLS handshake (bounded by the handshake timeout).
    Tls,
    /// The opening handshake: the HTTP/1.1 upgrade, or the HTTP/2 preface, SETTINGS and
    /// extended CONNECT exchange.
    Handshake,
    /// A proxy's exchange (HTTP CONNECT or SOCKS5), bounded by the handshake timeout.
    Proxy,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Tls => "TLS handshake",
            Self::Handshake => "opening handshake",
            Self::Proxy => "proxy exchange",
        })
    }
}

/// A failed TLS connection, sorted by what an application acts on. rustls's own error
/// stays inside, typed.
///
/// ```
/// # use wintergreen_connect::{ConnectError, TlsError};
/// # fn show(err: ConnectError) {
/// match err {
///     ConnectError::Tls(TlsError::UntrustedCertificate(why)) => println!("not trusted: {why}"),
///     ConnectError::Tls(TlsError::NameMismatch(_)) => println!("certificate for another name"),
///     ConnectError::Tls(other) => println!("TLS failed: {other}"),
///     other => println!("failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS configuration could not be built (no root certificates, no crypto provider,
    /// a provider refusing the protocol versions): the caller's or the build's fault.
    #[error("TLS configuration: {0}")]
    Config(#[source] Arc<dyn StdError + Send + Sync>),
    /// The peer's certificate is not trusted: an unknown issuer, expired or not yet
    /// valid, revoked, a bad signature or encoding — any [`rustls::CertificateError`] but
    /// a name mismatch, as rustls reports it (`rustls::Error::InvalidCertificate`).
    #[cfg(feature = "rustls")]
    #[error("TLS: the peer's certificate is not trusted: {}", Untrusted(.0))]
    UntrustedCertificate(rustls::CertificateError),
    /// The server's certificate is valid but not for the name connected to
    /// (`CertificateError::NotValidForName` or `NotValidForNameContext`, which names both).
    #[cfg(feature = "rustls")]
    #[error("TLS: the certificate does not match the server name: {0:?}")]
    NameMismatch(rustls::CertificateError),
    /// The server's answer is not TLS at all: its first bytes are no TLS record (rustls's
    /// `InvalidMessage::InvalidContentType`). Most often a plain `ws://` (HTTP) server at a
    /// `wss://` URL, answering the TLS hello with an HTTP error.
    #[cfg(feature = "rustls")]
    #[error(
        "TLS handshake: the server did not answer in TLS (a plain ws:// or HTTP server on this port?): {0}"
    )]
    NotTls(#[source] rustls::Error),
    /// Any other handshake failure, as rustls reports it: an alert from the peer (e.g.
    /// it did not trust our certificate), a protocol violation, no common version,
    /// cipher suite or ALPN protocol.
    #[cfg(feature = "rustls")]
    #[error("TLS handshake: {0}")]
    Handshake(#[source] rustls::Error),
    /// The connection failed during the TLS handshake (reset, closed).
    #[error("I/O during the TLS handshake: {0}")]
    Io(#[source] io::Error),
}

impl TlsError {
    /// Who is at fault: the caller (or the build) for a configuration that cannot be
    /// built, the [`Network`](Fault::Network) for I/O, and the peer for the rest — a
    /// certificate this side does not trust, an answer that is not TLS, a failed handshake.
    pub fn fault(&self) -> Fault {
        match self {
            Self::Config(_) => Fault::Caller,
            Self::Io(_) => Fault::Network,
            #[cfg(feature = "rustls")]
            Self::UntrustedCertificate(_)
            | Self::NameMismatch(_)
            | Self::NotTls(_)
            | Self::Handshake(_) => Fault::Peer,
        }
    }

    /// A configuration error, keeping its typed cause.
    pub fn config(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Config(Arc::new(err))
    }
}

/// Why a certificate is not trusted, in words: rustls's own text for most reasons (it
/// gives the times of an expired one, for example), and a sentence for the two a user
/// meets most — a private CA's certificate that is not among the roots, and a self-signed
/// server certificate made as a CA, which rustls reports only as an opaque `Other`.
#[cfg(feature = "rustls")]
struct Untrusted<'a>(&'a rustls::CertificateError);

#[cfg(feature = "rustls")]
impl std::fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use rustls::CertificateError as C;
        match self.0 {
            C::UnknownIssuer => f.write_str(
                "its issuer is not among the trusted roots (a private CA goes in the \
                 roots: tls::root_store_from_pem)",
            ),
            C::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                f.write_str(
                    "it is a CA certificate (basicConstraints CA:TRUE) presented as the \
                     server's own; a self-signed server certificate needs CA:FALSE, or a CA \
                     of its own to sign it",
                )
            }
            other => write!(f, "{other}"),
        }
    }
}

#[cfg(feature = "rustls")]
impl From<rustls::Error> for TlsError {
    /// Sorts rustls's handshake error: certificate errors into
    /// [`NameMismatch`](Self::NameMismatch) and
    /// [`UntrustedCertificate`](Self::UntrustedCertificate), an answer that is no TLS
    /// record into [`NotTls`](Self::NotTls), the rest into [`Handshake`](Self::Handshake).
    fn from(err: rustls::Error) -> Self {
        use rustls::CertificateError as C;
        match err {
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                Self::NotTls(err)
            }
            rustls::Error::InvalidCertificate(
                cert @ (C::NotValidForName | C::NotValidForNameContext { .. }),
            ) => Self::NameMismatch(cert),
            rustls::Error::InvalidCertificate(cert) => Self::UntrustedCertificate(cert),
            other => Self::Handshake(other),
        }
    }
}

/// What can go wrong connecting to or accepting a WebSocket.
///
/// A refused upgrade is one pattern away:
///
/// ```
/// # use wintergreen_connect::ConnectError;
/// # fn show(err: ConnectError) {
/// match err {
///     ConnectError::Refused { status, body, .. } => println!("refused: {status} {body:?}"),
///     other => println!("failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL, a header or the request cannot be used (the caller's fault). The source is
    /// the typed error (`http::uri::InvalidUri`, `http::header::InvalidHeaderName`, a
    /// [`HandshakeError`] for a bad scheme or host, …).
    #[error("invalid request: {0}")]
    InvalidRequest(#[source] Arc<dyn StdError + Send + Sync>),
    /// DNS resolution of the URL's host failed (or found no address).
    #[error("resolving {host}:{port}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// No TCP connection could be made; `addr` is the last address tried.
    #[error("connecting to {addr}: {source}")]
    Tcp {
        /// The address tried last.
        addr: SocketAddr,
        /// The socket's error.
        #[source]
        source: io::Error,
    },
    /// `wss://` was asked for, but this build has no TLS (the `rustls` feature).
    #[error("wss:// needs TLS, which this build lacks")]
    TlsUnavailable,
    /// TLS failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The peer broke the opening handshake's rules (the server's answer, or, accepting,
    /// the client's request), or our policy refused the client's request: see
    /// [`HandshakeError`] and its [`fault`](HandshakeError::fault).
    #[error("opening handshake: {0}")]
    Handshake(#[source] HandshakeError),
    /// The peer's HTTP/1.1 broke RFC 9112 or one of the handshake's limits: a malformed or
    /// oversized head, too many header fields or interim responses, bytes that cannot be
    /// HTTP, a connection closed mid-head. Typed, with the rule that was broken.
    #[error("HTTP/1.1: {0}")]
    Http1(#[source] wintergreen_http1::Error),
    /// The server refused the upgrade: its answer was not 101 (HTTP/1.1) or 2xx (HTTP/2).
    #[error("the server refused the WebSocket: {status}")]
    Refused {
        /// The server's status.
        status: StatusCode,
        /// Its header fields.
        headers: Box<HeaderMap>,
        /// The start of its body (up to the handshake's body limit; what arrived of it when
        /// the handshake timeout ended a body that was slow or never ended).
        body: bytes::Bytes,
    },
    /// The HTTP/2 transport failed: the server does not speak HTTP/2, does not enable
    /// extended CONNECT (RFC 8441), or an h2 error. Typed. (Its message is the transport
    /// error's, each of which names HTTP/2 and who was at fault.)
    #[cfg(feature = "http2")]
    #[error("{0}")]
    Http2(#[source] wintergreen_http2::Error),
    /// HTTP/2 was required (or a shared HTTP/2 connection asked for), but the TLS server
    /// picked `http/1.1` through ALPN.
    #[error("HTTP/2 was required, but the TLS server did not pick h2 through ALPN")]
    Http2NotNegotiated,
    /// HTTP/2 was asked for, but this build has no HTTP/2 (the `http2` feature).
    #[error("HTTP/2 was asked for, but this build lacks the http2 feature")]
    Http2Unavailable,
    /// The proxy refused or failed the tunnel (an HTTP status such as 407, a SOCKS5 reply
    /// code, a broken answer), or its URL is unusable: see [`ProxyError`] and
    /// [`ProxyError::is_auth_required`].
    #[error("proxy: {0}")]
    Proxy(#[from] ProxyError),
    /// A bound ran out.
    #[error("timed out: {0}")]
    Timeout(TimeoutKind),
    /// Reading or writing the connection failed during the opening handshake.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl ConnectError {
    /// Who is at fault, for an application that reacts by fault (retry later, fix the
    /// configuration, report the server):
    /// - [`Fault::Caller`]: an invalid request, a TLS configuration that cannot be built, a
    ///   build without TLS or HTTP/2, an unusable proxy URL.
    /// - [`Fault::Peer`]: the server (or proxy) broke a rule — a malformed HTTP answer, a
    ///   bad handshake answer, a certificate this side does not trust, an answer that is
    ///   not TLS, an HTTP/2 protocol violation.
    /// - [`Fault::Refusal`]: a refusal by rule — a non-101/2xx answer
    ///   ([`Refused`](Self::Refused)), a server that does not offer HTTP/2 or has no free
    ///   stream, a proxy that refuses the tunnel.
    /// - [`Fault::Network`]: DNS, TCP, I/O, a timeout.
    pub fn fault(&self) -> Fault {
        match self {
            Self::InvalidRequest(_) => Fault::Caller,
            Self::Resolve { .. } | Self::Tcp { .. } | Self::Timeout(_) | Self::Io(_) => {
                Fault::Network
            }
            Self::TlsUnavailable => Fault::Caller,
            Self::Tls(err) => err.fault(),
            Self::Handshake(err) => err.fault(),
            Self::Http1(_) => Fault::Peer,
            Self::Refused { .. } => Fault::Refusal,
            #[cfg(feature = "http2")]
            Self::Http2(err) => err.fault(),
            Self::Http2NotNegotiated => Fault::Refusal,
            Self::Http2Unavailable => Fault::Caller,
            Self::Proxy(err) => err.fault(),
        }
    }

    /// An invalid request, keeping its typed cause.
    pub fn invalid_request(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::InvalidRequest(Arc::new(err))
    }
}

impl From<HandshakeError> for ConnectError {
    /// Sorts by fault: the server's refusal ([`HandshakeError::UpgradeFailed`]) becomes
    /// [`ConnectError::Refused`], the caller's mistakes [`ConnectError::InvalidRequest`],
    /// the rest (the peer's faults, our policy's refusal) [`ConnectError::Handshake`].
    fn from(err: HandshakeError) -> Self {
        match err {
            HandshakeError::UpgradeFailed {
                status,
                headers,
                body,
            } => Self::Refused {
                status,
                headers,
                body,
            },
            err if err.fault() == Fault::Caller => Self::invalid_request(err),
            err => Self::Handshake(err),
        }
    }
}

impl From<wintergreen_http1::Error> for ConnectError {
    fn from(err: wintergreen_http1::Error) -> Self {
        match err {
            wintergreen_http1::Error::Handshake(err) => err.into(),
            other => Self::Http1(other),
        }
    }
}

#[cfg(feature = "http2")]
impl From<wintergreen_http2::Error> for ConnectError {
    fn from(err: wintergreen_http2::Error) -> Self {
        use wintergreen_http2::Error as H2;
        match err {
            H2::Handshake(err) => err.into(),
            H2::Io(err) => Self::Io(err),
            H2::Timeout(_) | H2::SettingsTimeout => Self::Timeout(TimeoutKind::Handshake),
            other => Self::Http2(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per kind of fault, through each error type that has a `fault` of its own.
    #[test]
    fn each_error_says_whose_fault_it_is() {
        let refused = ConnectError::Refused {
            status: StatusCode::NOT_FOUND,
            headers: Box::default(),
            body: bytes::Bytes::new(),
        };
        assert_eq!(refused.fault(), Fault::Refusal);
        let io = || io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(ConnectError::invalid_request(io()).fault(), Fault::Caller);
        assert_eq!(ConnectError::Io(io()).fault(), Fault::Network);
        assert_eq!(
            ConnectError::Timeout(TimeoutKind::Handshake).fault(),
            Fault::Network
        );
        assert_eq!(
            ConnectError::Tls(TlsError::config(io())).fault(),
            Fault::Caller
        );
        assert_eq!(
            ConnectError::Tls(TlsError::Io(io())).fault(),
            Fault::Network
        );
        #[cfg(feature = "rustls")]
        assert_eq!(
            ConnectError::Tls(TlsError::UntrustedCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
            .fault(),
            Fault::Peer
        );
        assert_eq!(
            ConnectError::Handshake(HandshakeError::MissingAccept).fault(),
            Fault::Peer
        );
        assert_eq!(
            ConnectError::Proxy(ProxyError::InvalidUrl("x".into())).fault(),
            Fault::Caller
        );
        assert_eq!(
            ConnectError::Proxy(ProxyError::SocksAuthFailed(1)).fault(),
            Fault::Refusal
        );
        assert_eq!(ConnectError::Proxy(ProxyError::Closed).fault(), Fault::Peer);
        #[cfg(feature = "http2")]
        assert_eq!(
            ConnectError::Http2(wintergreen_http2::Error::ExtendedConnectDisabled).fault(),
            Fault::Refusal
        );
        assert_eq!(ConnectError::Http2NotNegotiated.fault(), Fault::Refusal);
    }
}
