//! The body of a response the client does not upgrade on (a refusal), read within a
//! bound: its framing (RFC 9112 §6) and a chunked decoder (RFC 9112 §7.1).

use bytes::{Buf as _, BytesMut};
use http::{HeaderMap, StatusCode, Version, header};
use wintergreen_handshake::headers::list_elements;

use crate::error::ParseError;

/// The longest chunk-size line, and the most trailer bytes, read before giving up.
const MAX_CHUNK_LINE: usize = 4096;

/// How a response's body ends (RFC 9112 §6.3).
#[derive(Debug)]
pub(crate) enum Framing {
    /// `Content-Length` (or no body at all): this many more bytes are wanted.
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`.
    Chunked(ChunkedBody),
    /// Neither: the body ends with the connection.
    UntilEof,
}

/// The framing of a final response's body, by RFC 9112 §6.3 read as a user agent:
/// 1xx, 204 and 304 have none (item 1); `Transfer-Encoding` with `Content-Length` is an
/// error (item 3), as is `Transfer-Encoding` in HTTP/1.0 (§6.1); chunked as the final
/// coding is chunked, another final coding reads until the connection closes (item 4);
/// an invalid `Content-Length` is an error (item 5); else the length (item 6) or the
/// connection's end (item 8).
pub(crate) fn response_framing(
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
) -> Result<Framing, ParseError> {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        if headers.contains_key(header::CONTENT_LENGTH) {
            return Err(ParseError::TransferEncodingWithContentLength);
        }
        let chunked = list_elements(headers, header::TRANSFER_ENCODING)
            .last()
            .is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked {
            Framing::Chunked(ChunkedBody::new())
        } else {
            Framing::UntilEof
        });
    }
    Ok(match content_length(headers)? {
        Some(length) => Framing::Length(length),
        None => Framing::UntilEof,
    })
}

/// The `Content-Length`, if present: every element of every field line must be the same
/// 1*DIGIT (RFC 9110 §8.6), else [`ParseError::InvalidContentLength`].
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ParseError> {
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        // An empty field value has no list element but is still invalid.
        if value.as_bytes().trim_ascii().is_empty() {
            return Err(ParseError::InvalidContentLength);
        }
    }
    for value in list_elements(headers, header::CONTENT_LENGTH) {
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::InvalidContentLength);
        }
        let parsed: u64 = std::str::from_utf8(value)
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or(ParseError::InvalidContentLength)?;
        if length.is_some_and(|l| l != parsed) {
            return Err(ParseError::InvalidContentLength);
        }
        length = Some(parsed);
    }
    Ok(length)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// A chunked body decoder (RFC 9112 §7.1), bounded: it keeps at most `max` decoded bytes,
/// at most [`MAX_CHUNK_LINE`] bytes of a chunk-size line and of trailers, and on
/// malformed input it stops and the body keeps what was decoded (a refusal's body is for
/// information; its status is what matters).
#[derive(Debug)]
pub(crate) struct ChunkedBody {
    raw: BytesMut,
    state: ChunkState,
    /// Trailer bytes skipped so far.
    trailers: usize,
}

impl ChunkedBody {
    fn new() -> Self {
        Self {
            raw: BytesMut::new(),
            state: ChunkState::Size,
            trailers: 0,
        }
    }

    /// Decodes into `body`; returns whether the body is complete, malformed, or at `max`.
    pub(crate) fn feed(&mut self, data: &[u8], body: &mut BytesMut, max: usize) -> bool {
        self.raw.extend_from_slice(data);
        loop {
            if body.len() >= max {
                return true;
            }
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(&self.raw) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.raw.advance(used);
                        self.state = if size == 0 {
                            ChunkState::Trailers
                        } else {
                            ChunkState::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => return self.raw.len() > MAX_CHUNK_LINE,
                    Err(_) => return true,
                },
                ChunkState::Data(remaining) => {
                    if self.raw.is_empty() {
                        return false;
                    }
                    let available = self
                        .raw
                        .len()
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let keep = available.min(max.saturating_sub(body.len()));
                    body.extend_from_slice(self.raw.get(..keep).unwrap_or_default());
                    self.raw.advance(available);
                    let remaining = remaining.saturating_sub(available as u64);
                    self.state = if remaining == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(remaining)
                    };
                }
                ChunkState::DataEnd => match (self.raw.first(), self.raw.get(1)) {
                    (None, _) | (Some(b'\r'), None) => return false,
                    (Some(b'\n'), _) => {
                        self.raw.advance(1);
                        self.state = ChunkState::Size;
                    }
                    (Some(b'\r'), Some(b'\n')) => {
                        self.raw.advance(2);
                        self.state = ChunkState::Size;
                    }
                    _ => return true,
                },
                ChunkState::Trailers => {
                    let Some(newline) = self.raw.iter().position(|&b| b == b'\n') else {
                        return self.raw.len() > MAX_CHUNK_LINE;
                    };
                    let line = self.raw.get(..newline).unwrap_or_default();
                    if line.is_empty() || line == b"\r" {
                        return true;
                    }
                    self.trailers += newline + 1;
                    if self.trailers > MAX_CHUNK_LINE {
                        return true;
                    }
                    self.raw.advance(newline + 1);
                }
            }
        }
    }
}
