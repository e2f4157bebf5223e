//! What a server answers, for either HTTP version, each written once: a refusal as a
//! response, and the session a negotiated handshake starts.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode, Version};
use wintergreen_codec::{Config, Extension, Role, Session};

use crate::error::Rejection;

/// Header fields a rejection must not carry as given: framing the transport writes itself
/// (`Content-Length`, `Transfer-Encoding`) and the connection-specific fields HTTP/2
/// forbids (RFC 9113 §8.2.2) and an HTTP/1.1 refusal sets itself. The one hop-by-hop list.
/// Names are lowercase, as `http::HeaderName::as_str` gives them.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
    "proxy-connection",
];

/// The response for a refusal over `version`: the rejection's status (never a 101: that
/// becomes 400), its header fields less the [hop-by-hop](HOP_BY_HOP_HEADERS) ones, a plain
/// text `Content-Type` when it has a body and names none, its `Content-Length`, and its
/// body. An HTTP/1.1 transport adds `Connection: close` when it writes the head.
///
/// A `426 Upgrade Required` over HTTP/1.x names the protocol to upgrade to, as RFC 9110
/// §15.5.22 requires: the rejection's own `Upgrade` field if it has one, else
/// `Upgrade: websocket`, with `Connection: upgrade` (§7.8). Over HTTP/2 both fields are
/// connection-specific and left out (RFC 9113 §8.2.2).
pub fn rejection_response(rejection: &Rejection, version: Version) -> Response<Bytes> {
    let body = rejection.body().clone();
    let mut response = Response::new(body);
    *response.version_mut() = version;
    let status = match rejection.status() {
        StatusCode::SWITCHING_PROTOCOLS => StatusCode::BAD_REQUEST,
        status => status,
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in rejection.headers() {
        if !HOP_BY_HOP_HEADERS.contains(&name.as_str()) {
            headers.append(name, value.clone());
        }
    }
    let http1 = matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    );
    if http1 && status == StatusCode::UPGRADE_REQUIRED {
        let mut named = rejection
            .headers()
            .get_all(header::UPGRADE)
            .iter()
            .peekable();
        if named.peek().is_none() {
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        for protocol in named {
            headers.append(header::UPGRADE, protocol.clone());
        }
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    let length = rejection.body().len();
    if length > 0 && !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The session a negotiated handshake starts, for either role and HTTP version: `config`'s
/// settings, with the negotiated extension (if any) attached.
pub fn session_for(role: Role, config: &Config, extension: Option<Box<dyn Extension>>) -> Session {
    let session = Session::new(role, config.clone());
    match extension {
        Some(extension) => session.with_extension(extension),
        None => session,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_rejection_loses_its_hop_by_hop_fields_and_gains_a_length() {
        let rejection = Rejection::new(StatusCode::FORBIDDEN)
            .with_header(header::CONNECTION, HeaderValue::from_static("keep-alive"))
            .with_header(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            )
            .with_header(header::SET_COOKIE, HeaderValue::from_static("a=b"))
            .with_body("no");
        for version in [Version::HTTP_11, Version::HTTP_2] {
            let response = rejection_response(&rejection, version);
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(response.version(), version);
            assert!(!response.headers().contains_key(header::CONNECTION));
            assert!(!response.headers().contains_key(header::TRANSFER_ENCODING));
            assert_eq!(response.headers()[header::SET_COOKIE], "a=b");
            assert_eq!(response.headers()[header::CONTENT_LENGTH], "2");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
        }
    }

    #[test]
    fn rfc9110_15_5_22_a_426_over_http1_names_the_upgrade_and_over_http2_does_not() {
        let rejection = Rejection::new(StatusCode::UPGRADE_REQUIRED).with_header(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        let response = rejection_response(&rejection, Version::HTTP_11);
        assert_eq!(response.headers()[header::UPGRADE], "websocket");
        assert_eq!(response.headers()[header::CONNECTION], "upgrade");
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        let response = rejection_response(&rejection, Version::HTTP_2);
        assert!(!response.headers().contains_key(header::UPGRADE));
        assert!(!response.headers().contains_key(header::CONNECTION));
    }

    #[test]
    fn a_policys_426_keeps_the_protocol_it_names() {
        let rejection = Rejection::new(StatusCode::UPGRADE_REQUIRED)
            .with_header(header::UPGRADE, HeaderValue::from_static("TLS/1.2"));
        let response = rejection_response(&rejection, Version::HTTP_11);
        let named: Vec<_> = response.headers().get_all(header::UPGRADE).iter().collect();
        assert_eq!(named, ["TLS/1.2"]);
        // Other statuses keep dropping a rejection's Upgrade, a hop-by-hop field.
        let rejection = Rejection::new(StatusCode::FORBIDDEN)
            .with_header(header::UPGRADE, HeaderValue::from_static("TLS/1.2"));
        let response = rejection_response(&rejection, Version::HTTP_11);
        assert!(!response.headers().contains_key(header::UPGRADE));
    }

    #[test]
    fn a_rejection_is_never_a_101() {
        let rejection = Rejection::new(StatusCode::SWITCHING_PROTOCOLS);
        let response = rejection_response(&rejection, Version::HTTP_11);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(!response.headers().contains_key(header::CONTENT_TYPE));
    }
}
