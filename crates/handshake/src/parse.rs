//! Incremental reading of an HTTP/1.1 head with httparse, within limits.

use bytes::{Bytes, BytesMut};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};

use crate::error::HandshakeError;
use crate::limits::HandshakeLimits;

/// Header slots kept on the stack; larger limits use the heap.
const STACK_HEADERS: usize = HandshakeLimits::DEFAULT_MAX_HEADERS;

/// Buffers bytes until a whole head has arrived.
///
/// httparse runs only when an end of head ("\n\r\n" or "\n\n", after any leading empty
/// lines) can have arrived: each call searches the newly appended bytes plus two bytes of
/// overlap, so delivering a head byte by byte costs linear time.
#[derive(Debug)]
pub(crate) struct HeadReader {
    buf: BytesMut,
    /// Where the head starts, past leading empty lines (once a non-CR/LF byte arrived).
    start: Option<usize>,
    /// Where the next search for an end of head begins.
    next_search: usize,
    limits: HandshakeLimits,
}

/// What a head parser found in a candidate head.
pub(crate) enum Parsed<T> {
    /// A whole head of this many bytes.
    Complete(T, usize),
    /// httparse wants more.
    Partial,
}

impl HeadReader {
    pub(crate) fn new(limits: HandshakeLimits) -> Self {
        Self {
            buf: BytesMut::new(),
            start: None,
            next_search: 0,
            limits,
        }
    }

    /// Whether no byte has arrived yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends `data` and, when a whole head may be there, runs `parse` on it. Returns the
    /// parsed head and the bytes after it.
    pub(crate) fn push<T>(
        &mut self,
        data: &[u8],
        mut parse: impl FnMut(&[u8]) -> Result<Parsed<T>, HandshakeError>,
    ) -> Result<Option<(T, Bytes)>, HandshakeError> {
        self.buf.extend_from_slice(data);
        loop {
            let Some((newline, end)) = self.find_end() else {
                if self.buf.len() > self.limits.max_header_bytes {
                    return Err(HandshakeError::HeadersTooLarge {
                        limit: self.limits.max_header_bytes,
                    });
                }
                return Ok(None);
            };
            if end > self.limits.max_header_bytes {
                return Err(HandshakeError::HeadersTooLarge {
                    limit: self.limits.max_header_bytes,
                });
            }
            let head = self.buf.get(..end).unwrap_or_default();
            match parse(head)? {
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

fn map_httparse_error(err: httparse::Error, limits: &HandshakeLimits) -> HandshakeError {
    match err {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders {
            limit: limits.max_headers,
        },
        other => HandshakeError::MalformedHttp(other.to_string()),
    }
}

fn header_map(headers: &[httparse::Header<'_>]) -> Result<HeaderMap, HandshakeError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
            HandshakeError::MalformedHttp(format!("invalid header name {:?}", header.name))
        })?;
        let value = HeaderValue::from_bytes(header.value).map_err(|_| {
            HandshakeError::MalformedHttp(format!("invalid value for header {name}"))
        })?;
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

/// Parses a response head.
pub(crate) fn parse_response(
    head: &[u8],
    limits: &HandshakeLimits,
) -> Result<Parsed<Response<()>>, HandshakeError> {
    with_header_slots(limits.max_headers, |slots| {
        let mut parsed = httparse::Response::new(slots);
        let len = match parsed.parse(head) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(err) => return Err(map_httparse_error(err, limits)),
        };
        let code = parsed.code.unwrap_or_default();
        let status = StatusCode::from_u16(code)
            .map_err(|_| HandshakeError::MalformedHttp(format!("invalid status code {code}")))?;
        let mut response = Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = version(parsed.version);
        *response.headers_mut() = header_map(parsed.headers)?;
        Ok(Parsed::Complete(response, len))
    })
}

/// Parses a request head.
pub(crate) fn parse_request(
    head: &[u8],
    limits: &HandshakeLimits,
) -> Result<Parsed<Request<()>>, HandshakeError> {
    with_header_slots(limits.max_headers, |slots| {
        let mut parsed = httparse::Request::new(slots);
        let len = match parsed.parse(head) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(err) => return Err(map_httparse_error(err, limits)),
        };
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|_| HandshakeError::MalformedHttp("invalid method".into()))?;
        let uri = Uri::try_from(parsed.path.unwrap_or_default())
            .map_err(|_| HandshakeError::MalformedHttp("invalid request target".into()))?;
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = version(parsed.version);
        *request.headers_mut() = header_map(parsed.headers)?;
        Ok(Parsed::Complete(request, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> HeadReader {
        HeadReader::new(HandshakeLimits::default())
    }

    fn push_response(reader: &mut HeadReader, data: &[u8]) -> Option<(Response<()>, Bytes)> {
        let limits = HandshakeLimits::default();
        reader
            .push(data, |head| parse_response(head, &limits))
            .unwrap()
    }

    #[test]
    fn head_split_anywhere_parses_the_same() {
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nrest";
        for split in 0..input.len() {
            let mut reader = reader();
            let (a, b) = input.split_at(split);
            let first = push_response(&mut reader, a);
            let (response, leftover) = match first {
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
        let limits = HandshakeLimits::default();
        let mut reader = reader();
        let mut runs = 0;
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let mut done = None;
        for byte in input {
            let parsed = reader
                .push(std::slice::from_ref(byte), |head| {
                    runs += 1;
                    parse_response(head, &limits)
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
    fn bare_lf_line_endings_end_the_head() {
        let mut reader = reader();
        let (response, leftover) =
            push_response(&mut reader, b"HTTP/1.1 101 OK\nUpgrade: websocket\n\nxy").unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(leftover, &b"xy"[..]);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let mut reader = reader();
        assert!(push_response(&mut reader, b"\r\n\r\n").is_none());
        let (request, _) = {
            let limits = HandshakeLimits::default();
            reader
                .push(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", |head| {
                    parse_request(head, &limits)
                })
                .unwrap()
                .unwrap()
        };
        assert_eq!(request.uri(), "/");
    }

    #[test]
    fn incomplete_head_over_the_limit_fails_without_waiting() {
        let limits = HandshakeLimits {
            max_header_bytes: 32,
            ..HandshakeLimits::default()
        };
        let mut reader = HeadReader::new(limits);
        let err = reader
            .push(&[b'a'; 33], |head| parse_response(head, &limits))
            .unwrap_err();
        assert!(matches!(err, HandshakeError::HeadersTooLarge { limit: 32 }));
    }
}
