//! permessage-deflate compress + decompress throughput and compression ratio, ours against
//! sockudo-ws's implementation (the same zlib-rs backend), in one run.
//!
//! Each benchmark sends a batch of distinct messages one way (client compresses, server
//! inflates), in order, on one long-lived pair of contexts: with context takeover, later
//! messages refer back to earlier ones, as on a real connection. Throughput is uncompressed
//! bytes through both steps.
//!
//! Before criterion's timings, a summary table is printed: the compression ratio
//! (compressed / uncompressed, over one batch from fresh contexts), which criterion has no
//! place for, and both implementations' throughput timed batch by batch in alternation, so
//! that their ratio holds even on a busy machine.
//!
//! `cargo bench -p wintergreen-deflate` runs it briefly (a few seconds per case); pass
//! `-- --measurement-time 5` for steadier numbers.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // bench
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wintergreen_codec::{Extension, OpCode, Role};
use wintergreen_deflate::{
    Deflate, DeflateConfig, DeflateParams, WindowBits, pooled_on_this_thread,
    release_pooled_on_this_thread,
};

#[path = "../tests/common/counting.rs"]
mod counting;

use counting::live;

/// A deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const SYMBOLS: &[&str] = &[
    "BTC-USD", "ETH-USD", "SOL-USD", "DOGE-USD", "ADA-USD", "XRP-USD",
];
const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey",
];

/// One JSON record: a trade tick, about 120 bytes.
fn tick(rng: &mut Rng) -> String {
    format!(
        r#"{{"e":"trade","s":"{}","t":{},"p":"{}.{:02}","q":"{}.{:04}","b":{},"a":{},"T":{},"m":{}}}"#,
        rng.pick(SYMBOLS),
        1_000_000 + rng.below(9_000_000),
        20_000 + rng.below(50_000),
        rng.below(100),
        rng.below(10),
        rng.below(10_000),
        rng.below(100_000_000),
        rng.below(100_000_000),
        1_700_000_000_000u64 + rng.below(1_000_000_000),
        rng.below(2) == 0,
    )
}

/// A larger JSON document of about `len` bytes: an API response with nested records.
fn document(rng: &mut Rng, len: usize) -> String {
    let mut out = String::from(r#"{"status":"ok","page":1,"items":["#);
    while out.len() + 200 < len {
        out.push_str(&format!(
            r#"{{"id":{},"name":"{} {}","email":"{}.{}@example.com","score":{}.{},"tags":["{}","{}"],"active":{}}},"#,
            rng.below(1_000_000),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.below(1000),
            rng.below(100),
            rng.below(10),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.below(2) == 0,
        ));
    }
    out.pop();
    out.push_str("]}");
    while out.len() < len {
        out.push(' ');
    }
    out.truncate(len);
    out
}

struct Workload {
    name: &'static str,
    messages: Vec<Vec<u8>>,
}

impl Workload {
    fn bytes(&self) -> u64 {
        self.messages.iter().map(|m| m.len() as u64).sum()
    }
}

fn workloads() -> Vec<Workload> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let json_128 = (0..512)
        .map(|_| {
            let mut tick = tick(&mut rng);
            tick.truncate(128);
            while tick.len() < 128 {
                tick.push(' ');
            }
            tick.into_bytes()
        })
        .collect();
    let kib_1 = (0..128)
        .map(|_| document(&mut rng, 1024).into_bytes())
        .collect();
    let kib_16 = (0..16)
        .map(|_| document(&mut rng, 16 * 1024).into_bytes())
        .collect();
    vec![
        Workload {
            name: "json-128B",
            messages: json_128,
        },
        Workload {
            name: "json-1KiB",
            messages: kib_1,
        },
        Workload {
            name: "json-16KiB",
            messages: kib_16,
        },
    ]
}

/// A permessage-deflate implementation under test: one direction of a connection.
trait Pair {
    /// Compresses and inflates one message; returns the compressed size.
    fn round_trip(&mut self, message: &[u8]) -> usize;

    /// Bytes the benchmark itself holds inside the pair (not deflate state).
    fn harness_bytes(&self) -> usize {
        0
    }
}

struct Ours {
    sender: Deflate,
    receiver: Deflate,
    scratch: BytesMut,
}

impl Ours {
    fn new(level: u32, no_context_takeover: bool) -> Self {
        Self::with(&Mode {
            level,
            no_context_takeover,
            ..Mode::DEFAULT
        })
    }

