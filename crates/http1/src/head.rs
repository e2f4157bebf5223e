//! Reading an HTTP/1.1 head (RFC 9112 §2–§5) incrementally with httparse, within limits.
//!
//! The start line is checked byte by byte as it arrives, so bytes that cannot be HTTP (a
//! TLS ClientHello on a plain port, binary garbage) fail at once rather than after the
//! handshake timeout. The rest of the head is parsed by httparse once an end of head can
//! have arrived.

use bytes::{Bytes, BytesMut};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use wintergreen_handshake::headers::is_tchar;

use crate::error::{Error, ParseError};
use crate::limits::Limits;

/// Header slots kept on the stack; larger limits use the heap.
const STACK_HEADERS: usize = Limits::DEFAULT_MAX_HEADERS;

/// Which start line a head begins with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
    Request,
    /// `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 §4).
    Response,
}

/// The HTTP-version both start lines use, up to its last digit (RFC 9112 §2.3).
const VERSION_PREFIX: &[u8] = b"HTTP/1.";

/// Where the start-line check is: a small state machine fed one byte at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Before the start line: empty lines may come first (RFC 9112 §2.2).
    Leading,
    /// A CR before the start line; an LF must follow.
    LeadingCr,
    /// Request: in the method token.
    Method,
    /// Request: in the request-target; whether a byte of it arrived.
    Target(bool),
    /// Request: this many bytes of the HTTP-version arrived.
    RequestVersion(usize),
    /// Response: this many bytes of the HTTP-version arrived.
    ResponseVersion(usize),
    /// Response: this many status-code digits arrived.
    Code(usize),
    /// Response: in the reason phrase.
    Reason,
    /// The start line's CR; an LF must follow.
    LineCr,
    /// The start line is complete; httparse checks the rest.
    Done,
}

/// Checks that the bytes so far can begin an HTTP/1.x start line of one kind.
#[derive(Debug, Clone, Copy)]
struct StartLineCheck {
    kind: Kind,
    step: Step,
}

impl StartLineCheck {
    const fn new(kind: Kind) -> Self {
        Self {
            kind,
            step: Step::Leading,
        }
    }

    fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Takes the next byte of the head.
    fn feed(&mut self, b: u8) -> Result<(), ParseError> {
        self.step = match (self.step, b) {
            (Step::Done, _) => Step::Done,
            (Step::Leading, b'\r') => Step::LeadingCr,
            (Step::Leading | Step::LeadingCr, b'\n') => Step::Leading,
            (Step::LeadingCr, _) => return Err(ParseError::BareCr),
            (Step::Leading, b) => match self.kind {
                Kind::Request if is_tchar(b) => Step::Method,
                Kind::Response if VERSION_PREFIX.first() == Some(&b) => Step::ResponseVersion(1),
                _ => return Err(ParseError::NotHttp),
            },
            (Step::Method, b' ') => Step::Target(false),
            (Step::Method, b) if is_tchar(b) => Step::Method,
            (Step::Method, _) => return Err(ParseError::Method),
            (Step::Target(true), b' ') => Step::RequestVersion(0),
            (Step::Target(_), 0x21..=0x7e) => Step::Target(true),
            (Step::Target(_), _) => return Err(ParseError::RequestTarget),
            (Step::RequestVersion(n), b) => match version_byte(n, b, false)? {
                Some(n) => Step::RequestVersion(n),
                None if b == b'\r' => Step::LineCr,
                None if b == b'\n' => Step::Done,
                None => return Err(ParseError::Version),
            },
            (Step::ResponseVersion(n), b) => match version_byte(n, b, true) {
                Ok(Some(n)) => Step::ResponseVersion(n),
                Ok(None) if b == b' ' => Step::Code(0),
                // A server that answers with something other than HTTP.
                Err(_) if n < b"HTTP/".len() => return Err(ParseError::NotHttp),
                _ => return Err(ParseError::Version),
            },
            (Step::Code(n), b'0'..=b'9') if n < 3 => Step::Code(n + 1),
            (Step::Code(3), b' ') => Step::Reason,
            (Step::Code(3) | Step::Reason, b'\r') => Step::LineCr,
            (Step::Code(3) | Step::Reason, b'\n') => Step::Done,
            (Step::Code(_), _) => return Err(ParseError::Status),
            // reason-phrase = *( HTAB / SP / VCHAR / obs-text ), RFC 9112 §4.
            (Step::Reason, b'\t' | 0x20..=0x7e | 0x80..=0xff) => Step::Reason,
            (Step::Reason, _) => return Err(ParseError::Status),
            (Step::LineCr, b'\n') => Step::Done,
            (Step::LineCr, _) => return Err(ParseError::BareCr),
        };
        Ok(())
    }
}

