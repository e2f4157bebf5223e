//! [`Target`]: where a WebSocket URL says to connect.

use http::Request;
use wintergreen_handshake::{HandshakeError, UrlScheme};

use crate::error::ConnectError;

/// Where to connect for a `ws://` or `wss://` request: host, port and whether TLS is used.
/// The scheme's meaning (case-insensitive; TLS, default port, HTTP/2 `:scheme`) is
/// [`UrlScheme`]'s, the one owner of that rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name or IP literal (without brackets).
    pub host: String,
    /// The port (default 80 for ws, 443 for wss).
    pub port: u16,
    /// The URL's scheme.
    pub scheme: UrlScheme,
}

impl Target {
    /// Reads the target from a request's URI.
    ///
    /// # Errors
    /// [`ConnectError::InvalidRequest`] on a missing host, a port that is not a number from
    /// 0 to 65 535, or a scheme other than ws, wss, http or https.
    pub fn from_request(request: &Request<()>) -> Result<Self, ConnectError> {
        let uri = request.uri();
        let scheme = UrlScheme::of(uri).map_err(ConnectError::invalid_request)?;
        let host = uri.host().filter(|host| !host.is_empty()).ok_or_else(|| {
            ConnectError::invalid_request(HandshakeError::InvalidUri(format!("{uri}: no host")))
        })?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = scheme.port(uri).map_err(ConnectError::invalid_request)?;
        Ok(Self { host, port, scheme })
    }

    /// Whether the connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.scheme.is_secure()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn target(url: &str) -> Result<Target, ConnectError> {
        Target::from_request(&Request::get(url).body(()).unwrap())
    }

    #[test]
    fn schemes_map_to_tls_and_default_ports_case_insensitively() {
        let t = target("WSS://example.com/chat").unwrap();
        assert!(t.is_tls());
        assert_eq!(t.port, 443);
        let t = target("ws://[::1]:8080/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.is_tls()), ("::1", 8080, false));
        assert!(matches!(
            target("ftp://example.com/"),
            Err(ConnectError::InvalidRequest(_))
        ));
    }

    /// `http::Uri` takes these, and its `port_u16` says `None` for them as for no port: they
    /// once meant port 80 or 443 without a word.
    #[test]
    fn a_port_past_65535_is_the_callers_error_not_the_default_port() {
        for url in [
            "ws://127.0.0.1:99999/",
            "wss://example.com:65536/",
            "ws://[::1]:70000/",
        ] {
            let err = target(url).unwrap_err();
            assert!(
                matches!(err, ConnectError::InvalidRequest(_)),
                "{url}: {err:?}"
            );
            assert!(err.to_string().contains("bad port"), "{url}: {err}");
        }
        assert_eq!(target("ws://example.com:65535/").unwrap().port, 65535);
        assert_eq!(target("ws://example.com:/").unwrap().port, 80);
        assert_eq!(target("wss://user@example.com/").unwrap().port, 443);
    }

    /// A string that is no URI at all: the error names it, and keeps `http`'s reason.
    #[test]
    fn a_url_that_does_not_parse_is_named_in_the_error() {
        use crate::IntoClientRequest;
        let err = "http//bad url".into_client_request().unwrap_err();
        assert!(err.to_string().contains("\"http//bad url\""), "{err}");
        let ConnectError::InvalidRequest(inner) = &err else {
            panic!("{err:?}");
        };
        let invalid = inner.downcast_ref::<crate::InvalidUrl>().unwrap();
        assert_eq!(invalid.url(), "http//bad url");
        assert!(std::error::Error::source(invalid).is_some());
    }
}