    fn with(mode: &Mode) -> Self {
        let mut config = DeflateConfig::default();
        config.level = mode.level;
        config.mem_level = mode.mem_level;
        config.threshold = 0;
        let bits = WindowBits::new(mode.bits).unwrap();
        let params = DeflateParams::new(
            mode.no_context_takeover,
            mode.no_context_takeover,
            bits,
            bits,
        );
        Self {
            sender: Deflate::new(Role::Client, params, &config),
            receiver: Deflate::new(Role::Server, params, &config),
            scratch: BytesMut::new(),
        }
    }
}

impl Pair for Ours {
    fn round_trip(&mut self, message: &[u8]) -> usize {
        // As the session does: a reused scratch buffer for the compressed payload, a fresh
        // buffer for each incoming message.
        self.scratch.clear();
        let rsv = self
            .sender
            .encode_start(OpCode::Binary, Some(message.len()));
        assert!(!rsv.is_empty());
        self.sender
            .encode(message, true, &mut self.scratch)
            .unwrap();
        assert!(self.receiver.decode_start(rsv));
        let mut out = BytesMut::new();
        self.receiver
            .decode(&self.scratch, true, &mut out, usize::MAX)
            .unwrap();
        assert_eq!(out.len(), message.len());
        self.scratch.len()
    }

    fn harness_bytes(&self) -> usize {
        self.scratch.capacity()
    }
}

struct Sockudo {
    sender: sockudo_ws::DeflateContext,
    receiver: sockudo_ws::DeflateContext,
}

impl Sockudo {
    fn new(level: u32, no_context_takeover: bool) -> Self {
        Self::with(&Mode {
            level,
            no_context_takeover,
            ..Mode::DEFAULT
        })
    }

    fn with(mode: &Mode) -> Self {
        let bits = match mode.bits {
            9 => sockudo_ws::DeflateWindowBits::Bits9,
            15 => sockudo_ws::DeflateWindowBits::Bits15,
            other => panic!("no sockudo-ws mode for {other} bits"),
        };
        let config = sockudo_ws::DeflateConfig {
            server_no_context_takeover: mode.no_context_takeover,
            client_no_context_takeover: mode.no_context_takeover,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            compression_level: mode.level,
            compression_threshold: 0,
        };
        Self {
            sender: sockudo_ws::DeflateContext::client(config.clone()),
            receiver: sockudo_ws::DeflateContext::server(config),
        }
    }
}

impl Pair for Sockudo {
    fn round_trip(&mut self, message: &[u8]) -> usize {
        match self.sender.compress(message).unwrap() {
            Some(compressed) => {
                let out = self.receiver.decompress(&compressed, usize::MAX).unwrap();
                assert_eq!(out.len(), message.len());
                compressed.len()
            }
            // Sent uncompressed (it declines when compressing does not pay).
            None => message.len(),
        }
    }
}

fn make(which: &str, level: u32, no_context_takeover: bool) -> Box<dyn Pair> {
    make_mode(
        which,
        &Mode {
            level,
            no_context_takeover,
            ..Mode::DEFAULT
        },
    )
}

fn make_mode(which: &str, mode: &Mode) -> Box<dyn Pair> {
    match which {
        "wintergreen" => Box::new(Ours::with(mode)),
        _ => Box::new(Sockudo::with(mode)),
    }
}

/// A way to run permessage-deflate, for the modes table.
struct Mode {
    name: &'static str,
    level: u32,
    /// Our memory level (0: chosen by level); sockudo-ws always uses zlib's 8.
    mem_level: u8,
    /// Both directions' window bits.
    bits: u8,
    no_context_takeover: bool,
}

impl Mode {
    const DEFAULT: Self = Self {
        name: "default: takeover, 15-bit windows, level 1",
        level: DeflateConfig::DEFAULT_LEVEL,
        mem_level: DeflateConfig::DEFAULT_MEM_LEVEL,
        bits: 15,
        no_context_takeover: false,
    };

    const ALL: [Self; 4] = [
        Self {
            name: "before: the default with zlib's memory level 8",
            mem_level: 8,
            ..Self::DEFAULT
        },
        Self::DEFAULT,
        Self {
            name: "low-memory: takeover, 9-bit windows",
            bits: 9,
            ..Self::DEFAULT
        },
        Self {
            name: "shared: no context takeover (pooled states)",
            no_context_takeover: true,
            ..Self::DEFAULT
        },
    ];
}

const IMPLS: [&str; 2] = ["wintergreen", "sockudo-ws"];

/// Throughput of one implementation over `rounds` batches, timed alternately with the
/// other's so that both see the same machine load: the median batch, in MiB/s.
fn interleaved(
    workload: &Workload,
    level: u32,
    no_context_takeover: bool,
    rounds: usize,
) -> [f64; 2] {
    interleaved_mode(
        workload,
        &Mode {
            level,
            no_context_takeover,
            ..Mode::DEFAULT
        },
        rounds,
    )
}

