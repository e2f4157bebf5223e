//! The server's side of the opening handshake (RFC 6455 §4.2) for an HTTP/1.1 request,
//! on `http` types.

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};

use crate::error::HandshakeError;
use crate::headers::{has_token, list_elements};
use crate::key::{accept_key, is_valid_key};
use crate::negotiate::{AcceptPolicy, Negotiated, check_version};

/// Checks the HTTP/1.1 rules of an opening request (RFC 6455 §4.2.1): method GET,
/// HTTP/1.1, one `Host` that is a valid authority (RFC 9112 §3.2), `Upgrade: websocket`,
/// `Connection: upgrade`, `Sec-WebSocket-Version: 13`, one `Sec-WebSocket-Key` encoding 16
/// bytes, and no body.
/// Returns the `Sec-WebSocket-Accept` value.
///
/// `Expect: 100-continue` is allowed and needs no 100 (Continue): the request has no
/// content, so RFC 9110 §10.1.1 lets the server answer with its final response (the 101)
/// at once. Other `Expect` values are ignored too (the 417 that §10.1.1 allows is not
/// sent): the upgrade does not depend on them.
pub fn validate_request(request: &Request<()>) -> Result<String, HandshakeError> {
    if request.method() != Method::GET {
        return Err(HandshakeError::InvalidMethod {
            method: request.method().clone(),
            expected: Method::GET,
        });
    }
    if request.version() != Version::HTTP_11 {
        return Err(HandshakeError::UnsupportedHttpVersion);
    }
    if !is_resource_target(request.uri()) {
        return Err(HandshakeError::InvalidRequestTarget);
    }
    let headers = request.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Err(HandshakeError::MissingHost);
    };
    // RFC 9112 §3.2: a Host that is not `uri-host [ ":" port ]` gets 400 too.
    if !is_valid_host(host.as_bytes()) {
        return Err(HandshakeError::InvalidHost);
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    check_version(headers)?;
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = keys.next().ok_or(HandshakeError::MissingKey)?;
    let key = key.as_bytes().trim_ascii();
    if keys.next().is_some() || !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || list_elements(headers, header::CONTENT_LENGTH)
            .any(|length| length.iter().any(|&b| b != b'0'));
    if has_body {
        return Err(HandshakeError::UnexpectedBody);
    }
    Ok(accept_key(key))
}

/// Whether a request target names a resource (RFC 6455 §4.1 item 2): an origin-form path,
/// or an absolute URI with a path and a web scheme (`ws`/`wss` too: lenient, as the client
/// means the same resource). The asterisk-form and the authority-form have no path that
/// starts with `/`.
fn is_resource_target(uri: &http::Uri) -> bool {
    // The web schemes are the ones `UrlScheme` reads: the one owner of that rule.
    let web_scheme = uri.scheme().is_none() || crate::request::UrlScheme::of(uri).is_ok();
    web_scheme && uri.path().starts_with('/')
}

/// Whether `host` is `uri-host [ ":" port ]` (RFC 9110 §7.2): an authority without
/// userinfo, whose port, if any, is digits.
fn is_valid_host(host: &[u8]) -> bool {
    let Ok(authority) = http::uri::Authority::try_from(host) else {
        return false;
    };
    let text = authority.as_str();
    // The port follows the last ':' after any IPv6 literal's ']'.
    let after_literal = text
        .rfind(']')
        .map_or(text, |end| text.get(end..).unwrap_or_default());
    let port = after_literal
        .rfind(':')
        .map(|colon| after_literal.get(colon + 1..).unwrap_or_default());
    let port_ok = port.is_none_or(|port| port.bytes().all(|b| b.is_ascii_digit()));
    port_ok && !authority.as_str().contains('@')
}

/// Judges an opening request: [`validate_request`], then the policy's
/// [`negotiate`](AcceptPolicy::negotiate). Returns the 101 response (with `Upgrade`,
/// `Connection`, `Sec-WebSocket-Accept`, the chosen subprotocol and extension, then the
/// policy's extra headers) and what was negotiated.
pub fn accept(
    request: &Request<()>,
    policy: &AcceptPolicy,
) -> Result<(Response<()>, Negotiated), HandshakeError> {
    let accept = validate_request(request)?;
    let negotiated = policy.negotiate(request)?;
    let mut headers = HeaderMap::new();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = HeaderValue::from_str(&accept)
        .map_err(|_| HandshakeError::ServerNegotiation("unwritable Sec-WebSocket-Accept".into()))?;
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    negotiated.write_headers(&mut headers);
    for (name, value) in policy.response_headers() {
        headers.append(name, value.clone());
    }
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *response.headers_mut() = headers;
    Ok((response, negotiated))
}
