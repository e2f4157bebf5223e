//! Bounds on what a peer can make the handshake buffer.

/// Limits on the opening handshake, each with a documented default. Build it from
/// [`HandshakeLimits::default`] and set the fields you need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandshakeLimits {
    /// Largest request or response head (start line and header fields, up to and including
    /// the empty line), in bytes. Past it: [`HeadersTooLarge`](crate::HandshakeError::HeadersTooLarge).
    /// Default: 16 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in one head. Past it:
    /// [`TooManyHeaders`](crate::HandshakeError::TooManyHeaders). Default: 64.
    pub max_headers: usize,
    /// Client: most bytes of a failed (non-101) response's body kept in
    /// [`UpgradeFailed`](crate::HandshakeError::UpgradeFailed); a longer body is cut there.
    /// Default: 64 KiB.
    pub max_body_bytes: usize,
}

impl HandshakeLimits {
    /// Default [`max_header_bytes`](Self::max_header_bytes): 16 KiB.
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 << 10;
    /// Default [`max_headers`](Self::max_headers): 64.
    pub const DEFAULT_MAX_HEADERS: usize = 64;
    /// Default [`max_body_bytes`](Self::max_body_bytes): 64 KiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 10;
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            max_headers: Self::DEFAULT_MAX_HEADERS,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
        }
    }
}