/// The `n`th byte of an HTTP-version, `HTTP/1.0` or `HTTP/1.1` (or, with `any_minor`,
/// `HTTP/1.` and any digit): `Some(n + 1)` if `b` continues it, `None` once it is complete
/// (`b` is the byte after it).
fn version_byte(n: usize, b: u8, any_minor: bool) -> Result<Option<usize>, ParseError> {
    match VERSION_PREFIX.get(n) {
        Some(&expected) if expected == b => Ok(Some(n + 1)),
        Some(_) => Err(ParseError::Version),
        None if n == VERSION_PREFIX.len() && matches!(b, b'0' | b'1') => Ok(Some(n + 1)),
        None if n == VERSION_PREFIX.len() && any_minor && b.is_ascii_digit() => Ok(Some(n + 1)),
        None if n == VERSION_PREFIX.len() => Err(ParseError::Version),
        None => Ok(None),
    }
}

/// Buffers bytes until a whole head has arrived.
///
/// httparse runs only when an end of head ("\n\r\n" or "\n\n", after any leading empty
/// lines) can have arrived: each call searches the newly appended bytes plus two bytes of
/// overlap, and the start-line check sees each byte once, so delivering a head byte by
/// byte costs linear time.
#[derive(Debug)]
pub(crate) struct HeadReader {
    buf: BytesMut,
    /// Where the head starts, past leading empty lines (once a non-CR/LF byte arrived).
    start: Option<usize>,
    /// Where the next search for an end of head begins.
    next_search: usize,
    /// How many bytes of `buf` the start-line check has seen.
    checked: usize,
    check: StartLineCheck,
    limits: Limits,
}

/// What a head parser found in a candidate head.
pub(crate) enum Parsed<T> {
    /// A whole head of this many bytes.
    Complete(T, usize),
    /// httparse wants more.
    Partial,
}

impl HeadReader {
    pub(crate) fn new(kind: Kind, limits: Limits) -> Self {
        Self {
            buf: BytesMut::new(),
            start: None,
            next_search: 0,
            checked: 0,
            check: StartLineCheck::new(kind),
            limits,
        }
    }

    /// Whether no byte has arrived yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends `data` and, when a whole head may be there, parses it. Returns the parsed
    /// head and the bytes after it.
    pub(crate) fn push<T>(
        &mut self,
        data: &[u8],
        mut parse: impl FnMut(&[u8], &Limits) -> Result<Parsed<T>, Error>,
    ) -> Result<Option<(T, Bytes)>, Error> {
        self.buf.extend_from_slice(data);
        self.check_start_line()?;
        let too_large = Error::HeadTooLarge {
            limit: self.limits.max_head_bytes,
        };
        loop {
            let Some((newline, end)) = self.find_end() else {
                if self.buf.len() > self.limits.max_head_bytes {
                    return Err(too_large);
                }
                return Ok(None);
            };
            if end > self.limits.max_head_bytes {
                return Err(too_large);
            }
            let head = self.buf.get(..end).unwrap_or_default();
            match parse(head, &self.limits)? {
                Parsed::Complete(value, len) => {
                    let mut buf = std::mem::take(&mut self.buf);
                    let leftover = buf.split_off(len.min(buf.len()));
                    return Ok(Some((value, leftover.freeze())));
                }
                // Not the end after all: look further.
                Parsed::Partial => self.next_search = newline + 1,
            }
        }
    }

    /// Runs the start-line check over the bytes it has not seen, until the line ends.
    fn check_start_line(&mut self) -> Result<(), Error> {
        if self.check.is_done() {
            return Ok(());
        }
        for &b in self.buf.get(self.checked..).unwrap_or_default() {
            self.check.feed(b)?;
            self.checked += 1;
            if self.check.is_done() {
                break;
            }
        }
        Ok(())
    }

