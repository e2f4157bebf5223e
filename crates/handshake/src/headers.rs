//! Header grammar shared by both roles and both HTTP versions.
//!
//! - Token lists (RFC 7230 §7 `#rule`): `Upgrade`, `Connection`, `Sec-WebSocket-Protocol`,
//!   `Sec-WebSocket-Version`. Elements are comma separated, surrounded by optional
//!   whitespace; empty elements are ignored; a header may be repeated, and its lines form
//!   one list.
//! - `Sec-WebSocket-Extensions` (RFC 6455 §9.1): a list of `name *( ";" param )`, where a
//!   parameter is `token [ "=" ( token / quoted-string ) ]`.

use std::fmt;

use http::HeaderMap;
use http::header::AsHeaderName;
use wintergreen_codec::{ExtensionParam, ExtensionParams};

/// Whether `b` is an RFC 7230 `tchar`.
pub const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty RFC 7230 `token`.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// The non-empty elements of one comma-separated header value, trimmed of whitespace.
pub fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// The non-empty elements of every line of header `name`, in order.
pub fn list_elements<K: AsHeaderName>(headers: &HeaderMap, name: K) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|value| split_list(value.as_bytes()))
}

/// Whether any line of header `name` lists `token`, compared ASCII case-insensitively
/// (e.g. `Connection: keep-alive, Upgrade` has the token `upgrade`).
pub fn has_token<K: AsHeaderName>(headers: &HeaderMap, name: K, token: &str) -> bool {
    list_elements(headers, name).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// A `Sec-WebSocket-Extensions` value that does not follow RFC 6455 §9.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionHeaderError {
    /// Byte offset in the header value where parsing failed.
    pub offset: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for ExtensionHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed Sec-WebSocket-Extensions header at byte {}: expected {}",
            self.offset, self.expected
        )
    }
}

impl std::error::Error for ExtensionHeaderError {}

/// A cursor over one header value.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    fn error(&self, expected: &'static str) -> ExtensionHeaderError {
        ExtensionHeaderError {
            offset: self.pos,
            expected,
        }
    }

    fn token(&mut self, expected: &'static str) -> Result<&'a str, ExtensionHeaderError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let token = self.bytes.get(start..self.pos).unwrap_or_default();
        if token.is_empty() {
            return Err(self.error(expected));
        }
        // tchars are ASCII.
        std::str::from_utf8(token).map_err(|_| self.error(expected))
    }

    /// A quoted-string; the cursor is on the opening quote. Returns the unescaped content.
    fn quoted_string(&mut self) -> Result<String, ExtensionHeaderError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("a closing '\"'"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b)
                            if b == b'\t'
                                || b == b' '
                                || (0x21..=0x7e).contains(&b)
                                || b >= 0x80 =>
                        {
                            out.push(b);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("an escaped character after '\\'")),
                    }
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => {
                    out.push(b);
                    self.pos += 1;
                }
                _ => return Err(self.error("a quoted-string character")),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("UTF-8 in the quoted string"))
    }

    /// One extension element; the cursor is on its name.
    fn element(&mut self) -> Result<ExtensionParams, ExtensionHeaderError> {
        let name = self.token("an extension name")?;
        let mut element = ExtensionParams::new(name);
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(element),
                Some(b',') => {
                    self.pos += 1;
                    return Ok(element);
                }
                Some(b';') => {
                    self.pos += 1;
                    self.skip_ows();
                    let name = self.token("a parameter name")?.to_owned();
                    self.skip_ows();
                    let value = if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.skip_ows();
                        Some(if self.peek() == Some(b'"') {
                            self.quoted_string()?
                        } else {
                            self.token("a parameter value")?.to_owned()
                        })
                    } else {
                        None
                    };
                    element.params.push(ExtensionParam { name, value });
                }
                Some(_) => return Err(self.error("';' or ','")),
            }
        }
    }
}

