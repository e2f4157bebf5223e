//! Per-thread pools of idle zlib states, for the directions that agreed no context takeover
//! (RFC 7692 §7.1.1): no state has to survive a message there, so a connection gives its
//! state back when a message ends and takes one again when the next begins. An idle
//! connection then holds no deflate state at all, and one thread needs about one state of
//! each kind however many connections it serves, the way uWebSockets' shared compressor works.
//!
//! The states are boxed, so that a connection without one is small (the box moves between
//! the connection and the pool; no allocation per message). The pools are thread-local (no
//! lock on the message path) and small: at most [`MAX_IDLE`] states of each kind per thread;
//! a state given back to a full pool is freed. A state is reset before it is pooled, so no
//! connection can refer back into another's data. Inflaters for peer windows under 15 bits
//! are not pooled (zlib-rs resets an inflater to 15 bits, which would no longer reject a
//! distance beyond the agreed window): those are freed and made anew per message.
//! A connection that moves to another thread between messages (a work-stealing runtime)
//! simply takes its next state from that thread's pool.

use std::cell::RefCell;

use zlib_rs::{Deflate as ZlibDeflate, DeflateConfig as ZlibConfig, Inflate as ZlibInflate};

/// The most idle states of one kind (compressors, inflaters) a thread keeps: enough for the
/// few messages one thread compresses at the same moment (caller-fragmented messages hold
/// theirs until their last fragment).
pub(crate) const MAX_IDLE: usize = 4;

/// The inflater window zlib-rs can reset to without a new allocation (its reset always
/// restores 15 bits); inflaters for smaller windows are freed instead of pooled.
const RESETTABLE_BITS: u8 = 15;

/// What makes two compressors interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressorKind {
    /// zlib level, 0..=9.
    pub(crate) level: u8,
    /// zlib window bits, 9..=15.
    pub(crate) bits: u8,
    /// zlib memory level, 1..=9.
    pub(crate) mem_level: u8,
}

impl CompressorKind {
    /// A new raw-DEFLATE compressor of this kind. The fields are in zlib's ranges (the
    /// constructors clamp them), so zlib-rs accepts the configuration.
    pub(crate) fn create(self) -> Box<ZlibDeflate> {
        Box::new(ZlibDeflate::new_with_config(ZlibConfig {
            level: i32::from(self.level),
            // Negative: raw DEFLATE, no zlib header.
            window_bits: -i32::from(self.bits),
            mem_level: i32::from(self.mem_level),
            ..ZlibConfig::default()
        }))
    }
}

thread_local! {
    static COMPRESSORS: RefCell<Vec<(CompressorKind, Box<ZlibDeflate>)>> = const { RefCell::new(Vec::new()) };
    // Boxed: the box moves between a connection and the pool without copying the state.
    #[allow(clippy::vec_box)]
    static INFLATERS: RefCell<Vec<Box<ZlibInflate>>> = const { RefCell::new(Vec::new()) };
}

/// A compressor of `kind`: an idle one from this thread's pool, or a new one.
pub(crate) fn take_compressor(kind: CompressorKind) -> Box<ZlibDeflate> {
    COMPRESSORS
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            let at = pool.iter().position(|(k, _)| *k == kind)?;
            Some(pool.swap_remove(at).1)
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| kind.create())
}

/// Gives a compressor back at the end of a message: reset (a new stream, empty history) and
/// kept for the thread's next message, or freed if the pool is full.
pub(crate) fn give_compressor(kind: CompressorKind, mut zlib: Box<ZlibDeflate>) {
    zlib.reset();
    // At thread exit the pool is gone and the state is simply dropped.
    let _ = COMPRESSORS.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            if pool.len() < MAX_IDLE {
                pool.push((kind, zlib));
            }
        }
    });
}

/// A raw inflater for a `bits`-bit window: an idle one from this thread's pool (15 bits
/// only), or a new one.
pub(crate) fn take_inflater(bits: u8) -> Box<ZlibInflate> {
    let pooled = if bits == RESETTABLE_BITS {
        INFLATERS
            .try_with(|pool| pool.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
    } else {
        None
    };
    pooled.unwrap_or_else(|| Box::new(ZlibInflate::new(false, bits)))
}

/// Gives an inflater back at the end of a message: reset and kept (15-bit windows), or freed.
pub(crate) fn give_inflater(bits: u8, mut zlib: Box<ZlibInflate>) {
    if bits != RESETTABLE_BITS {
        return;
    }
    zlib.reset(false);
    let _ = INFLATERS.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            if pool.len() < MAX_IDLE {
                pool.push(zlib);
            }
        }
    });
}

/// How many idle zlib states the calling thread's pools hold: (compressors, inflaters), each
/// at most 4. A pooled compressor takes 134–260 KiB at the default level and memory level (by window
/// bits, see the crate docs), an inflater about 46 KiB.
pub fn pooled_on_this_thread() -> (usize, usize) {
    let compressors = COMPRESSORS
        .try_with(|pool| pool.try_borrow().map_or(0, |pool| pool.len()))
        .unwrap_or(0);
    let inflaters = INFLATERS
        .try_with(|pool| pool.try_borrow().map_or(0, |pool| pool.len()))
        .unwrap_or(0);
    (compressors, inflaters)
}

/// Frees the calling thread's idle zlib states, e.g. after a burst of traffic; the pools fill
/// again as messages pass.
pub fn release_pooled_on_this_thread() {
    let _ = COMPRESSORS.try_with(|pool| pool.try_borrow_mut().map(|mut pool| *pool = Vec::new()));
    let _ = INFLATERS.try_with(|pool| pool.try_borrow_mut().map(|mut pool| *pool = Vec::new()));
}