    /// Finds the next end of head: the index of its first '\n' and the index past it.
    fn find_end(&mut self) -> Option<(usize, usize)> {
        let len = self.buf.len();
        let start = match self.start {
            Some(start) => start,
            None => {
                let rest = self.buf.get(self.next_search..).unwrap_or_default();
                match rest.iter().position(|&b| b != b'\r' && b != b'\n') {
                    Some(i) => {
                        let start = self.next_search + i;
                        self.start = Some(start);
                        self.next_search = start;
                        start
                    }
                    None => {
                        self.next_search = len;
                        return None;
                    }
                }
            }
        };
        let mut from = self.next_search.max(start);
        while let Some(i) = self
            .buf
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            let newline = from + i;
            match (self.buf.get(newline + 1), self.buf.get(newline + 2)) {
                (Some(b'\n'), _) => return Some((newline, newline + 2)),
                (Some(b'\r'), Some(b'\n')) => return Some((newline, newline + 3)),
                _ => from = newline + 1,
            }
        }
        // A '\n' in the last two bytes may still begin an end of head.
        self.next_search = len.saturating_sub(2).max(start);
        None
    }
}

/// Runs `f` with a slice of `max` empty httparse headers (on the stack when it fits).
fn with_header_slots<'b, R>(max: usize, f: impl FnOnce(&mut [httparse::Header<'b>]) -> R) -> R {
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match stack.get_mut(..max) {
        Some(slots) => f(slots),
        None => f(&mut vec![httparse::EMPTY_HEADER; max]),
    }
}

fn map_httparse_error(err: httparse::Error, limits: &Limits) -> Error {
    match err {
        httparse::Error::TooManyHeaders => Error::TooManyHeaders {
            limit: limits.max_headers,
        },
        other => Error::Malformed(ParseError::from_httparse(other)),
    }
}

/// The header fields as a map. With `unfold`, each obs-fold (CRLF or LF followed by
/// whitespace) in a value becomes spaces, as RFC 9112 §5.2 asks of a user agent.
fn header_map(headers: &[httparse::Header<'_>], unfold: bool) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name =
            HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| ParseError::HeaderName)?;
        let value = if unfold && header.value.iter().any(|&b| b == b'\r' || b == b'\n') {
            let unfolded: Vec<u8> = header
                .value
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            HeaderValue::from_bytes(unfolded.trim_ascii())
        } else {
            HeaderValue::from_bytes(header.value)
        }
        .map_err(|_| ParseError::HeaderValue)?;
        map.append(name, value);
    }
    Ok(map)
}

const fn version(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    }
}

/// Parses a response head as a user agent (RFC 9112 §4–§5): the reason phrase may be
/// empty or absent, bare LF ends lines (§2.2), obs-fold is unfolded (§5.2), a higher
/// HTTP/1 minor version is read as HTTP/1.1 (RFC 9110 §6.2); whitespace between a field
/// name and its colon is refused (§5.1).
pub(crate) fn parse_response(head: &[u8], limits: &Limits) -> Result<Parsed<Response<()>>, Error> {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let minor = start + VERSION_PREFIX.len();
    if matches!(head.get(minor), Some(b'2'..=b'9')) {
        // httparse knows HTTP/1.0 and HTTP/1.1 only: read HTTP/1.x as HTTP/1.1.
        let mut patched = head.to_vec();
        if let Some(digit) = patched.get_mut(minor) {
            *digit = b'1';
        }
        return parse_response(&patched, limits);
    }
    let mut config = httparse::ParserConfig::default();
    config.allow_obsolete_multiline_headers_in_responses(true);
    with_header_slots(limits.max_headers, |slots| {
        let mut parsed = httparse::Response::new(slots);
        let len = match config.parse_response(&mut parsed, head) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(err) => return Err(map_httparse_error(err, limits)),
        };
        let code = parsed.code.unwrap_or_default();
        let status = StatusCode::from_u16(code).map_err(|_| ParseError::Status)?;
        let mut response = Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = version(parsed.version);
        *response.headers_mut() = header_map(parsed.headers, true)?;
        Ok(Parsed::Complete(response, len))
    })
}