/// Parses one `Sec-WebSocket-Extensions` value into its elements, in order. Parameters are
/// kept as written, duplicates included (judging them is the extension's business); quoted
/// values are unquoted.
///
/// ```
/// use wintergreen_handshake::headers::parse_extensions;
///
/// let elements = parse_extensions(b"permessage-deflate; client_max_window_bits, x; a=\"1\"").unwrap();
/// assert_eq!(elements.len(), 2);
/// assert_eq!(elements[1].params[0].value.as_deref(), Some("1"));
/// ```
pub fn parse_extensions(value: &[u8]) -> Result<Vec<ExtensionParams>, ExtensionHeaderError> {
    let mut cursor = Cursor {
        bytes: value,
        pos: 0,
    };
    let mut elements = Vec::new();
    loop {
        cursor.skip_ows();
        match cursor.peek() {
            None => return Ok(elements),
            Some(b',') => cursor.pos += 1,
            Some(_) => elements.push(cursor.element()?),
        }
    }
}

/// Parses every `Sec-WebSocket-Extensions` line of `headers` as one list.
pub fn parse_extension_headers(
    headers: &HeaderMap,
) -> Result<Vec<ExtensionParams>, ExtensionHeaderError> {
    let mut elements = Vec::new();
    for value in &headers.get_all(http::header::SEC_WEBSOCKET_EXTENSIONS) {
        elements.extend(parse_extensions(value.as_bytes())?);
    }
    Ok(elements)
}

/// An extension element that cannot be written as a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidExtensionElement {
    /// The offending element's name.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for InvalidExtensionElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "extension element {:?} cannot be written: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for InvalidExtensionElement {}

/// Writes one element (`name; a; b=1; c="x y"`), quoting values that are not tokens.
pub fn write_extension(
    out: &mut String,
    element: &ExtensionParams,
) -> Result<(), InvalidExtensionElement> {
    let invalid = |reason| InvalidExtensionElement {
        name: element.name.clone(),
        reason,
    };
    if !is_token(element.name.as_bytes()) {
        return Err(invalid("the name is not a token"));
    }
    out.push_str(&element.name);
    for param in &element.params {
        if !is_token(param.name.as_bytes()) {
            return Err(invalid("a parameter name is not a token"));
        }
        out.push_str("; ");
        out.push_str(&param.name);
        let Some(value) = &param.value else { continue };
        out.push('=');
        if is_token(value.as_bytes()) {
            out.push_str(value);
            continue;
        }
        out.push('"');
        for c in value.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '\t' | ' '..='~' => out.push(c),
                _ => {
                    return Err(invalid(
                        "a parameter value has a control or non-ASCII character",
                    ));
                }
            }
        }
        out.push('"');
    }
    Ok(())
}

