//! The two child processes of a measurement: wintergreen's echo server (HTTP/1.1 or h2c)
//! pinned to one CPU, and wintergreen's client pinned to the other, which opens the
//! WebSockets, measures itself and the server, and prints one `RESULT` line.

use std::cell::Cell;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use futures_util::future::try_join_all;
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::net::TcpStream;
use wintergreen::{ClientOptions, Http2Mode, Message, ServerOptions};
use wintergreen_bench_e2e::{procs, sys};

/// Echoes per WebSocket after the first and before the measured window (first-use
/// allocations, TCP slow start, window growth).
const WARMUP_ECHOES: usize = 2;
/// A server never outlives this, whatever happens to its parent.
const SERVER_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Streams the h2 server lets one client open at once, and accepted WebSockets it queues:
/// above the 1,000 the benchmark opens at once (the defaults are 256).
const MAX_STREAMS: u32 = 4096;
/// Time the server gets to finish what follows the last echo before memory is read.
const SETTLE: Duration = Duration::from_millis(200);

/// Which HTTP version carries the WebSockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Proto {
    /// RFC 6455: one TCP connection per WebSocket.
    H1,
    /// RFC 8441 with prior knowledge (h2c): every WebSocket a stream of one connection.
    H2,
}

impl Proto {
    pub(crate) const BOTH: [Proto; 2] = [Proto::H1, Proto::H2];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Proto::H1 => "h1",
            Proto::H2 => "h2",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Proto::H1 => "HTTP/1.1",
            Proto::H2 => "HTTP/2",
        }
    }
}

/// `server`: listen on one loopback port, print it, echo until stdin closes.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    #[arg(long, value_enum)]
    proto: Proto,
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    #[command(flatten)]
    settings: Settings,
}

/// HTTP/2 settings both sides announce instead of the crate's defaults (to compare them).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Settings {
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: each stream's receive window.
    #[arg(long)]
    pub(crate) stream_window: Option<u32>,
    /// The connection's receive window.
    #[arg(long)]
    pub(crate) conn_window: Option<u32>,
    /// `SETTINGS_MAX_FRAME_SIZE`.
    #[arg(long)]
    pub(crate) max_frame: Option<u32>,
}

impl Settings {
    /// These settings as command-line arguments.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, value) in [
            ("--stream-window", self.stream_window),
            ("--conn-window", self.conn_window),
            ("--max-frame", self.max_frame),
        ] {
            if let Some(value) = value {
                args.extend([flag.to_owned(), value.to_string()]);
            }
        }
        args
    }

    /// What the report says about them.
    pub(crate) fn describe(&self) -> String {
        let args = self.to_args();
        if args.is_empty() {
            "the crate's defaults".to_owned()
        } else {
            args.join(" ")
        }
    }
}

/// `client`: open, echo once, warm up, measure; prints one `RESULT key=value ...` line.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientArgs {
    #[arg(long, value_enum)]
    proto: Proto,
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    #[arg(long)]
    addr: SocketAddr,
    /// The server's process id, to read its CPU time and memory.
    #[arg(long)]
    server_pid: u32,
    /// WebSockets to open (over HTTP/2 all on one connection).
    #[arg(long)]
    sockets: usize,
    /// Payload bytes per message.
    #[arg(long)]
    size: usize,
    /// Messages to echo in the measured window (over all WebSockets).
    #[arg(long)]
    messages: u64,
    /// Time limit of the measured window.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[command(flatten)]
    settings: Settings,
}

fn current_thread() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn http2_settings(knobs: &Settings) -> wintergreen::http2::Http2Config {
    let mut settings = wintergreen::http2::Http2Config::default();
    settings.max_concurrent_streams = MAX_STREAMS;
    settings.accept_backlog = MAX_STREAMS as usize;
    if let Some(window) = knobs.stream_window {
        settings.initial_stream_window_size = window;
    }
    if let Some(window) = knobs.conn_window {
        settings.initial_connection_window_size = window;
    }
    if let Some(size) = knobs.max_frame {
        settings.max_frame_size = size;
    }
    settings
}

pub(crate) fn server(args: &ServerArgs) -> Result<()> {
    let mut options = ServerOptions::default();
    // Plain frames: permessage-deflate stays off even when workspace features turn it on.
    options.handshake.policy = options.handshake.policy.no_extensions();
    options.accept.http2_settings = http2_settings(&args.settings);
    let proto = args.proto;
    let setup = procs::ServerSetup {
        cpu: args.cpu,
        listeners: 1,
        fd_limit: 20_000,
        lifetime: SERVER_LIFETIME,
    };
    procs::serve(setup, move |tcp| {
        let options = options.clone();
        // Clients leave by dropping their sockets: errors end a connection.
        tokio::task::spawn_local(async move {
            let _ = serve(proto, tcp, options).await;
        });
    })
}

/// Serves one TCP connection: one WebSocket over HTTP/1.1, or every WebSocket the client
/// opens on it over HTTP/2 (a task each).
async fn serve(proto: Proto, tcp: TcpStream, options: ServerOptions) -> Result<()> {
    tcp.set_nodelay(true)?;
    match proto {
        Proto::H1 => {
            let (ws, _request) = wintergreen::accept_with(tcp, &options).await?;
            echo_all(ws).await
        }
        Proto::H2 => {
            let mut acceptor = wintergreen::tokio::http2::accept(tcp, &options).await?;
            while let Some(accepted) = acceptor.accept().await {
                let (ws, _request) = accepted?;
                tokio::spawn(async move {
                    let _ = echo_all(ws).await;
                });
            }
            Ok(())
        }
    }
}

