//! The two child processes of a measurement: an echo server pinned to one CPU, and a client
//! pinned to the other that measures itself and the server over the same window.

use std::io::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use tokio::task::LocalSet;

use crate::libs::{self, EchoClient, Lib};
use wintergreen_bench_e2e::{procs, sys};

/// Connections opened at once (each then echoes once) before the measured window.
const CONNECT_BATCH: usize = 50;
/// Echoes before the measured window, per connection (first-use allocations, slow start).
const WARMUP_ECHOES: usize = 3;
/// A server never outlives this, whatever happens to its parent.
const SERVER_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Descriptors a server asks for (it does not know how many clients will come).
const FD_LIMIT: u64 = 200_000;

/// `server`: listen on `listeners` loopback ports, print them, echo until stdin closes.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    #[arg(long, value_enum)]
    lib: Lib,
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Ports to listen on (each takes at most ~28,000 connections from one client address).
    #[arg(long, default_value_t = 1)]
    listeners: usize,
}

/// `client`: connect, warm up, measure; prints one `RESULT key=value ...` line.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientArgs {
    #[arg(long, value_enum)]
    lib: Lib,
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// The server's addresses, comma-separated (connections go round-robin).
    #[arg(long, value_delimiter = ',', required = true)]
    addrs: Vec<SocketAddr>,
    /// The server's process id, to read its CPU time and memory.
    #[arg(long)]
    server_pid: u32,
    #[arg(long)]
    conns: usize,
    #[arg(long)]
    size: usize,
    /// Messages to echo in the measured window (over all connections).
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Time limit of the measured window.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Messages per flush: each connection sends this many before reading their echoes.
    #[arg(long, default_value_t = 1)]
    burst: usize,
    /// Measure idle memory instead: open `conns` connections, one echo each, and hold them.
    #[arg(long)]
    idle: bool,
    /// Count no system calls (no `perf` attached: under callgrind, say).
    #[arg(long)]
    no_perf: bool,
}

pub(crate) fn server(args: &ServerArgs) -> Result<()> {
    let setup = procs::ServerSetup {
        cpu: args.cpu,
        listeners: args.listeners,
        fd_limit: FD_LIMIT,
        lifetime: SERVER_LIFETIME,
    };
    let lib = args.lib;
    // Clients leave by dropping the socket: errors end a connection.
    procs::serve(setup, move |tcp| libs::spawn_serve(lib, tcp))
}

