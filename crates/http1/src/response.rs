//! [`ResponseReader`]: a client's reading of the server's final response head, shared by the
//! WebSocket upgrade and by any other exchange a client runs on an HTTP/1.1 wire (an HTTP
//! CONNECT to a proxy, RFC 9110 §9.3.6).

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::error::Error;
use crate::head::{HeadReader, Kind, parse_response};
use crate::limits::Limits;

/// Reads a server's response head as a user agent (RFC 9112 §4–§5), incrementally and
/// within [`Limits`], skipping interim responses (RFC 9110 §15.2: 100 Continue, 103 Early
/// Hints, …; at most [`max_interim_responses`](Limits::max_interim_responses)) until the
/// final one. 101 Switching Protocols counts as final. The body, if any, is the caller's.
///
/// ```
/// use wintergreen_http1::{Limits, ResponseReader};
///
/// let mut reader = ResponseReader::new(Limits::default());
/// assert!(reader.receive(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Conn").unwrap().is_none());
/// let (response, rest) = reader.receive(b"ection established\r\n\r\n").unwrap().unwrap();
/// assert_eq!(response.status(), 200);
/// assert!(rest.is_empty());
/// ```
#[derive(Debug)]
pub struct ResponseReader {
    head: HeadReader,
    limits: Limits,
    /// Interim responses skipped so far.
    interim: usize,
}

impl ResponseReader {
    /// A reader bounded by `limits` (head size, header count, interim responses).
    pub fn new(limits: Limits) -> Self {
        Self {
            head: HeadReader::new(Kind::Response, limits),
            limits,
            interim: 0,
        }
    }

    /// Whether no byte of the current head has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty()
    }

    /// Feeds bytes from the server. Returns `Ok(None)` while more are needed, then the final
    /// response head and the bytes that followed it (the start of its body, or of whatever
    /// the connection carries next).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::HeadTooLarge`], [`Error::TooManyHeaders`],
    /// [`Error::TooManyInterimResponses`]: the server's fault.
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<(Response<()>, Bytes)>, Error> {
        // The bytes after a skipped interim response, read as the start of the next head.
        let mut after_interim: Option<Bytes> = None;
        loop {
            let input = after_interim.as_deref().unwrap_or(data);
            let Some((response, leftover)) = self.head.push(input, parse_response)? else {
                return Ok(None);
            };
            let status = response.status();
            if status == StatusCode::SWITCHING_PROTOCOLS || !status.is_informational() {
                return Ok(Some((response, leftover)));
            }
            // RFC 9110 §15.2: an interim response; the final one follows.
            self.interim += 1;
            if self.interim > self.limits.max_interim_responses {
                return Err(Error::TooManyInterimResponses {
                    limit: self.limits.max_interim_responses,
                });
            }
            tracing::debug!(%status, "interim response skipped");
            self.head = HeadReader::new(Kind::Response, self.limits);
            after_interim = Some(leftover);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn interim_responses_past_the_limit_fail() {
        let limits = Limits {
            max_interim_responses: 1,
            ..Limits::default()
        };
        let mut reader = ResponseReader::new(limits);
        let err = reader
            .receive(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n")
            .unwrap_err();
        assert!(matches!(err, Error::TooManyInterimResponses { limit: 1 }));
    }

    #[test]
    fn a_final_head_comes_with_the_bytes_after_it() {
        let mut reader = ResponseReader::new(Limits::default());
        let (response, rest) = reader
            .receive(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nhi")
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), 407);
        assert_eq!(&rest[..], b"hi");
    }

    #[test]
    fn bytes_that_are_not_http_fail_at_once() {
        let mut reader = ResponseReader::new(Limits::default());
        assert!(matches!(
            reader.receive(b"\x05\x00"),
            Err(Error::Malformed(crate::ParseError::NotHttp))
        ));
    }
}
