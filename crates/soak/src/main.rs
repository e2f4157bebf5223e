//! `wintergreen-soak`: the two halves of `cargo xtask soak`.
//!
//! - `server`: wintergreen's echo server with the facade's defaults (`wintergreen::accept`:
//!   permessage-deflate, handshake timeout, limits), one task per connection.
//! - `clients`: a mix of well-behaved and hostile connections against it, for a bounded time,
//!   plus one normal client whose echoes must keep flowing. It prints one `SOAK key=value …`
//!   line at the end that xtask judges; xtask also samples the server's memory.
//!
//! - `hold-server` and `hold-clients` (`cargo xtask soak --hold`): plain WebSockets that echo
//!   once and idle, spread over several processes (see [`hold`]).
//!
//! Every loop here ends by the deadline; nothing binds or connects beyond loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use wintergreen::Message;

mod hold;
mod raw;

#[derive(Debug, Parser)]
#[command(about = "wintergreen's soak test halves (run them through `cargo xtask soak`)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The echo server; prints `listening on ADDR` once bound.
    Server {
        /// Where to listen (loopback only).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// The client mix against a server.
    Clients {
        /// The server's address.
        #[arg(long)]
        addr: SocketAddr,
        /// Concurrent connections in the mix (the normal client comes on top).
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
        /// How long the mix runs once every connection is open, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// A hold server sharing its port with its siblings (SO_REUSEPORT); prints
    /// `listening on ADDR` once bound.
    HoldServer {
        /// Where to listen (loopback only; port 0 for the first, its port for the rest).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Hold clients from one source address: echo once on each, then idle.
    HoldClients {
        /// The servers' shared address.
        #[arg(long)]
        addr: SocketAddr,
        /// The loopback address to connect from (each reaches ~28,000 ports of `addr`).
        #[arg(long)]
        source: std::net::IpAddr,
        /// Connections to open from this process.
        #[arg(long)]
        conns: usize,
        /// How long to hold them once open, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    raise_fd_limit()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    match args.command {
        Command::Server { listen } => runtime.block_on(server(listen)),
        Command::Clients {
            addr,
            conns,
            seconds,
        } => runtime.block_on(clients(addr, conns, Duration::from_secs(seconds))),
        Command::HoldServer { listen } => runtime.block_on(hold::server(listen)),
        Command::HoldClients {
            addr,
            source,
            conns,
            seconds,
        } => runtime.block_on(hold::clients(
            addr,
            source,
            conns,
            Duration::from_secs(seconds),
        )),
    }
}

/// 10,000 sockets need more than the usual soft limit of 1,024 descriptors.
fn raise_fd_limit() -> Result<()> {
    let (_, hard) = rlimit::Resource::NOFILE
        .get()
        .context("reading RLIMIT_NOFILE")?;
    rlimit::Resource::NOFILE
        .set(hard, hard)
        .context("raising RLIMIT_NOFILE to its hard limit")?;
    Ok(())
}

async fn server(listen: SocketAddr) -> Result<()> {
    if !listen.ip().is_loopback() {
        bail!("the soak server listens on loopback only (got {listen})");
    }
    // The library's one-port server: each connection's handshake in a task of its own,
    // bounded by the handshake timeout and max_handshakes; accept errors (out of
    // descriptors) are reported and backed off from there.
    let mut listener = wintergreen::ServerBuilder::new().listen(listen).await?;
    println!("listening on {}", listener.local_addr());
    while let Some(next) = listener.accept().await {
        let Ok(accepted) = next else {
            continue;
        };
        let mut ws = accepted.websocket;
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if matches!(message, Message::Text(_) | Message::Binary(_))
                    && ws.send(message).await.is_err()
                {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// What each kind of connection does; `share` is its part of the mix, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Opens a WebSocket and holds it.
    Idle,
    /// Sends a small message every half second and reads the echoes.
    Chatty,
    /// Floods 125-byte pings and never reads (RFC 6455 §5.5.2: each asks for a pong).
    PingFlood,
    /// Sends 16 KiB messages and never reads their echoes.
    NonReading,
    /// Sends its HTTP request one byte a second and never finishes it.
    Slowloris,
}

const MIX: [(Kind, usize); 5] = [
    (Kind::Idle, 70),
    (Kind::Chatty, 10),
    (Kind::PingFlood, 4),
    (Kind::NonReading, 4),
    (Kind::Slowloris, 12),
];

#[derive(Debug, Default)]
struct Counters {
    opened: AtomicU64,
    failed_to_open: AtomicU64,
    chatty_echoes: AtomicU64,
    flood_bytes: AtomicU64,
    nonreading_bytes: AtomicU64,
    slowloris_cut: AtomicU64,
}

async fn clients(addr: SocketAddr, conns: usize, run_for: Duration) -> Result<()> {
    if !addr.ip().is_loopback() {
        bail!("the soak clients connect to loopback only (got {addr})");
    }
    let counters = Arc::new(Counters::default());
    // Open at most 200 connections at a time: the ramp is part of the test, not a SYN flood.
    let ramp = Arc::new(Semaphore::new(200));
    let started = Instant::now();
    // Generous room for the ramp; the mix then runs for `run_for`.
    let deadline = started + Duration::from_secs(120) + run_for;
    let mut tasks = Vec::with_capacity(conns);
    let mut kinds = MIX
        .iter()
        .flat_map(|&(kind, share)| std::iter::repeat_n(kind, conns * share / 100));
    for _ in 0..conns {
        let kind = kinds.next().unwrap_or(Kind::Idle);
        let counters = Arc::clone(&counters);
        let ramp = Arc::clone(&ramp);
        tasks.push(tokio::spawn(async move {
            let permit = ramp.acquire_owned().await;
            let result = connection(kind, addr, &counters, permit, deadline).await;
            if result.is_err() {
                counters.failed_to_open.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Wait until every connection is open (or failed), bounded by the ramp allowance.
    while counters.opened.load(Ordering::Relaxed) + counters.failed_to_open.load(Ordering::Relaxed)
        < conns as u64
        && Instant::now() < started + Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ramped = started.elapsed();
    println!(
        "ramp: {} open, {} failed in {:.1}s",
        counters.opened.load(Ordering::Relaxed),
        counters.failed_to_open.load(Ordering::Relaxed),
        ramped.as_secs_f64()
    );
    println!("READY");

    // The normal client, measured while the mix runs.
    let normal = normal_client(addr, run_for).await?;
    for task in tasks {
        task.abort();
    }
    println!(
        "SOAK conns={conns} opened={} failed={} ramp_s={:.1} normal_echoes={} normal_expected={} \
         normal_max_gap_ms={} normal_p99_ms={:.2} chatty_echoes={} flood_bytes={} \
         nonreading_bytes={} slowloris_cut={}",
        counters.opened.load(Ordering::Relaxed),
        counters.failed_to_open.load(Ordering::Relaxed),
        ramped.as_secs_f64(),
        normal.echoes,
        normal.expected,
        normal.max_gap.as_millis(),
        normal.p99_ms,
        counters.chatty_echoes.load(Ordering::Relaxed),
        counters.flood_bytes.load(Ordering::Relaxed),
        counters.nonreading_bytes.load(Ordering::Relaxed),
        counters.slowloris_cut.load(Ordering::Relaxed),
    );
    Ok(())
}

async fn connection(
    kind: Kind,
    addr: SocketAddr,
    counters: &Counters,
    permit: std::result::Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError>,
    deadline: Instant,
) -> Result<()> {
    let url = format!("ws://{addr}/");
    let until = tokio::time::Instant::from_std(deadline);
    match kind {
        Kind::Idle | Kind::Chatty => {
            let (mut ws, _) = wintergreen::connect(url.as_str()).await?;
            counters.opened.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            if kind == Kind::Idle {
                tokio::time::sleep_until(until).await;
                return Ok(());
            }
            while tokio::time::Instant::now() < until {
                ws.send(Message::text("chatty soak message")).await?;
                if matches!(ws.next().await, Some(Ok(_))) {
                    counters.chatty_echoes.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(())
        }
        Kind::PingFlood | Kind::NonReading => {
            let mut tcp = raw::upgraded(addr).await?;
            counters.opened.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            let (batch, sent) = if kind == Kind::PingFlood {
                (raw::ping_batch(64), &counters.flood_bytes)
            } else {
                (raw::binary_frame(16 << 10), &counters.nonreading_bytes)
            };
            // Writes block once the server stops reading: that is the backpressure under test.
            while tokio::time::Instant::now() < until {
                match tokio::time::timeout_at(until, tcp.write_all(&batch)).await {
                    Ok(Ok(())) => {
                        sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                    Ok(Err(_)) | Err(_) => break,
                }
                // Pace the flood a little so that 400 flooders do not starve the machine.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(())
        }
        Kind::Slowloris => {
            let mut tcp = TcpStream::connect(addr).await?;
            counters.opened.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            tcp.write_all(b"GET / HTTP/1.1\r\nHost: soak\r\n").await?;
            let mut sink = [0u8; 512];
            while tokio::time::Instant::now() < until {
                // One more header byte a second; a cut connection shows as EOF or an error.
                if tcp.write_all(b"X").await.is_err() {
                    counters.slowloris_cut.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                if let Ok(read) =
                    tokio::time::timeout(Duration::from_secs(1), tcp.read(&mut sink)).await
                {
                    if matches!(read, Ok(0) | Err(_)) {
                        counters.slowloris_cut.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                }
            }
            Ok(())
        }
    }
}

#[derive(Debug)]
struct Normal {
    echoes: u64,
    expected: u64,
    max_gap: Duration,
    p99_ms: f64,
}

/// One well-behaved client: an echo every 100 ms for `run_for`, each bounded by 5 s.
async fn normal_client(addr: SocketAddr, run_for: Duration) -> Result<Normal> {
    let url = format!("ws://{addr}/");
    let (mut ws, _) = wintergreen::connect(url.as_str()).await?;
    let period = Duration::from_millis(100);
    let end = Instant::now() + run_for;
    let mut latencies = Vec::new();
    let mut last_echo = Instant::now();
    let mut max_gap = Duration::ZERO;
    let mut expected = 0;
    while Instant::now() < end {
        expected += 1;
        let sent = Instant::now();
        ws.send(Message::text("normal")).await?;
        let reply = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        if let Ok(Some(Ok(_))) = reply {
            let now = Instant::now();
            latencies.push(now - sent);
            max_gap = max_gap.max(now - last_echo);
            last_echo = now;
        }
        tokio::time::sleep(period.saturating_sub(sent.elapsed())).await;
    }
    latencies.sort();
    let p99 = latencies
        .get(latencies.len().saturating_mul(99) / 100)
        .or(latencies.last())
        .copied()
        .unwrap_or(Duration::MAX);
    Ok(Normal {
        echoes: latencies.len() as u64,
        expected,
        max_gap,
        p99_ms: p99.as_secs_f64() * 1e3,
    })
}
