//! The child processes of a measurement: a server pinned to CPU 0 (an e2e echo server for
//! handshakes, a broadcast server for broadcasts), and a library-free client pinned to CPU 1
//! that loads it and measures both processes over the same window.

use std::cell::Cell;
use std::io::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::LocalSet;
use wintergreen_bench_e2e::{floor, procs, stats, sys};

use crate::e2e_libs::Lib;
use crate::libs;

/// A server never outlives this, whatever happens to its parent.
const SERVER_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Descriptors a server asks for (raised as far as the hard limit allows).
const FD_LIMIT: u64 = 200_000;
/// Broadcast connections opened at once.
const CONNECT_BATCH: usize = 100;
/// Each broadcast connection's read buffer (a 16 KiB frame takes two reads).
const READ_BUFFER: usize = 4096;
/// Loopback source addresses the clients connect from, in turn (127.77.0.1 on, a range of
/// its own: other programs on the machine may fill 127.0.0.x's ports): one address has
/// ~28,000 ephemeral ports, and a full run opens several hundred thousand connections whose
/// ports then sit in TIME_WAIT for a minute (the client closes first).
const SOURCES: u8 = 64;

thread_local! {
    /// The next connection's source address, as an offset from 127.77.0.1.
    static NEXT_SOURCE: Cell<u8> = const { Cell::new(0) };
}

/// Connects to `addr` from the next of the [`SOURCES`] loopback addresses (its port chosen
/// by `bind`), with Nagle off.
async fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let n = NEXT_SOURCE.with(|next| {
        let n = next.get();
        next.set((n + 1) % SOURCES);
        n
    });
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::from(([127, 77, 0, 1 + n], 0)))
        .with_context(|| format!("binding 127.77.0.{}", 1 + n))?;
    let tcp = socket.connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// What a server child serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Mode {
    /// A handshake server (`crate::libs::spawn_handshake`): a connection is upgraded, then
    /// ends when the client leaves.
    Handshake,
    /// The broadcast server of `crate::libs`.
    Broadcast,
}

/// `server`: listen on one loopback port, print it, serve until stdin closes.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    #[arg(long, value_enum)]
    lib: Lib,
    #[arg(long, value_enum)]
    mode: Mode,
    #[arg(long, default_value_t = 0)]
    cpu: usize,
}

/// What both clients are told about the server.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// The server's address.
    #[arg(long)]
    addrs: SocketAddr,
    /// The server's process id, to read its CPU time and memory.
    #[arg(long)]
    server_pid: u32,
}

/// `handshakes`: `workers` connections at a time, each connecting, upgrading, reading the
/// 101 and dropping the socket, then again; prints the count over the measured window.
#[derive(Debug, clap::Args)]
pub(crate) struct HandshakeArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// The measured window, in seconds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// At most this many handshakes in all (a bound on the loop, far above any rate here).
    #[arg(long, default_value_t = 2_000_000)]
    max: u64,
}

/// `broadcast`: hold `conns` upgraded connections, then for each size send one message on
/// the first and time until every connection has the server's broadcast of it.
#[derive(Debug, clap::Args)]
pub(crate) struct BroadcastArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 10_000)]
    conns: usize,
    /// Payload sizes in bytes, comma-separated, in this order.
    #[arg(long, value_delimiter = ',', default_value = "20,16384")]
    sizes: Vec<usize>,
    /// Measured broadcasts per size.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Broadcasts per size before the measured ones.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// A broadcast that has not reached every connection by then fails the run.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
}

pub(crate) fn server(args: &ServerArgs) -> Result<()> {
    if args.mode == Mode::Broadcast && !libs::has_broadcast(args.lib) {
        bail!("{} has no broadcast server here", args.lib.name());
    }
    let setup = procs::ServerSetup {
        cpu: args.cpu,
        listeners: 1,
        fd_limit: FD_LIMIT,
        lifetime: SERVER_LIFETIME,
    };
    let lib = args.lib;
    match args.mode {
        // Clients leave by dropping the socket: errors end a connection.
        Mode::Handshake => procs::serve(setup, move |tcp| libs::spawn_handshake(lib, tcp)),
        Mode::Broadcast => {
            let hub = libs::hub();
            procs::serve(setup, move |tcp| libs::spawn_broadcast(lib, tcp, &hub))
        }
    }
}

