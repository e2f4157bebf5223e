//! Rules of a client's WebSocket request shared by every HTTP version, each written once:
//! what a URL's scheme means, and which header fields the handshake writes itself.

use http::header::{self, HeaderName};
use http::uri::Scheme;
use http::{HeaderMap, Uri};

use crate::error::HandshakeError;

/// The scheme of a WebSocket URL (RFC 6455 §3), read case-insensitively: `ws` (or `http`)
/// and `wss` (or `https`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UrlScheme {
    /// `ws://` or `http://`: plain TCP, port 80 by default.
    Ws,
    /// `wss://` or `https://`: TLS, port 443 by default.
    Wss,
}

impl UrlScheme {
    /// The scheme of `uri`.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidUri`] for a URI without a scheme or with another one.
    pub fn of(uri: &Uri) -> Result<Self, HandshakeError> {
        let invalid = |why: &str| HandshakeError::InvalidUri(format!("{uri}: {why}"));
        let scheme = uri.scheme_str().ok_or_else(|| invalid("no scheme"))?;
        if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
            Ok(Self::Ws)
        } else if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
            Ok(Self::Wss)
        } else {
            Err(invalid("the scheme must be ws, wss, http or https"))
        }
    }

    /// Whether the connection runs over TLS.
    pub fn is_secure(self) -> bool {
        self == Self::Wss
    }

    /// The port when the URL names none: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Ws => 80,
            Self::Wss => 443,
        }
    }

    /// The port to connect to for `uri`: the one it names, or [`default_port`](Self::default_port)
    /// when it names none or an empty one (RFC 3986 §3.2.3).
    ///
    /// # Errors
    /// [`HandshakeError::InvalidUri`] when the port is not a number from 0 to 65 535.
    /// (`http::Uri` accepts `ws://host:99999/`, and its `port_u16` then says `None`, the
    /// same as for no port at all: read that way, the URL would quietly mean port 80.)
    pub fn port(self, uri: &Uri) -> Result<u16, HandshakeError> {
        let named = match uri.authority() {
            Some(authority) => authority_port(authority.as_str())
                .map_err(|port| HandshakeError::InvalidUri(format!("{uri}: bad port `{port}`")))?,
            None => None,
        };
        Ok(named.unwrap_or(self.default_port()))
    }

    /// The `:scheme` of an HTTP/2 extended CONNECT (RFC 8441 §5): `http` or `https`.
    pub fn http_scheme(self) -> Scheme {
        match self {
            Self::Ws => Scheme::HTTP,
            Self::Wss => Scheme::HTTPS,
        }
    }
}

/// The port an authority (`[userinfo@]host[:port]`, RFC 3986 §3.2) names: `Ok(None)` when
/// it names none or an empty one (the scheme's default applies then), `Err` with the port's
/// text when that is not a number from 0 to 65 535.
///
/// # Errors
/// The port's text, for the caller's error.
pub fn authority_port(authority: &str) -> Result<Option<u16>, &str> {
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    match host_port.rsplit_once(':') {
        // A colon inside an IPv6 literal (`[::1]`) is no port separator.
        Some((_, port)) if !port.contains(']') => {
            if port.is_empty() {
                Ok(None)
            } else if port.bytes().all(|b| b.is_ascii_digit()) {
                port.parse().map(Some).map_err(|_| port)
            } else {
                Err(port)
            }
        }
        _ => Ok(None),
    }
}

/// Request header fields the handshake writes itself, over either HTTP version: a caller's
/// request must not carry them.
pub const RESERVED_REQUEST_HEADERS: &[HeaderName] = &[
    header::HOST,
    header::UPGRADE,
    header::CONNECTION,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
    header::SEC_WEBSOCKET_ACCEPT,
];

/// Refuses a caller's header fields that include a [reserved](RESERVED_REQUEST_HEADERS) one.
///
/// # Errors
/// [`HandshakeError::ReservedHeader`] naming the first reserved field found.
pub fn check_reserved_headers(headers: &HeaderMap) -> Result<(), HandshakeError> {
    match RESERVED_REQUEST_HEADERS
        .iter()
        .find(|name| headers.contains_key(*name))
    {
        Some(reserved) => Err(HandshakeError::ReservedHeader(reserved.clone())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_port_is_the_named_one_the_default_or_an_error() {
        let port = |url: &str| {
            let uri: Uri = url.parse().unwrap();
            UrlScheme::of(&uri).unwrap().port(&uri)
        };
        assert_eq!(port("ws://h/").unwrap(), 80);
        assert_eq!(port("wss://h:/").unwrap(), 443);
        assert_eq!(port("wss://u:p@h:8443/").unwrap(), 8443);
        assert_eq!(port("ws://[::1]/").unwrap(), 80);
        assert_eq!(port("ws://[::1]:9000/").unwrap(), 9000);
        let err = port("ws://h:65536/").unwrap_err();
        assert!(err.to_string().contains("bad port `65536`"), "{err}");
        assert_eq!(authority_port("h:x1"), Err("x1"));
        assert_eq!(authority_port("user:pw@h"), Ok(None));
    }

    #[test]
    fn schemes_are_read_case_insensitively() {
        let of = |url: &str| UrlScheme::of(&url.parse().unwrap());
        assert_eq!(of("WS://example.com/").unwrap(), UrlScheme::Ws);
        assert_eq!(of("Wss://example.com/").unwrap(), UrlScheme::Wss);
        assert_eq!(of("HTTPS://example.com/").unwrap(), UrlScheme::Wss);
        assert!(of("ftp://example.com/").is_err());
        assert!(of("/relative").is_err());
    }

    #[test]
    fn secure_schemes_default_to_443_and_https() {
        assert_eq!(UrlScheme::Wss.default_port(), 443);
        assert_eq!(UrlScheme::Ws.default_port(), 80);
        assert_eq!(UrlScheme::Wss.http_scheme(), Scheme::HTTPS);
        assert!(UrlScheme::Wss.is_secure() && !UrlScheme::Ws.is_secure());
    }

    #[test]
    fn reserved_headers_are_named() {
        let mut headers = HeaderMap::new();
        headers.insert("x-token", "a".parse().unwrap());
        assert!(check_reserved_headers(&headers).is_ok());
        headers.insert("sec-websocket-key", "a".parse().unwrap());
        assert!(matches!(
            check_reserved_headers(&headers),
            Err(HandshakeError::ReservedHeader(name)) if name == header::SEC_WEBSOCKET_KEY
        ));
    }
}