pub(crate) fn client(args: &ClientArgs) -> Result<()> {
    sys::pin_to_cpu(args.cpu)?;
    let want = args.conns as u64 + 64;
    let limit = sys::raise_fd_limit(want)?;
    if limit < want {
        bail!(
            "{} connections need {want} file descriptors; the limit is {limit} (raising the \
             hard limit needs CAP_SYS_RESOURCE)",
            args.conns
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let result = local.block_on(&runtime, async {
        match args.lib {
            Lib::Floor => measure::<libs::FloorClient>(args).await,
            Lib::Wintergreen => measure::<libs::WintergreenClient>(args).await,
            Lib::TokioTungstenite => measure::<libs::TungsteniteClient>(args).await,
            Lib::Fastwebsockets => measure::<libs::FastwebsocketsClient>(args).await,
            Lib::TokioWebsockets => measure::<libs::TokioWebsocketsClient>(args).await,
        }
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "RESULT {result}")?;
    Ok(())
}

/// Connects `count` connections to `args.addrs`, [`CONNECT_BATCH`] at a time, each with one echo.
async fn connect_all<C: EchoClient>(
    args: &ClientArgs,
    count: usize,
    payload: &Bytes,
) -> Result<Vec<C>> {
    let addrs: Vec<SocketAddr> = args.addrs.iter().copied().cycle().take(count).collect();
    let mut conns = Vec::with_capacity(count);
    for (b, batch) in addrs.chunks(CONNECT_BATCH).enumerate() {
        let opening = batch.iter().enumerate().map(|(i, &addr)| async move {
            let n = b * CONNECT_BATCH + i;
            let mut conn = C::connect(addr, payload)
                .await
                .with_context(|| format!("connection {n} to {addr}"))?;
            conn.echo(payload, 1).await.context("first echo")?;
            anyhow::Ok(conn)
        });
        conns.extend(futures_util::future::try_join_all(opening).await?);
    }
    Ok(conns)
}

/// Idle memory: RSS of this process and of the server at the start, after one batch of
/// warm-up connections, and after `args.conns` more, each after one echo, all held.
///
/// The main figures are the growth over the `args.conns` connections after the warm-up: what
/// each further connection costs. The growth from the start (`cold`) also holds what a
/// process pays once: its program's pages read in as first used (`RssFile`), and the heap
/// that a batch of handshakes in flight at once takes and frees (the space is reused by the
/// batches after it, but stays resident).
async fn idle<C: EchoClient>(args: &ClientArgs, payload: &Bytes) -> Result<String> {
    let (me, server) = (std::process::id(), args.server_pid);
    let snapshot = || -> Result<[u64; 4]> {
        Ok([
            sys::rss_kib(me)?,
            sys::rss_kib(server)?,
            sys::status_kib(me, "RssFile")?,
            sys::status_kib(server, "RssFile")?,
        ])
    };
    let start = snapshot()?;
    let warm = connect_all::<C>(args, CONNECT_BATCH, payload).await?;
    // Let the server finish whatever follows its last echo.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let warmed = snapshot()?;
    let conns = connect_all::<C>(args, args.conns, payload).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let end = snapshot()?;
    let (n, all) = (conns.len() as f64, (conns.len() + warm.len()) as f64);
    drop((conns, warm));
    let [rss, server_rss, file, server_file] = end;
    let [rss_start, server_rss_start, file_start, server_file_start] = start;
    let [rss_warmed, server_rss_warmed, _, _] = warmed;
    let growth = |to: u64, from: u64, count: f64| to.saturating_sub(from) as f64 / count;
    Ok(format!(
        "client_kib_per_conn={} server_kib_per_conn={} client_cold_kib_per_conn={} \
         server_cold_kib_per_conn={} client_cold_file_kib_per_conn={} \
         server_cold_file_kib_per_conn={}",
        growth(rss, rss_warmed, n),
        growth(server_rss, server_rss_warmed, n),
        growth(rss, rss_start, all),
        growth(server_rss, server_rss_start, all),
        growth(file, file_start, all),
        growth(server_file, server_file_start, all),
    ))
}

async fn measure<C: EchoClient>(args: &ClientArgs) -> Result<String> {
    let payload = Bytes::from(vec![b'x'; args.size]);
    let me = std::process::id();
    let server = args.server_pid;
    if args.idle {
        return idle::<C>(args, &payload).await;
    }

    let mut conns = connect_all::<C>(args, args.conns, &payload).await?;
    for conn in &mut conns {
        for _ in 1..WARMUP_ECHOES {
            conn.echo(&payload, args.burst).await?;
        }
    }
    let burst = args.burst.max(1) as u64;
    let (cpu0, server_cpu0) = (sys::cpu_ns(me)?, sys::cpu_ns(server)?);
    let counters = if args.no_perf {
        (None, None)
    } else {
        (
            sys::SyscallCounter::start(me),
            sys::SyscallCounter::start(server),
        )
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let remaining = Rc::new(std::cell::Cell::new(args.messages));
    let mut tasks = Vec::with_capacity(conns.len());
    for mut conn in conns {
        let remaining = Rc::clone(&remaining);
        let payload = payload.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut done = 0u64;
            while remaining.get() > 0 {
                remaining.set(remaining.get().saturating_sub(burst));
                conn.echo(&payload, burst as usize).await?;
                done += burst;
                // The clock is read once every 64 echoes: a bound, not a per-message cost.
                if done.is_multiple_of(64 * burst) && Instant::now() > deadline {
                    break;
                }
            }
            // Boxed: tokio moves a task's output through each poll (`Poll<Output>`), so an
            // output holding the connection inline would charge every message a copy of
            // it, more for a library whose connection is larger (callgrind: ~440
            // instructions per message for a 1 KiB connection).
            anyhow::Ok((done, Box::new(conn)))
        }));
    }
    let mut done = 0;
    let mut held = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (n, conn) = task.await??;
        done += n;
        held.push(conn);
    }
    let wall = start.elapsed();
    let (cpu1, server_cpu1) = (sys::cpu_ns(me)?, sys::cpu_ns(server)?);
    let syscalls = counters.0.and_then(sys::SyscallCounter::finish);
    let server_syscalls = counters.1.and_then(sys::SyscallCounter::finish);
    drop(held);
    if done == 0 {
        bail!("no message was echoed");
    }
    let mut result = format!(
        "messages={done} wall_ns={} cpu_ns={} server_cpu_ns={}",
        wall.as_nanos(),
        cpu1 - cpu0,
        server_cpu1 - server_cpu0,
    );
    for (key, count) in [("syscalls", syscalls), ("server_syscalls", server_syscalls)] {
        if let Some(count) = count {
            result.push_str(&format!(" {key}={count}"));
        }
    }
    Ok(result)
}