/// [`interleaved`] for any [`Mode`].
fn interleaved_mode(workload: &Workload, mode: &Mode, rounds: usize) -> [f64; 2] {
    let mut pairs: Vec<Box<dyn Pair>> = IMPLS.iter().map(|which| make_mode(which, mode)).collect();
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for offset in 0..2 {
            // Alternate which goes first.
            let i = (round + offset) % 2;
            let started = Instant::now();
            let total: usize = workload
                .messages
                .iter()
                .map(|m| pairs[i].round_trip(m))
                .sum();
            std::hint::black_box(total);
            times[i].push(started.elapsed().as_secs_f64());
        }
    }
    times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        workload.bytes() as f64 / t[t.len() / 2] / f64::from(1 << 20)
    })
}

/// The summary table: compression ratio (compressed / uncompressed over one batch from fresh
/// contexts, lower is better) and throughput measured interleaved, ours against the peer.
#[allow(clippy::print_stdout)]
fn print_summary(workloads: &[Workload], levels: &[u32]) {
    println!(
        "| messages | level | context | wintergreen MiB/s | sockudo-ws MiB/s | wintergreen / sockudo-ws | ratio wintergreen | ratio sockudo-ws |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for workload in workloads {
        for &level in levels {
            for no_context_takeover in [false, true] {
                let ratios: Vec<f64> = IMPLS
                    .iter()
                    .map(|which| {
                        let mut pair = make(which, level, no_context_takeover);
                        let compressed: usize =
                            workload.messages.iter().map(|m| pair.round_trip(m)).sum();
                        compressed as f64 / workload.bytes() as f64
                    })
                    .collect();
                let [ours, peer] = interleaved(workload, level, no_context_takeover, 101);
                println!(
                    "| {} | {level} | {} | {ours:.0} | {peer:.0} | {:.2} | {:.3} | {:.3} |",
                    workload.name,
                    context(no_context_takeover),
                    ours / peer,
                    ratios[0],
                    ratios[1],
                );
            }
        }
    }
}

/// Inflate alone: one batch compressed once (by our sender at level 1, from a fresh context),
/// then inflated by each implementation's receiver, timed batch by batch in alternation:
/// the median batch, in MiB/s of inflated bytes.
fn inflate_interleaved(workload: &Workload, no_context_takeover: bool, rounds: usize) -> [f64; 2] {
    let mut sender = Ours::new(1, no_context_takeover);
    let payloads: Vec<Vec<u8>> = workload
        .messages
        .iter()
        .map(|m| {
            sender.round_trip(m);
            sender.scratch.to_vec()
        })
        .collect();
    let mut ours = Ours::new(1, no_context_takeover).receiver;
    let mut peer = Sockudo::new(1, no_context_takeover).receiver;
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for offset in 0..2 {
            let i = (round + offset) % 2;
            let started = Instant::now();
            let mut total = 0;
            for payload in &payloads {
                total += if i == 0 {
                    assert!(ours.decode_start(wintergreen_codec::Rsv::RSV1));
                    let mut out = BytesMut::new();
                    ours.decode(payload, true, &mut out, usize::MAX).unwrap();
                    out.len()
                } else {
                    peer.decompress(payload, usize::MAX).unwrap().len()
                };
            }
            assert_eq!(total as u64, workload.bytes());
            times[i].push(started.elapsed().as_secs_f64());
        }
    }
    times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        workload.bytes() as f64 / t[t.len() / 2] / f64::from(1 << 20)
    })
}

/// A table's context column.
const fn context(no_context_takeover: bool) -> &'static str {
    if no_context_takeover {
        "no takeover"
    } else {
        "takeover"
    }
}

/// The inflate-only table (see [`inflate_interleaved`]).
#[allow(clippy::print_stdout)]
fn print_inflate_summary(workloads: &[Workload]) {
    println!();
    println!(
        "| messages | context | wintergreen inflate MiB/s | sockudo-ws inflate MiB/s | wintergreen / sockudo-ws |"
    );
    println!("|---|---|---|---|---|");
    for workload in workloads {
        for no_context_takeover in [false, true] {
            let [ours, peer] = inflate_interleaved(workload, no_context_takeover, 301);
            println!(
                "| {} | {} | {ours:.0} | {peer:.0} | {:.2} |",
                workload.name,
                context(no_context_takeover),
                ours / peer,
            );
        }
    }
    println!();
}