/// Parses a request head as a server, strictly (RFC 9112 §3, §5): whitespace between a
/// field name and its colon (§5.1), obs-fold (§5.2) and a bare CR (§2.2) are refused;
/// leading empty lines are skipped and bare LF ends lines (§2.2).
pub(crate) fn parse_request(head: &[u8], limits: &Limits) -> Result<Parsed<Request<()>>, Error> {
    with_header_slots(limits.max_headers, |slots| {
        let mut parsed = httparse::Request::new(slots);
        let len = match parsed.parse(head) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(err) => return Err(map_httparse_error(err, limits)),
        };
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|_| ParseError::Method)?;
        let uri = Uri::try_from(parsed.path.unwrap_or_default())
            .map_err(|_| ParseError::RequestTarget)?;
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = version(parsed.version);
        *request.headers_mut() = header_map(parsed.headers, false)?;
        Ok(Parsed::Complete(request, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_response(reader: &mut HeadReader, data: &[u8]) -> Option<(Response<()>, Bytes)> {
        reader.push(data, parse_response).unwrap()
    }

    #[test]
    fn head_split_anywhere_parses_the_same() {
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nrest";
        for split in 0..input.len() {
            let mut reader = HeadReader::new(Kind::Response, Limits::default());
            let (a, b) = input.split_at(split);
            let (response, leftover) = match push_response(&mut reader, a) {
                Some(done) => done,
                None => push_response(&mut reader, b).unwrap(),
            };
            assert_eq!(response.status(), 101);
            assert_eq!(response.headers()["upgrade"], "websocket");
            if split >= input.len() - 4 {
                assert!(b"rest".starts_with(&leftover));
            } else {
                assert_eq!(leftover, &b"rest"[..]);
            }
        }
    }

    #[test]
    fn httparse_runs_once_for_a_head_fed_byte_by_byte() {
        let mut reader = HeadReader::new(Kind::Response, Limits::default());
        let mut runs = 0;
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let mut done = None;
        for byte in input {
            let parsed = reader
                .push(std::slice::from_ref(byte), |head, limits| {
                    runs += 1;
                    parse_response(head, limits)
                })
                .unwrap();
            if parsed.is_some() {
                done = parsed;
            }
        }
        assert_eq!(runs, 1);
        assert!(done.is_some());
    }

    #[test]
    fn leading_empty_lines_before_a_request_are_skipped_rfc9112_2_2() {
        let mut reader = HeadReader::new(Kind::Request, Limits::default());
        assert!(reader.push(b"\r\n\n\r\n", parse_request).unwrap().is_none());
        let (request, _) = reader
            .push(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", parse_request)
            .unwrap()
            .unwrap();
        assert_eq!(request.uri(), "/");
    }

    #[test]
    fn incomplete_head_over_the_limit_fails_without_waiting() {
        let limits = Limits {
            max_head_bytes: 32,
            ..Limits::default()
        };
        let mut reader = HeadReader::new(Kind::Response, limits);
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.resize(33, b'a');
        let err = reader.push(&head, parse_response).unwrap_err();
        assert!(matches!(err, Error::HeadTooLarge { limit: 32 }), "{err:?}");
    }

    #[test]
    fn start_line_check_accepts_every_prefix_of_valid_lines() {
        for (kind, line) in [
            (Kind::Request, &b"\r\n\nGET /chat?x=1 HTTP/1.1\r\n"[..]),
            (Kind::Request, b"OPTIONS * HTTP/1.0\n"),
            (Kind::Response, b"HTTP/1.1 101 Switching Protocols\r\n"),
            (Kind::Response, b"HTTP/1.0 404\r\n"),
            (Kind::Response, b"HTTP/1.1 200 \xe9t\xe9\tok\n"),
            (Kind::Response, b"HTTP/1.9 200 OK\r\n"),
        ] {
            let mut check = StartLineCheck::new(kind);
            for &b in line {
                check.feed(b).unwrap();
            }
            assert!(check.is_done(), "{line:?}");
        }
    }

    #[test]
    fn start_line_check_names_the_broken_part() {
        for (kind, line, want) in [
            (Kind::Request, &b"\x16\x03\x01"[..], ParseError::NotHttp),
            (Kind::Request, b"G\x00", ParseError::Method),
            (Kind::Request, b"GET  /", ParseError::RequestTarget),
            (Kind::Request, b"GET /\x7f", ParseError::RequestTarget),
            (Kind::Request, b"GET / HTTP/2", ParseError::Version),
            (Kind::Request, b"GET / HTTP/1.1x", ParseError::Version),
            (Kind::Request, b"GET / HTTP/1.2", ParseError::Version),
            (Kind::Request, b"GET / HTTP/1.1\rx", ParseError::BareCr),
            (Kind::Request, b"\rx", ParseError::BareCr),
            (Kind::Response, b"SSH-2.0", ParseError::NotHttp),
            (Kind::Response, b"HTTP/2 200", ParseError::Version),
            (Kind::Response, b"HTTP/1.1 20x", ParseError::Status),
            (Kind::Response, b"HTTP/1.1 2000", ParseError::Status),
            (Kind::Response, b"HTTP/1.1 200 O\x01", ParseError::Status),
        ] {
            let mut check = StartLineCheck::new(kind);
            let got = line.iter().try_for_each(|&b| check.feed(b));
            assert_eq!(got, Err(want), "{line:?}");
        }
    }
}
