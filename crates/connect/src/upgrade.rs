//! Accepting a WebSocket after another HTTP stack (hyper, axum, …) read the request.
//!
//! The HTTP server owns the connection and parses the request; wintergreen judges it and
//! says what to answer, then drives the WebSocket over the upgraded byte stream:
//!
//! 1. [`response_for`] checks the request against the RFC rules of its HTTP version —
//!    RFC 6455 §4.2.1 for an HTTP/1.1 `GET` with `Upgrade: websocket`, RFC 8441 §5 for an
//!    HTTP/2 extended `CONNECT` — and against the [`AcceptPolicy`] in the
//!    [`ServerOptions`] (check hook, subprotocol, extensions such as permessage-deflate).
//!    It returns the response to send (101 for HTTP/1.1, 200 for HTTP/2) and a
//!    [`PendingUpgrade`] holding the negotiated session.
//! 2. On refusal, [`rejection_response`] is the response to send instead (the policy's
//!    status, e.g. 403, or 400/426 for a broken request).
//! 3. Once the HTTP stack hands over the upgraded connection, [`PendingUpgrade::into_stream`]
//!    (on tokio, `wintergreen::upgrade::from_upgraded`) gives the [`WebSocketStream`].
//!
//! Over HTTP/2 the caller must first check that the request's `:protocol` pseudo-header is
//! `websocket` (hyper puts it in the request's extensions as `hyper::ext::Protocol`);
//! wintergreen cannot see another stack's type for it. The `crates/wintergreen/examples/hyper_upgrade.rs`
//! example shows the whole flow with hyper 1.x for both HTTP versions.
//!
//! [`AcceptPolicy`]: wintergreen_handshake::AcceptPolicy

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, Version};
use wintergreen_codec::{Role, Session};
use wintergreen_handshake::{HandshakeError, check_version, session_for};

use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_stream::{Runtime, StreamConfig, WebSocketStream};

use crate::options::ServerOptions;

/// A WebSocket accepted by [`response_for`], waiting for the HTTP stack to hand over the
/// upgraded connection.
#[derive(Debug)]
#[must_use = "turn it into a stream once the connection is upgraded"]
pub struct PendingUpgrade {
    session: Session,
    stream: StreamConfig,
    subprotocol: Option<String>,
    extension: Option<String>,
    version: Version,
}

impl PendingUpgrade {
    /// The chosen subprotocol, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The negotiated extension's answer (e.g. `permessage-deflate`), if any.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// The HTTP version the WebSocket was accepted over.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Drives the negotiated session over the upgraded connection. `runtime` bounds the
    /// close handshake and runs keep-alive (on tokio, `wintergreen::upgrade::from_upgraded`
    /// passes it).
    pub fn into_stream<IO>(self, io: IO, runtime: Option<Arc<dyn Runtime>>) -> WebSocketStream<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        WebSocketStream::from_session(io, self.session, self.stream, runtime)
    }
}

