//! What the fuzz targets share: the allocation budget and small input helpers.
//!
//! Every target installs [`ALLOCATOR`] as its global allocator (through [`budget!`]) and runs
//! each input under [`with_budget`]: the heap may grow by at most the target's budget while
//! the input runs, or the process aborts and libFuzzer keeps the input as a crash. That turns
//! "no allocation beyond the configured limits" into something the fuzzer checks on every
//! execution, not just "no panic".

use std::alloc::System;

pub use cap::Cap;

/// The counting allocator each target installs.
pub type Allocator = Cap<System>;

/// Declares the counting global allocator; put `wintergreen_fuzz::budget!();` in a target.
#[macro_export]
macro_rules! budget {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::Allocator = $crate::Cap::new(::std::alloc::System, usize::MAX);

        fn with_budget<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
            $crate::run_with_budget(&ALLOCATOR, bytes, f)
        }
    };
}

/// Runs `f` with the heap allowed to grow by at most `bytes` beyond what is live now.
pub fn run_with_budget<T>(allocator: &Allocator, bytes: usize, f: impl FnOnce() -> T) -> T {
    let ceiling = allocator.allocated().saturating_add(bytes);
    // Cannot fail: the ceiling is at least what is allocated now.
    let _ = allocator.set_limit(ceiling);
    let out = f();
    let _ = allocator.set_limit(usize::MAX);
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
