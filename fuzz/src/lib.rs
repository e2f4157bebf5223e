//! What the fuzz targets share: the allocation budget and small input helpers.
//!
//! Every target installs a counting global allocator (the `cap` crate, through [`budget!`])
//! and names a heap budget in bytes. After each input, the heap's high-water mark since the
//! first input must not exceed the heap at that first input plus the budget, or the target
//! panics and libFuzzer keeps the input as a crash. Inputs are bounded in length (`-max_len`,
//! 4 KiB unless told otherwise), so each budget is a constant set by the configured limits,
//! not by the input. That turns "no allocation beyond the configured limits" into something
//! checked on every execution, not just "no panic".

use std::alloc::System;
use std::sync::OnceLock;

pub use cap::Cap;

/// The counting allocator each target installs.
pub type Allocator = Cap<System>;

/// Declares the counting global allocator and `with_budget(|| …)`, which runs one input and
/// then checks the heap's high-water mark against `$bytes`.
#[macro_export]
macro_rules! budget {
    ($bytes:expr) => {
        #[global_allocator]
        static ALLOCATOR: $crate::Allocator = $crate::Cap::new(::std::alloc::System, usize::MAX);

        fn with_budget<T>(f: impl FnOnce() -> T) -> T {
            $crate::run_with_budget(&ALLOCATOR, $bytes, f)
        }
    };
}

/// Runs `f`, then panics if the heap ever grew past the heap at the first input plus `bytes`.
pub fn run_with_budget<T>(allocator: &Allocator, bytes: usize, f: impl FnOnce() -> T) -> T {
    static BASELINE: OnceLock<usize> = OnceLock::new();
    let baseline = *BASELINE.get_or_init(|| allocator.allocated());
    let out = f();
    let peak = allocator.max_allocated();
    assert!(
        peak <= baseline.saturating_add(bytes),
        "the heap peaked at {} KiB over its baseline: over the budget of {} KiB",
        peak.saturating_sub(baseline) >> 10,
        bytes >> 10
    );
    out
}

/// Splits `data` into pieces at the cut points `cuts` (taken modulo the remaining length), so
/// a target can feed the same bytes in arbitrary chunks.
pub fn split_at_cuts<'a>(data: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut rest = data;
    for &cut in cuts {
        if rest.is_empty() {
            break;
        }
        let at = usize::from(cut) % (rest.len() + 1);
        let (head, tail) = rest.split_at(at);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

/// Reads a raw fuzz input as `[n][n × u16 cut][bytes…]`: the first byte says how many cut
/// points (modulo 8) follow, big-endian, and the rest is the stream to feed. A seed is then
/// just `\0` followed by a real request or response, written by hand.
pub fn cuts_and_bytes(data: &[u8]) -> (Vec<u16>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 8);
    let (head, bytes) = rest.split_at((2 * n).min(rest.len()));
    let cuts = head
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    (cuts, bytes)
}