/// What one connection that sends and receives compressed messages holds after one batch
/// (a compressor and a decompressor, in bytes), and the batch's compression ratio.
///
/// Our pair is a sender and a receiver, each of which creates only the state it uses: one
/// compressor and one decompressor, one connection's worth. Our pooled states are freed
/// before the count: they belong to the thread, not the connection (reported apart).
/// sockudo-ws creates a compressor and a decompressor in each context up front, so its
/// pair holds two connections' worth (the directions are configured alike): half is shown.
fn held_and_ratio(which: &str, mode: &Mode, workload: &Workload) -> (isize, f64) {
    release_pooled_on_this_thread();
    let before = live();
    let mut pair = make_mode(which, mode);
    let compressed: usize = workload.messages.iter().map(|m| pair.round_trip(m)).sum();
    release_pooled_on_this_thread();
    let mut held = live() - before - pair.harness_bytes() as isize;
    if which == IMPLS[1] {
        held /= 2;
    }
    drop(pair);
    (held, compressed as f64 / workload.bytes() as f64)
}

/// The modes table: memory per connection against compression ratio and throughput, ours
/// and sockudo-ws's in the same configuration, measured in the same run.
#[allow(clippy::print_stdout)]
fn print_modes(workloads: &[Workload]) {
    println!(
        "| mode | messages | KiB per connection wintergreen | KiB sockudo-ws | ratio wintergreen | ratio sockudo-ws | wintergreen MiB/s | sockudo-ws MiB/s | wintergreen / sockudo-ws |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for mode in &Mode::ALL {
        for workload in workloads {
            let (ours_held, ours_ratio) = held_and_ratio(IMPLS[0], mode, workload);
            let (peer_held, peer_ratio) = held_and_ratio(IMPLS[1], mode, workload);
            let [ours, peer] = interleaved_mode(workload, mode, 51);
            println!(
                "| {} | {} | {:.1} | {:.1} | {ours_ratio:.3} | {peer_ratio:.3} | {ours:.0} | {peer:.0} | {:.2} |",
                mode.name,
                workload.name,
                ours_held as f64 / 1024.0,
                peer_held as f64 / 1024.0,
                ours / peer,
            );
        }
    }
    // What the shared mode's pools hold per thread, after a batch.
    let shared = &Mode::ALL[3];
    release_pooled_on_this_thread();
    let before = live();
    let mut pair = make_mode(IMPLS[0], shared);
    let _ = workloads[0]
        .messages
        .iter()
        .map(|m| pair.round_trip(m))
        .sum::<usize>();
    drop(pair);
    println!(
        "shared mode: {:?} (compressors, inflaters) pooled on this thread, {:.1} KiB",
        pooled_on_this_thread(),
        (live() - before) as f64 / 1024.0
    );
    release_pooled_on_this_thread();
    println!();
}

fn bench_round_trip(c: &mut Criterion) {
    let workloads = workloads();
    print_modes(&workloads);
    let levels = [DeflateConfig::DEFAULT_LEVEL, 6];
    print_summary(&workloads, &levels);
    print_inflate_summary(&workloads);
    for workload in &workloads {
        let mut group = c.benchmark_group(format!("round-trip/{}", workload.name));
        group.throughput(Throughput::Bytes(workload.bytes()));
        for level in levels {
            for no_context_takeover in [false, true] {
                let mode = if no_context_takeover {
                    "no-takeover"
                } else {
                    "takeover"
                };
                for which in IMPLS {
                    let mut pair = make(which, level, no_context_takeover);
                    let id = BenchmarkId::new(format!("{which}/level-{level}"), mode);
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            workload
                                .messages
                                .iter()
                                .map(|m| pair.round_trip(m))
                                .sum::<usize>()
                        });
                    });
                }
            }
        }
        group.finish();
    }
}

/// How the level trades speed for size on our side (to choose the default).
#[allow(clippy::print_stdout)]
fn bench_levels(c: &mut Criterion) {
    let workloads = workloads();
    let mut group = c.benchmark_group("levels");
    for workload in &workloads {
        group.throughput(Throughput::Bytes(workload.bytes()));
        for level in [1, 2, 3, 4, 6, 9] {
            let mut pair = Ours::new(level, false);
            let compressed: usize = workload.messages.iter().map(|m| pair.round_trip(m)).sum();
            println!(
                "level {level} {:<11} takeover ratio {:.3}",
                workload.name,
                compressed as f64 / workload.bytes() as f64
            );
            group.bench_function(
                BenchmarkId::new(workload.name, format!("level-{level}")),
                |b| {
                    b.iter(|| {
                        workload
                            .messages
                            .iter()
                            .map(|m| pair.round_trip(m))
                            .sum::<usize>()
                    });
                },
            );
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_round_trip, bench_levels
}
criterion_main!(benches);
