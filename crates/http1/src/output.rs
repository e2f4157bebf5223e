//! The bytes a sans-IO handshake step has queued for the peer.

use bytes::{Buf as _, Bytes};

/// A handshake step whose bytes must be written to the peer before it goes on: the
/// client's request ([`ClientUpgrade`](crate::ClientUpgrade)), the server's 101
/// ([`ServerAccepted`](crate::ServerAccepted)) or refusal
/// ([`ServerRejected`](crate::ServerRejected)), or either
/// ([`ServerUpgraded`](crate::ServerUpgraded)). Write
/// [`pending_output`](Self::pending_output), then [`consume_output`](Self::consume_output)
/// what was written.
pub trait PendingOutput {
    /// The bytes not yet written.
    fn pending_output(&self) -> &[u8];

    /// Drops the first `n` bytes of the pending output: they were written, or the caller
    /// took them into its own write buffer. `usize::MAX` gives up on writing them (e.g.
    /// when the connection is gone).
    fn consume_output(&mut self, n: usize);

    /// Whether the whole output was written.
    fn is_flushed(&self) -> bool {
        self.pending_output().is_empty()
    }
}

/// Drops up to `n` bytes from the front of `output`.
pub(crate) fn consume(output: &mut Bytes, n: usize) {
    output.advance(n.min(output.len()));
}
