//! `wintergreen bench URL`: N connections, each in a closed loop (send a message, wait
//! for its echo), for a duration; then a table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wintergreen::codec::Stats;

use crate::cli::BenchArgs;
use crate::net::{self, CloseCode, Message};
use crate::stats::ratio;

/// Round trips are recorded in microseconds, up to this (60 s).
const MAX_LATENCY_US: u64 = 60_000_000;
/// The longest run allowed.
const MAX_DURATION_S: f64 = 24.0 * 3600.0;
/// After the run, how long connections get to close.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// What one connection measured.
struct ConnResult {
    histogram: Histogram<u64>,
    /// The connection's counters at its end (zero if it never opened).
    stats: Stats,
    error: Option<String>,
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let url = args
        .connect
        .url
        .clone()
        .ok_or_else(|| anyhow!("a URL is needed (see --help)"))?;
    if args.conns == 0 || args.conns > 100_000 {
        bail!("--conns must be between 1 and 100000");
    }
    if !(args.duration > 0.0 && args.duration <= MAX_DURATION_S) {
        bail!("--duration must be a positive number of seconds (at most a day)");
    }
    if args.connect.insecure {
        eprintln!("wintergreen: WARNING: --insecure: server certificates are NOT checked");
    }
    let mut options = net::client_options(&args.connect)?;
    if args.shared && args.connect.http2.is_none() {
        options.connect.http2 = net::Http2Mode::Require;
    }
    let options = Arc::new(options);
    let duration = Duration::from_secs_f64(args.duration);

