//! Why a WebSocket route refused a request, and the response that says so.

use bytes::Bytes;
use http::{Response, StatusCode, Version};
use wintergreen_handshake::{Fault, HandshakeError, Rejection, rejection_response};

/// A request a WebSocket route refused, by cause. [`response`](Self::response) is the
/// answer to send; with the `axum` feature it is also axum's `IntoResponse`.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeRejection {
    /// An HTTP/2 `CONNECT` whose `:protocol` pseudo-header is missing or not `websocket`
    /// (RFC 8441 §4). Answered `400 Bad Request`.
    NotWebSocketConnect,
    /// The opening-handshake rules or the server's policy refused the request: a method
    /// that cannot open a WebSocket over the request's HTTP version
    /// ([`InvalidMethod`](HandshakeError::InvalidMethod): 405 with `Allow`), a plain
    /// HTTP/1.1 `GET` ([`MissingUpgrade`](HandshakeError::MissingUpgrade)), a broken
    /// request (400), a `Sec-WebSocket-Version` other than 13 (426 with
    /// `Sec-WebSocket-Version: 13`, RFC 6455 §4.2.2), or the policy's own status.
    Handshake(HandshakeError),
    /// hyper handed over no upgrade handle for a valid WebSocket request: the connection
    /// was not served with upgrades, or the request did not come through a hyper server.
    /// The server's own setup is at fault; answered `500 Internal Server Error`.
    NotUpgradable,
}

impl std::fmt::Display for UpgradeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotWebSocketConnect => f.write_str(
                "an HTTP/2 WebSocket is opened by a CONNECT with :protocol websocket (RFC 8441)",
            ),
            Self::Handshake(err) => err.fmt(f),
            Self::NotUpgradable => f.write_str(
                "the HTTP server handed over no upgrade for this request \
                 (serve the connection with upgrades)",
            ),
        }
    }
}

impl std::error::Error for UpgradeRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(err) => Some(err),
            _ => None,
        }
    }
}

impl UpgradeRejection {
    /// Who is at fault: the peer for a wrong method or request, the server's caller for
    /// [`NotUpgradable`](Self::NotUpgradable), the handshake's own judgement otherwise.
    pub fn fault(&self) -> Fault {
        match self {
            Self::NotWebSocketConnect => Fault::Peer,
            Self::Handshake(err) => err.fault(),
            Self::NotUpgradable => Fault::Caller,
        }
    }

    /// The response status: 405, 400, the handshake's status (400, 426, the policy's), or
    /// 500.
    pub fn status(&self) -> StatusCode {
        self.rejection().status()
    }

    /// The refusal as the handshake crate's [`Rejection`] (status, header fields, body).
    /// Generated bodies are a short plain-text reason that never echoes a request's value.
    pub fn rejection(&self) -> Rejection {
        let plain = |status: StatusCode, reason: &'static str| {
            Rejection::new(status).with_body(Bytes::from_static(reason.as_bytes()))
        };
        match self {
            Self::NotWebSocketConnect => plain(
                StatusCode::BAD_REQUEST,
                "an HTTP/2 WebSocket is opened by a CONNECT with :protocol websocket\n",
            ),
            Self::Handshake(err) => err.rejection(),
            Self::NotUpgradable => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this server cannot upgrade the connection\n",
            ),
        }
    }

    /// The response to send: [`rejection`](Self::rejection) through the handshake
    /// crate's [`rejection_response`] (the one owner: hop-by-hop fields dropped,
    /// `Content-Type` and `Content-Length` set). Its version field is HTTP/1.1; hyper
    /// writes the connection's own status line (HTTP/2 has none).
    pub fn response<B>(&self) -> Response<B>
    where
        B: From<Bytes>,
    {
        rejection_response(&self.rejection(), Version::HTTP_11).map(B::from)
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for UpgradeRejection {
    fn into_response(self) -> axum_core::response::Response {
        self.response()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use http::Method;
    use http::header::ALLOW;

    #[test]
    fn a_wrong_method_is_405_with_allow() {
        let rejection = UpgradeRejection::Handshake(HandshakeError::InvalidMethod {
            method: Method::POST,
            expected: Method::GET,
        });
        let response: Response<Bytes> = rejection.response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET");
        assert_eq!(rejection.fault(), Fault::Peer);
    }

    #[test]
    fn a_wrong_websocket_version_is_426_naming_13() {
        let rejection = UpgradeRejection::Handshake(HandshakeError::UnsupportedVersion("8".into()));
        let response: Response<Bytes> = rejection.response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn a_server_without_upgrades_is_its_own_fault() {
        let rejection = UpgradeRejection::NotUpgradable;
        assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(rejection.fault(), Fault::Caller);
    }
}
