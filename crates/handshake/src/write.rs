//! Writing HTTP/1.1 heads with conventional header-name casing.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::headers::push_title_case;

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
        None => push_title_case(out, lower),
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
pub(crate) fn push_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
    out.extend_from_slice(b"\r\n");
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