    // One connection first: a bad URL or a refusal fails fast with its reason.
    let failed = |err: net::ConnectError| anyhow!("{url}: {}", net::connect_reason(&err));
    let opener = net::Opener::new(&url, &options, args.shared)
        .await
        .map_err(failed)?;
    let (first, negotiated) = opener.open(&url, &options).await.map_err(failed)?;
    let payload = bytes::Bytes::from(pseudo_random(args.size));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));

    let progress = ProgressBar::with_draw_target(
        Some(duration.as_millis().try_into().unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed}/{duration} {msg}")
    {
        progress.set_style(style.progress_chars("=> "));
    }

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.conns);
    let mut first = Some(first);
    for _ in 0..args.conns {
        let url = url.clone();
        let options = Arc::clone(&options);
        let payload = payload.clone();
        let stop = Arc::clone(&stop);
        let done = Arc::clone(&done);
        let ready = first.take();
        let opener = opener.clone();
        tasks.push(tokio::spawn(async move {
            let ws = match ready {
                Some(ws) => ws,
                None => match opener.open(&url, &options).await {
                    Ok((ws, _)) => ws,
                    Err(err) => {
                        return ConnResult {
                            histogram: new_histogram(),
                            stats: Stats::default(),
                            error: Some(net::connect_reason(&err)),
                        };
                    }
                },
            };
            round_trips(ws, payload, &stop, &done).await
        }));
    }

    // The clock and the bar; stop the loops at the end.
    let deadline = started + duration;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    while Instant::now() < deadline {
        let elapsed = started.elapsed();
        progress.set_position(elapsed.as_millis().try_into().unwrap_or(u64::MAX));
        let n = done.load(Ordering::Relaxed);
        progress.set_message(format!(
            "{n} round trips, {:.0}/s",
            n as f64 / elapsed.as_secs_f64().max(1e-3)
        ));
        let tick =
            Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now()));
        tokio::select! {
            // Ctrl-C ends the run early; the table covers what was measured.
            Ok(()) = &mut interrupted => break,
            () = tokio::time::sleep(tick) => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let measured = started.elapsed();
    progress.finish_and_clear();

    let mut histogram = new_histogram();
    let mut stats = Stats::default();
    let mut errors = Vec::new();
    for task in tasks {
        match tokio::time::timeout(CLOSE_WAIT + Duration::from_secs(60), task).await {
            Ok(Ok(result)) => {
                let _ = histogram.add(&result.histogram);
                stats.merge(&result.stats);
                errors.extend(result.error);
            }
            Ok(Err(err)) => errors.push(format!("task failed: {err}")),
            Err(_) => errors.push("a connection did not finish in time".to_owned()),
        }
    }

    let round_trips = histogram.len();
    let secs = measured.as_secs_f64();
    let rate = round_trips as f64 / secs;
    let mbps = rate * args.size as f64 / 1e6;
    let us = |q: f64| histogram.value_at_quantile(q);
    println!(
        "wintergreen bench {url}: {} {} over {:?}, {}-byte binary messages, {:.1} s",
        args.conns,
        if args.shared {
            "WebSockets sharing one connection"
        } else {
            "connections"
        },
        negotiated.version,
        args.size,
        secs
    );
    println!(
        "  extension: {}, subprotocol: {}",
        negotiated.extension.as_deref().unwrap_or("none"),
        negotiated.protocol.as_deref().unwrap_or("none")
    );
    println!("  {:<14} {:>14}", "metric", "value");
    println!("  {:<14} {:>14}", "round trips", round_trips);
    println!("  {:<14} {:>14.0}", "messages/s", rate);
    println!("  {:<14} {:>14.2}", "MB/s", mbps);
    println!("  {:<14} {:>11} µs", "latency p50", us(0.50));
    println!("  {:<14} {:>11} µs", "latency p99", us(0.99));
    println!("  {:<14} {:>11} µs", "latency p99.9", us(0.999));
    println!("  {:<14} {:>11} µs", "latency max", histogram.max());
    println!("  {:<14} {:>14}", "errors", errors.len());
    let mb = |bytes: u64| bytes as f64 / 1e6;
    println!(
        "  {:<14} {:>11.2} MB",
        "payload out",
        mb(stats.payload_bytes_out)
    );
    println!("  {:<14} {:>11.2} MB", "wire out", mb(stats.wire_bytes_out));
    println!(
        "  {:<14} {:>11.2} MB",
        "payload in",
        mb(stats.payload_bytes_in)
    );
    println!("  {:<14} {:>11.2} MB", "wire in", mb(stats.wire_bytes_in));
    println!(
        "  {:<14} {:>14}",
        "deflate out",
        ratio(&stats.compression_out)
    );
    println!(
        "  {:<14} {:>14}",
        "deflate in",
        ratio(&stats.compression_in)
    );
    println!("  notes: messages/s = echoed round trips (one in flight per connection);");
    println!("         MB/s = echoed payload, each way. From the connections' statistics,");
    println!("         summed: payload = message bytes (uncompressed), wire = frames as");
    println!("         written and read; deflate = compressed/original size of the messages");
    println!("         that were compressed (n/a: none was). Every message carries the same");
    println!("         bytes, so with context takeover deflate finds each in the one before:");
    println!("         far smaller than real traffic compresses.");
    for error in errors.iter().take(5) {
        println!("  error: {error}");
    }
    if round_trips == 0 {
        bail!("no round trip completed");
    }
    Ok(())
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant figures: valid bounds, so this cannot fail.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// One connection's closed loop: send, wait for the echo, record; until `stop`.
async fn round_trips(
    mut ws: Box<dyn net::Connection>,
    payload: bytes::Bytes,
    stop: &AtomicBool,
    done: &AtomicU64,
) -> ConnResult {
    let mut histogram = new_histogram();
    let mut error = None;
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        if let Err(err) = ws.send(Message::Binary(payload.clone())).await {
            error = Some(format!("send: {err}"));
            break;
        }
        let echoed = loop {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => break Ok(data.len() == payload.len()),
                Some(Ok(Message::Text(_))) => break Ok(false),
                Some(Ok(Message::Close(_))) => break Err("the server closed".to_owned()),
                Some(Ok(_)) => {}
                Some(Err(err)) => break Err(err.to_string()),
                None => break Err("the connection ended".to_owned()),
            }
        };
        match echoed {
            Ok(true) => {
                let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(MAX_LATENCY_US);
                let _ = histogram.record(us.clamp(1, MAX_LATENCY_US));
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {
                error = Some("the echo differs from the message sent".to_owned());
                break;
            }
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    let closing = async {
        ws.send(Message::close(CloseCode::NORMAL, "")).await?;
        while let Some(received) = ws.next().await {
            received?;
        }
        Ok::<(), net::StreamError>(())
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, closing).await;
    ConnResult {
        histogram,
        stats: ws.stats(),
        error,
    }
}

/// `len` bytes of a fixed xorshift sequence: incompressible, so deflate does real work.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