/// Writes a whole `Sec-WebSocket-Extensions` value: the elements, comma separated.
pub fn write_extensions<'a>(
    elements: impl IntoIterator<Item = &'a ExtensionParams>,
) -> Result<String, InvalidExtensionElement> {
    let mut out = String::new();
    for (i, element) in elements.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_extension(&mut out, element)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::{CONNECTION, SEC_WEBSOCKET_EXTENSIONS, UPGRADE};

    use super::*;

    fn param(name: &str, value: Option<&str>) -> ExtensionParam {
        ExtensionParam {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn token_list_is_case_insensitive_and_tolerates_whitespace_and_empty_elements() {
        let mut headers = HeaderMap::new();
        headers.append(
            CONNECTION,
            HeaderValue::from_static(" , keep-alive ,\tUPGRADE ,,"),
        );
        assert!(has_token(&headers, CONNECTION, "upgrade"));
        assert!(has_token(&headers, CONNECTION, "Keep-Alive"));
        assert!(!has_token(&headers, CONNECTION, "close"));
        let elements: Vec<_> = list_elements(&headers, CONNECTION).collect();
        assert_eq!(elements, [&b"keep-alive"[..], b"UPGRADE"]);
    }

    #[test]
    fn token_list_spans_repeated_header_lines() {
        let mut headers = HeaderMap::new();
        headers.append(UPGRADE, HeaderValue::from_static("h2c"));
        headers.append(UPGRADE, HeaderValue::from_static("WebSocket"));
        assert!(has_token(&headers, UPGRADE, "websocket"));
    }

    #[test]
    fn token_must_match_whole_element() {
        let mut headers = HeaderMap::new();
        headers.append(
            UPGRADE,
            HeaderValue::from_static("websockets, notwebsocket"),
        );
        assert!(!has_token(&headers, UPGRADE, "websocket"));
    }

    #[test]
    fn extension_grammar_parses_names_params_and_values() {
        let parsed = parse_extensions(
            b"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
        )
        .unwrap();
        assert_eq!(
            parsed,
            [ExtensionParams::new("permessage-deflate")
                .param("client_max_window_bits", None)
                .param("server_max_window_bits", Some("10".into()))]
        );
    }

    #[test]
    fn extension_grammar_unquotes_quoted_values_with_escapes() {
        let parsed =
            parse_extensions(br#"x; a="10"; b="with space"; c="q\"uote\\d"; d="""#).unwrap();
        assert_eq!(
            parsed[0].params,
            [
                param("a", Some("10")),
                param("b", Some("with space")),
                param("c", Some("q\"uote\\d")),
                param("d", Some("")),
            ]
        );
    }

    #[test]
    fn extension_grammar_tolerates_whitespace_around_separators() {
        let parsed = parse_extensions(b" \tfoo ;\ta = 1 ; b\t=\t\"2\" ,  bar ; c ").unwrap();
        assert_eq!(
            parsed,
            [
                ExtensionParams::new("foo")
                    .param("a", Some("1".into()))
                    .param("b", Some("2".into())),
                ExtensionParams::new("bar").param("c", None),
            ]
        );
    }

    #[test]
    fn extension_grammar_keeps_multiple_elements_in_order_and_skips_empty_ones() {
        let parsed = parse_extensions(b", a, ,b;x, a;y=2,").unwrap();
        let names: Vec<_> = parsed.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
    }

    #[test]
    fn extension_grammar_keeps_duplicate_params() {
        let parsed = parse_extensions(b"x; a=1; a=2; a").unwrap();
        assert_eq!(
            parsed[0].params,
            [
                param("a", Some("1")),
                param("a", Some("2")),
                param("a", None)
            ]
        );
    }

    #[test]
    fn extension_headers_span_repeated_lines() {
        let mut headers = HeaderMap::new();
        headers.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("a; x=1"));
        headers.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("b"));
        let parsed = parse_extension_headers(&headers).unwrap();
        assert_eq!(
            parsed,
            [
                ExtensionParams::new("a").param("x", Some("1".into())),
                ExtensionParams::new("b")
            ]
        );
    }

    #[test]
    fn extension_grammar_rejects_malformed_values() {
        for (bad, offset) in [
            (&b"x; a=\"unterminated"[..], 18),
            (b"x; =1", 3),
            (b"x; a=", 5),
            (b"x y", 2),
            (b"x; a=1 2", 7),
            (b"x; a=\"\x01\"", 6),
            (b";x", 0),
            (b"x; a=b=c", 6),
            (b"x; a=\"\\", 7),
            (b"\"x\"", 0),
        ] {
            let err = parse_extensions(bad).unwrap_err();
            assert_eq!(
                err.offset,
                offset,
                "{:?}: {err}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn extension_writer_quotes_only_non_tokens_and_round_trips() {
        let elements = [
            ExtensionParams::new("a")
                .param("x", None)
                .param("y", Some("10".into())),
            ExtensionParams::new("b")
                .param("z", Some("two words \"q\" \\".into()))
                .param("e", Some(String::new())),
        ];
        let written = write_extensions(&elements).unwrap();
        assert_eq!(written, r#"a; x; y=10, b; z="two words \"q\" \\"; e="""#);
        assert_eq!(parse_extensions(written.as_bytes()).unwrap(), elements);
    }

    #[test]
    fn extension_writer_refuses_what_would_corrupt_the_header() {
        assert!(write_extensions(&[ExtensionParams::new("bad name")]).is_err());
        assert!(write_extensions(&[ExtensionParams::new("x").param("a\r\n", None)]).is_err());
        assert!(
            write_extensions(&[
                ExtensionParams::new("x").param("a", Some("1\r\nInjected: 1".into()))
            ])
            .is_err()
        );
    }
}