/// Pins the client, raises its descriptor limit to `fds` (failing when it cannot), and runs
/// `body` on a current-thread runtime; prints its `RESULT` line.
fn client<F>(target: &Target, fds: u64, body: F) -> Result<()>
where
    F: std::future::Future<Output = Result<String>>,
{
    sys::pin_to_cpu(target.cpu)?;
    let limit = sys::raise_fd_limit(fds)?;
    if limit < fds {
        bail!(
            "this run needs {fds} file descriptors; the limit is {limit} (raising the hard \
             limit needs CAP_SYS_RESOURCE)"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = LocalSet::new().block_on(&runtime, body)?;
    writeln!(std::io::stdout().lock(), "RESULT {result}")?;
    Ok(())
}

/// CPU time of this process and of the server, in nanoseconds.
fn cpu_pair(server: u32) -> Result<(u64, u64)> {
    Ok((sys::cpu_ns(std::process::id())?, sys::cpu_ns(server)?))
}

pub(crate) fn handshakes(args: &HandshakeArgs) -> Result<()> {
    client(&args.target, args.workers as u64 + 64, async {
        let addr = args.target.addrs;
        let host = addr.to_string();
        let done = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        let hard_deadline =
            Instant::now() + Duration::from_secs_f64(args.warmup + args.seconds + 10.0);
        let workers: Vec<_> = (0..args.workers)
            .map(|_| {
                let (done, stop, host) = (Rc::clone(&done), Rc::clone(&stop), host.clone());
                let max = args.max;
                tokio::task::spawn_local(async move {
                    while !stop.get() && done.get() < max && Instant::now() < hard_deadline {
                        let mut tcp = connect(addr).await?;
                        floor::client_upgrade(&mut tcp, &host).await?;
                        // Dropped: the server reads the end of the stream and closes.
                        drop(tcp);
                        done.set(done.get() + 1);
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
        let (n0, t0, cpu0) = (
            done.get(),
            Instant::now(),
            cpu_pair(args.target.server_pid)?,
        );
        tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
        let (n1, wall, cpu1) = (done.get(), t0.elapsed(), cpu_pair(args.target.server_pid)?);
        stop.set(true);
        for worker in workers {
            worker.await??;
        }
        if n1 == n0 {
            bail!("no handshake completed in the measured window");
        }
        Ok(format!(
            "handshakes={} wall_ns={} cpu_ns={} server_cpu_ns={}",
            n1 - n0,
            wall.as_nanos(),
            cpu1.0 - cpu0.0,
            cpu1.1 - cpu0.1,
        ))
    })
}

/// What the broadcast client's readers share: how many connections still wait for the
/// current broadcast, its payload size, and the signal that the last one has it.
struct Round {
    remaining: Cell<usize>,
    size: Cell<usize>,
    all_in: Notify,
}

/// Reads broadcasts on one connection until the server leaves; each must be one binary
/// frame of the current size.
async fn receive(read: tokio::net::tcp::OwnedReadHalf, round: Rc<Round>) -> Result<()> {
    let mut read = BufReader::with_capacity(READ_BUFFER, read);
    let mut payload = Vec::new();
    while let Some(opcode) = floor::read_frame(&mut read, &mut payload, libs::MAX_MESSAGE).await? {
        if opcode != 0x2 || payload.len() != round.size.get() {
            bail!(
                "expected a binary message of {} bytes, got opcode {opcode} of {}",
                round.size.get(),
                payload.len()
            );
        }
        let left = round.remaining.get().saturating_sub(1);
        round.remaining.set(left);
        if left == 0 {
            round.all_in.notify_one();
        }
    }
    Ok(())
}

/// Opens and upgrades `n` connections, [`CONNECT_BATCH`] at a time; a reader task per
/// connection; returns the write halves (dropping one would end its connection).
async fn connect_all(addr: SocketAddr, n: usize, round: &Rc<Round>) -> Result<Vec<OwnedWriteHalf>> {
    let host = addr.to_string();
    let mut writers = Vec::with_capacity(n);
    while writers.len() < n {
        let batch = CONNECT_BATCH.min(n - writers.len());
        let opening = (0..batch).map(|_| async {
            let mut tcp = connect(addr).await?;
            floor::client_upgrade(&mut tcp, &host).await?;
            anyhow::Ok(tcp.into_split())
        });
        let opened = futures_util::future::try_join_all(opening)
            .await
            .with_context(|| format!("after {} connections", writers.len()))?;
        for (read, write) in opened {
            drop(tokio::task::spawn_local(receive(read, Rc::clone(round))));
            writers.push(write);
        }
    }
    Ok(writers)
}

pub(crate) fn broadcast(args: &BroadcastArgs) -> Result<()> {
    client(&args.target, args.conns as u64 + 64, async {
        let server = args.target.server_pid;
        let round = Rc::new(Round {
            remaining: Cell::new(0),
            size: Cell::new(0),
            all_in: Notify::new(),
        });
        let mut writers = connect_all(args.target.addrs, args.conns, &round).await?;
        let server_rss = sys::rss_kib(server)?;
        let trigger = writers.first_mut().context("no connection")?;
        let timeout = Duration::from_secs_f64(args.timeout);
        let mut result = format!("conns={} server_rss_kib={server_rss}", args.conns);
        for &size in &args.sizes {
            round.size.set(size);
            let frame = floor::masked_frame(0x2, &vec![b'x'; size]);
            let mut times = Vec::with_capacity(args.repeats);
            let mut cpu0 = cpu_pair(server)?;
            for i in 0..args.warmup + args.repeats {
                if i == args.warmup {
                    cpu0 = cpu_pair(server)?;
                }
                round.remaining.set(args.conns);
                let start = Instant::now();
                trigger.write_all(&frame).await?;
                if tokio::time::timeout(timeout, round.all_in.notified())
                    .await
                    .is_err()
                {
                    bail!(
                        "a {size} B broadcast reached {} of {} connections in {timeout:?}",
                        args.conns - round.remaining.get(),
                        args.conns
                    );
                }
                if i >= args.warmup {
                    times.push(start.elapsed().as_nanos() as f64);
                }
            }
            let cpu1 = cpu_pair(server)?;
            let n = args.repeats.max(1) as f64;
            let median = stats::median(&mut times).context("no broadcast measured")?;
            result.push_str(&format!(
                " b{size}_ns={median} b{size}_cpu_ns={} b{size}_server_cpu_ns={}",
                (cpu1.0 - cpu0.0) as f64 / n,
                (cpu1.1 - cpu0.1) as f64 / n,
            ));
        }
        drop(writers);
        Ok(result)
    })
}