/// Judges a WebSocket request read by another HTTP stack and returns the response to send
/// with the session to run once the connection is upgraded.
///
/// - HTTP/1.1: the RFC 6455 §4.2.1 rules (`GET`, `Host`, `Upgrade`, `Connection`,
///   `Sec-WebSocket-Version: 13`, a valid `Sec-WebSocket-Key`, no body), then the policy;
///   the response is `101 Switching Protocols` with `Sec-WebSocket-Accept`.
/// - HTTP/2: method `CONNECT` (the caller has checked `:protocol` is `websocket`),
///   `sec-websocket-version: 13`, then the policy; the response is `200 OK`.
///
/// Either response carries the chosen `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` and the policy's extra header fields. The session uses
/// `options.session` and the driver `options.driver`; `options.accept` and
/// `options.handshake.limits` are the HTTP stack's business here.
///
/// # Errors
/// What is wrong with the request, or the policy's refusal; answer it with
/// [`rejection_response`].
pub fn response_for<B>(
    request: &Request<B>,
    options: &ServerOptions,
) -> Result<(Response<()>, PendingUpgrade), HandshakeError> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    let policy = &options.handshake.policy;
    let version = request.version();
    let (response, negotiated) = match version {
        Version::HTTP_11 => wintergreen_handshake::accept(&head, policy)?,
        Version::HTTP_2 => {
            if request.method() != Method::CONNECT {
                return Err(HandshakeError::InvalidMethod {
                    method: request.method().clone(),
                    expected: Method::CONNECT,
                });
            }
            check_version(head.headers())?;
            let negotiated = policy.negotiate(&head)?;
            let mut response = Response::new(());
            negotiated.write_headers(response.headers_mut());
            for (name, value) in policy.response_headers() {
                response.headers_mut().append(name, value.clone());
            }
            (response, negotiated)
        }
        _ => return Err(HandshakeError::UnsupportedHttpVersion),
    };
    let extension = negotiated.extensions_header();
    let session = session_for(Role::Server, &options.session, negotiated.extension);
    tracing::debug!(uri = %request.uri(), ?version, subprotocol = ?negotiated.subprotocol, ?extension, "upgrade accepted");
    Ok((
        response,
        PendingUpgrade {
            session,
            stream: options.driver.clone(),
            subprotocol: negotiated.subprotocol,
            extension,
            version,
        },
    ))
}

/// The response for a request [`response_for`] refused: the policy's
/// [`Rejection`](wintergreen_handshake::Rejection) (status, header fields, body), or the
/// error's status (400, 426 with `Sec-WebSocket-Version: 13`, 500) with a plain-text
/// reason; the hop-by-hop header fields are left out and `Content-Length` is set
/// ([`wintergreen_handshake::rejection_response`], the one owner of that rule).
pub fn rejection_response(error: &HandshakeError) -> Response<Bytes> {
    wintergreen_handshake::rejection_response(&error.rejection(), Version::HTTP_11)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use http::StatusCode;
    use http::header::HeaderValue;

    fn http1_request() -> Request<()> {
        Request::get("/chat")
            .header("host", "example.com")
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-protocol", "chat.v1")
            .body(())
            .unwrap()
    }

    #[test]
    fn an_http1_request_gets_a_101_with_the_rfc_accept_key() {
        let mut options = ServerOptions::default();
        options.handshake.policy = options.handshake.policy.subprotocols(["chat.v1"]);
        let (response, pending) = response_for(&http1_request(), &options).unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            response.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
        assert_eq!(pending.subprotocol(), Some("chat.v1"));
        assert_eq!(pending.version(), Version::HTTP_11);
    }

    #[test]
    fn an_http2_connect_gets_a_200_without_key_or_accept() {
        let request = Request::connect("https://example.com/chat")
            .version(Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        let (response, pending) = response_for(&request, &ServerOptions::default()).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key("sec-websocket-accept"));
        assert_eq!(pending.version(), Version::HTTP_2);
    }

    #[test]
    fn an_http2_get_is_refused_with_405_allowing_connect() {
        // RFC 8441 §4: an HTTP/2 WebSocket is an extended CONNECT; RFC 9110 §15.5.6: 405
        // names the allowed method.
        let request = Request::get("https://example.com/chat")
            .version(Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        let err = response_for(&request, &ServerOptions::default()).unwrap_err();
        let response = rejection_response(&err);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "CONNECT");
    }

    #[test]
    fn a_wrong_version_is_answered_426_with_the_supported_version() {
        let mut request = http1_request();
        request
            .headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        let err = response_for(&request, &ServerOptions::default()).unwrap_err();
        let response = rejection_response(&err);
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn a_policy_rejection_keeps_its_status() {
        let mut options = ServerOptions::default();
        options.handshake.policy = options.handshake.policy.check(|_| {
            Err(wintergreen_handshake::Rejection::new(StatusCode::FORBIDDEN).with_body("no"))
        });
        let err = response_for(&http1_request(), &options).unwrap_err();
        let response = rejection_response(&err);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.body(), &Bytes::from_static(b"no"));
    }
}
