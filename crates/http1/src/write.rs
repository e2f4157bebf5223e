//! Writing HTTP/1.1 heads (RFC 9112 §3–§5) with conventional header-name casing.

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use wintergreen_handshake::{Rejection, rejection_response};

/// Header names whose conventional casing is not plain title case.
const SPECIAL_CASING: &[(&str, &str)] = &[
    ("sec-websocket-key", "Sec-WebSocket-Key"),
    ("sec-websocket-accept", "Sec-WebSocket-Accept"),
    ("sec-websocket-version", "Sec-WebSocket-Version"),
    ("sec-websocket-protocol", "Sec-WebSocket-Protocol"),
    ("sec-websocket-extensions", "Sec-WebSocket-Extensions"),
    ("www-authenticate", "WWW-Authenticate"),
    ("te", "TE"),
];

/// Writes `name` in conventional casing: `Sec-WebSocket-Key`, `X-Foo-Bar`.
pub(crate) fn push_name(out: &mut Vec<u8>, name: &HeaderName) {
    let lower = name.as_str();
    match SPECIAL_CASING.iter().find(|(key, _)| *key == lower) {
        Some((_, cased)) => out.extend_from_slice(cased.as_bytes()),
        None => {
            let mut upper = true;
            for b in lower.bytes() {
                out.push(if upper { b.to_ascii_uppercase() } else { b });
                upper = b == b'-';
            }
        }
    }
}

/// Writes one header line.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    push_name(out, name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes one header line from a conventional name and a value.
pub(crate) fn push_raw_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes every header line of `headers`, in order.
pub(crate) fn push_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        push_header(out, name, value);
    }
}

/// Writes a status line: `HTTP/1.1 101 Switching Protocols`.
fn push_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes a response head (status line and header fields, conventionally cased).
pub fn write_response(response: &Response<()>) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    push_status_line(&mut out, response.status());
    push_headers(&mut out, response.headers());
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes a whole rejection response: the version-neutral
/// [`rejection_response`](wintergreen_handshake::rejection_response) (status, header fields
/// less the hop-by-hop ones, `Content-Type` for a body that names none, `Content-Length`),
/// then `Connection: close` (`Connection: upgrade, close` for a 426, whose `Upgrade`
/// field the connection option names, RFC 9110 §7.8) and the body. The output is as long
/// as the rejection's own parts: what the peer sent is never echoed beyond what the
/// rejection holds.
pub fn write_rejection(rejection: &Rejection) -> Vec<u8> {
    let (mut parts, body) = rejection_response(rejection, http::Version::HTTP_11).into_parts();
    let mut connection = parts
        .headers
        .remove(http::header::CONNECTION)
        .map(|options| options.as_bytes().to_vec())
        .unwrap_or_default();
    if !connection.is_empty() {
        connection.extend_from_slice(b", ");
    }
    connection.extend_from_slice(b"close");
    let mut out = Vec::with_capacity(128 + body.len());
    push_status_line(&mut out, parts.status);
    push_headers(&mut out, &parts.headers);
    push_raw_header(&mut out, "Connection", &connection);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_names_get_their_conventional_casing() {
        let mut out = Vec::new();
        push_name(&mut out, &http::header::SEC_WEBSOCKET_KEY);
        out.push(b' ');
        push_name(&mut out, &HeaderName::from_static("x-foo-bar"));
        assert_eq!(out, b"Sec-WebSocket-Key X-Foo-Bar");
    }
}
