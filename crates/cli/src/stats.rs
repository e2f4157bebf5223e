//! How the command shows a connection's statistics ([`Stats`], counted by the session).

use wintergreen::codec::{Compression, Stats};

/// One line for a connection's log: messages, payload and wire bytes, each way; frames,
/// pings and pongs; the deflate ratio when any message was compressed.
pub(crate) fn summary(stats: &Stats) -> String {
    format!(
        "in {} msgs / {} B payload / {} B wire / {} frames, out {} msgs / {} B payload / {} B \
         wire / {} frames, pings {}/{} pongs {}/{} (in/out), deflate in {} out {}",
        stats.messages_in,
        stats.payload_bytes_in,
        stats.wire_bytes_in,
        stats.frames_in,
        stats.messages_out,
        stats.payload_bytes_out,
        stats.wire_bytes_out,
        stats.frames_out,
        stats.pings_in,
        stats.pings_out,
        stats.pongs_in,
        stats.pongs_out,
        ratio(&stats.compression_in),
        ratio(&stats.compression_out),
    )
}

/// `compressed/uncompressed` as a percentage (`"31.2%"`), or `"n/a"` when no message was
/// compressed in that direction.
pub(crate) fn ratio(compression: &Compression) -> String {
    compression
        .ratio()
        .map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}
