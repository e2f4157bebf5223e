//! What the receiving side of a connection holds, measured with a counting allocator: the
//! figures the crate documentation gives (decompressor state plus the copy of the peer's last
//! window that survives a BFINAL block, RFC 7692 §7.2.3.4).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests
#![allow(unsafe_code, clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use bytes::BytesMut;
use wintergreen_codec::{Extension, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// "Hello" as one fixed block with BFINAL set, then "Hello" again by reference.
const HELLO_FINAL: [u8; 7] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const HELLO_AGAIN_FINAL: [u8; 4] = [0xf3, 0x00, 0x11, 0x00];

/// Bytes a receiver with a `bits`-bit peer window holds after two BFINAL messages.
fn receiver_bytes(bits: u8) -> usize {
    let window = WindowBits::new(bits).unwrap();
    let params = DeflateParams::new(false, false, WindowBits::MAX, window);
    let mut receiver = Deflate::new(Role::Server, params, &DeflateConfig::default());
    let mut outs = Vec::new();
    let before = LIVE.load(Ordering::SeqCst);
    for payload in [&HELLO_FINAL[..], &HELLO_AGAIN_FINAL] {
        assert!(receiver.decode_start(Rsv::RSV1));
        let mut out = BytesMut::with_capacity(64);
        receiver
            .decode(payload, true, &mut out, usize::MAX)
            .unwrap();
        outs.push(out);
    }
    let after = LIVE.load(Ordering::SeqCst);
    drop(outs);
    let held = after - before - 2 * 64;
    drop(receiver);
    held as usize
}

#[test]
fn the_receiver_holds_its_state_and_one_window_of_history() {
    // Tests in this binary run one at a time (it has only this one), so the count is ours.
    let base = receiver_bytes(9);
    for bits in 9..=15u8 {
        let held = receiver_bytes(bits);
        // The history grows with the window; the zlib state does not.
        assert_eq!(held - base, (1 << bits) - 512, "bits {bits}: {held} bytes");
        assert!(held <= 80 * 1024, "bits {bits}: {held} bytes");
        println!(
            "bits {bits}: {held} bytes ({:.1} KiB)",
            held as f64 / 1024.0
        );
    }
    assert!(base < 48 * 1024, "{base} bytes");
}
