//! The transport's error.

use wintergreen_handshake::HandshakeError;

/// A failed HTTP/1.1 upgrade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The opening handshake failed: see [`HandshakeError`] for each cause, e.g.
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed) for a non-101 answer.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
}

impl Error {
    /// The handshake error, if that is what this is.
    pub fn as_handshake(&self) -> Option<&HandshakeError> {
        match self {
            Self::Handshake(err) => Some(err),
        }
    }
}
