//! Bounds on what a peer can make the HTTP/1.1 handshake buffer.

/// Limits on the HTTP/1.1 opening handshake, each with a documented default. Build it from
/// [`Limits::default`] and set the fields you need.
///
/// Every buffer a peer fills during the handshake is bounded by one of these: the head
/// being read (both roles), the number of its header fields, the interim responses a
/// server may send before its final one, and the body of a refusal the client keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request or response head (any empty lines before it, the start line, the
    /// header fields and the empty line that ends it), in bytes. Past it:
    /// [`HeadTooLarge`](crate::Error::HeadTooLarge), answered with 431 by a server.
    /// Default: 16 KiB ([`DEFAULT_MAX_HEAD_BYTES`](Self::DEFAULT_MAX_HEAD_BYTES)).
    pub max_head_bytes: usize,
    /// Most header fields in one head. Past it:
    /// [`TooManyHeaders`](crate::Error::TooManyHeaders), answered with 431 by a server.
    /// Default: 64 ([`DEFAULT_MAX_HEADERS`](Self::DEFAULT_MAX_HEADERS)).
    pub max_headers: usize,
    /// Client: most bytes of a refusal's (non-101 response's) body kept in
    /// [`UpgradeFailed`](wintergreen_handshake::HandshakeError::UpgradeFailed); the
    /// handshake ends there and a longer body is cut. Default: 64 KiB
    /// ([`DEFAULT_MAX_BODY_BYTES`](Self::DEFAULT_MAX_BODY_BYTES)).
    pub max_body_bytes: usize,
    /// Client: most 1xx interim responses (100 Continue, 103 Early Hints, RFC 9110 §15.2)
    /// skipped before the final response; each is bounded by
    /// [`max_head_bytes`](Self::max_head_bytes). Past it:
    /// [`TooManyInterimResponses`](crate::Error::TooManyInterimResponses). Default: 8
    /// ([`DEFAULT_MAX_INTERIM_RESPONSES`](Self::DEFAULT_MAX_INTERIM_RESPONSES)).
    pub max_interim_responses: usize,
}

impl Limits {
    /// Default [`max_head_bytes`](Self::max_head_bytes): 16 KiB.
    pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 << 10;
    /// Default [`max_headers`](Self::max_headers): 64.
    pub const DEFAULT_MAX_HEADERS: usize = 64;
    /// Default [`max_body_bytes`](Self::max_body_bytes): 64 KiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 10;
    /// Default [`max_interim_responses`](Self::max_interim_responses): 8.
    pub const DEFAULT_MAX_INTERIM_RESPONSES: usize = 8;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: Self::DEFAULT_MAX_HEAD_BYTES,
            max_headers: Self::DEFAULT_MAX_HEADERS,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_interim_responses: Self::DEFAULT_MAX_INTERIM_RESPONSES,
        }
    }
}
