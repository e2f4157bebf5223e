//! wintergreen-codec against the crates users would pick instead, in the same run.
//!
//! Every group measures the same work for each peer: the same payloads, the same number of
//! messages, binary messages only (so no peer validates UTF-8), the client role, default
//! limits. Times are the thread's CPU time (time preempted by other processes is left out).
//! Numbers are only meaningful as ratios between peers of the same group; on a busy
//! machine prefer the interleaved report, `cargo bench -p wintergreen-codec-bench --bench ratios`.
//!
//! - `mask/<size>`: masking a buffer in place. tungstenite's masking function is private; its
//!   code is measured as fastwebsockets' public `unmask`, which is tungstenite's
//!   `apply_mask_fast32` copied (its source says so). tungstenite's public masking path is
//!   `mask_frame`.
//! - `mask_frame/<size>`: writing one masked frame into a reused buffer (header, copy, mask):
//!   wintergreen's `encode_frame` against tungstenite's `Frame::format`.
//! - `decode/<size>`: a client reading a stream of unmasked server frames, one binary message
//!   per frame, from an in-memory stream, until every message is out; each peer keeps its own
//!   buffers across iterations, like a long-lived connection, and sizes its own reads.
//!   `wintergreen` reads the way the async driver does (`prepare_receive` with the driver's
//!   64 KiB read size, a read of at most what it returns into `receive_buffer()`'s spare
//!   capacity, then `received`): the path users get. `wintergreen-receive` is the same
//!   session handed fixed 128 KiB slices (`receive`, tungstenite's default read size),
//!   which cannot end a read where a frame ends.
//! - `encode/<size>`: a client sending binary messages, masked with fresh keys, each written
//!   out (copied) to an in-memory sink as it is sent.
//!
//! The async peers run over in-memory streams that never return `Pending`, polled with a
//! no-op waker: no runtime, no scheduling cost.

// A benchmark should stop loudly on a wrong result.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::time::Duration;

use criterion::{Criterion, Throughput};

fn benches(c: &mut Criterion) {
    for kind in common::KINDS {
        for index in 0..common::SIZES.len() {
            let mut case = common::case(kind, index);
            let mut group = c.benchmark_group(case.id());
            group
                .warm_up_time(Duration::from_millis(700))
                .measurement_time(Duration::from_millis(1800))
                .sample_size(20);
            // Messages per second for the small messages, bytes per second for the rest.
            group.throughput(if case.size <= 16 && case.msgs > 1 {
                Throughput::Elements(case.msgs as u64)
            } else {
                Throughput::Bytes((case.size * case.msgs) as u64)
            });
            for peer in &mut case.peers {
                group.bench_function(peer.name, |b| b.iter_custom(|iters| (peer.run)(iters)));
            }
            group.finish();
        }
    }
}

criterion::criterion_group!(codec, benches);
criterion::criterion_main!(codec);