/// The server's echo loop: every data message goes back as it came.
async fn echo_all<S, E>(mut ws: S) -> Result<()>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message, Error = E> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    while let Some(message) = ws.next().await {
        match message? {
            m @ (Message::Binary(_) | Message::Text(_)) => ws.send(m).await?,
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// Sends one message and waits for its echo.
async fn echo_once<S, E>(ws: &mut S, payload: &Bytes) -> Result<()>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message, Error = E> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    ws.send(Message::binary(payload.clone())).await?;
    match ws.next().await {
        Some(Ok(Message::Binary(_))) => Ok(()),
        other => bail!("expected the echo, got {other:?}"),
    }
}

pub(crate) fn client(args: &ClientArgs) -> Result<()> {
    sys::pin_to_cpu(args.cpu)?;
    let want = args.sockets as u64 + 64;
    let limit = sys::raise_fd_limit(want)?;
    if limit < want {
        bail!(
            "{} WebSockets need {want} descriptors; the limit is {limit}",
            args.sockets
        );
    }
    let url = format!("ws://{}/", args.addr);
    let mut options = ClientOptions::default();
    options.handshake.extensions.clear();
    options.connect.http2_settings = http2_settings(&args.settings);
    let result = current_thread()?.block_on(async {
        let rss = (
            sys::rss_kib(std::process::id())?,
            sys::rss_kib(args.server_pid)?,
        );
        let start = Instant::now();
        match args.proto {
            Proto::H1 => {
                let opening = (0..args.sockets).map(|_| async {
                    let (ws, _) = wintergreen::connect_with(url.as_str(), &options).await?;
                    anyhow::Ok(ws)
                });
                let sockets = try_join_all(opening).await?;
                measure(args, sockets, start, rss).await
            }
            Proto::H2 => {
                options.connect.http2 = Http2Mode::Require;
                let connection = wintergreen::tokio::http2::connect(url.as_str(), &options).await?;
                let opening = (0..args.sockets).map(|_| async {
                    let (ws, _) =
                        wintergreen::tokio::http2::websocket(&connection, url.as_str(), &options)
                            .await?;
                    anyhow::Ok(ws)
                });
                let sockets = try_join_all(opening).await?;
                let result = measure(args, sockets, start, rss).await;
                drop(connection);
                result
            }
        }
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "RESULT {result}")?;
    Ok(())
}

/// From open WebSockets (opened since `start`, with the client's and the server's RSS in
/// KiB before `rss`): one echo on each at once, idle memory, warm-up, then the measured
/// window with every WebSocket echoing one message at a time.
async fn measure<S, E>(
    args: &ClientArgs,
    mut sockets: Vec<S>,
    start: Instant,
    rss: (u64, u64),
) -> Result<String>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message, Error = E> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let open = start.elapsed();
    let (me, server) = (std::process::id(), args.server_pid);
    let payload = Bytes::from(vec![b'x'; args.size]);
    let first = Instant::now();
    try_join_all(sockets.iter_mut().map(|ws| echo_once(ws, &payload)))
        .await
        .context("first echo")?;
    let first = first.elapsed();
    tokio::time::sleep(SETTLE).await;
    let n = sockets.len() as f64;
    let client_kib = sys::rss_kib(me)?.saturating_sub(rss.0) as f64 / n;
    let server_kib = sys::rss_kib(server)?.saturating_sub(rss.1) as f64 / n;
    for _ in 0..WARMUP_ECHOES {
        try_join_all(sockets.iter_mut().map(|ws| echo_once(ws, &payload))).await?;
    }

    let (cpu0, server_cpu0) = (sys::cpu_ns(me)?, sys::cpu_ns(server)?);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let remaining = Cell::new(args.messages);
    let counts = try_join_all(sockets.iter_mut().map(|ws| {
        let (remaining, payload) = (&remaining, &payload);
        async move {
            let mut done = 0u64;
            while remaining.get() > 0 {
                remaining.set(remaining.get() - 1);
                echo_once(ws, payload).await?;
                done += 1;
                // The clock is read once every 64 echoes: a bound, not a per-message cost.
                if done.is_multiple_of(64) && Instant::now() > deadline {
                    break;
                }
            }
            anyhow::Ok(done)
        }
    }))
    .await?;
    let wall = start.elapsed();
    let (cpu1, server_cpu1) = (sys::cpu_ns(me)?, sys::cpu_ns(server)?);
    let done: u64 = counts.iter().sum();
    if done == 0 {
        bail!("no message was echoed");
    }
    Ok(format!(
        "open_ns={} first_echo_ns={} client_kib_per_ws={client_kib} server_kib_per_ws={server_kib} \
         messages={done} wall_ns={} cpu_ns={} server_cpu_ns={}",
        open.as_nanos(),
        first.as_nanos(),
        wall.as_nanos(),
        cpu1 - cpu0,
        server_cpu1 - server_cpu0,
    ))
}
