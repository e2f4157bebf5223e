#![allow(clippy::print_stdout, clippy::print_stderr)]
//! The Autobahn|Testsuite echo server: Autobahn's fuzzing client connects once per case;
//! every text and binary message is echoed, pings and closes are left to the library.
//!
//! ```text
//! autobahn_server --listen 127.0.0.1:9002
//! autobahn_server --listen 127.0.0.1:9005 --http2
//! autobahn_server --listen 127.0.0.1:9006 --runtime smol
//! ```
//! `--runtime tokio|smol|async-std` (default tokio; smol and async-std need the
//! `runtime-smol`/`runtime-async-std` features) picks the runtime: the server is written
//! once against the runtime seam (`Runtime`: listening, spawning, timeouts) and
//! [`ServerBuilder`](wintergreen::ServerBuilder)'s accept calls.
//! With `--http2` (and the `http2` feature) it serves WebSockets over HTTP/2 only (h2c with
//! prior knowledge, extended CONNECT, RFC 8441): the fuzzingclient reaches it through the
//! reverse bridge (`autobahn_h2_bridge --reverse`, crates/http2/examples), which turns each
//! HTTP/1.1 upgrade into an extended CONNECT and then only copies bytes, so Autobahn judges
//! this server's frames.
//! Built on the public API only; `cargo xtask autobahn` runs it against
//! `wstest -m fuzzingclient`. It runs until killed (it installs no signal handlers, so
//! SIGINT, SIGTERM and SIGKILL all end it at once).
//!
//! Per-connection work is bounded: at most [`MAX_CONNECTIONS`] connections at a time (more
//! wait in the listen backlog), the opening handshake by `ServerOptions`' handshake timeout,
//! every read and every echo by [`IDLE_TIMEOUT`], a connection's whole life by
//! [`MAX_CONNECTION_TIME`], errors on one connection by [`MAX_ERRORS`], and frames and
//! messages by the library's default limits (16 MiB frames, 64 MiB messages: section 9's
//! 16 MiB messages fit).

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use wintergreen::stream::{Runtime, TcpStream, timeout_at};
use wintergreen::{Message, ServerBuilder, WebSocketStream};

/// Connections served at once (Autobahn runs its cases one after another).
const MAX_CONNECTIONS: usize = 16;
/// How long one read or one echo may wait on the peer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Errors after which a connection is dropped instead of read on (a safety net: after an
/// error the library closes the connection, and the stream ends soon).
const MAX_ERRORS: u32 = 16;
/// How long one connection may live in all.
const MAX_CONNECTION_TIME: Duration = Duration::from_secs(10 * 60);

struct Args {
    listen: SocketAddr,
    /// Serve HTTP/2 (h2c) instead of HTTP/1.1.
    http2: bool,
    runtime: String,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 9002));
    let mut http2 = false;
    let mut runtime = "tokio".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let addr = value()?;
                listen = addr
                    .parse()
                    .map_err(|e| format!("--listen {addr}: {e} (want IP:PORT)"))?;
            }
            "--http2" => http2 = true,
            "--runtime" => runtime = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        listen,
        http2,
        runtime,
    })
}

/// What a connection's tasks share: the runtime and the accepting options.
struct Server {
    runtime: Arc<dyn Runtime>,
    builder: ServerBuilder,
}

impl Server {
    /// `future`, or `None` once `limit` has passed on the runtime's clock.
    fn within<F: Future>(
        &self,
        limit: Duration,
        future: F,
    ) -> impl Future<Output = Option<F::Output>> {
        timeout_at(&*self.runtime, self.runtime.now() + limit, future)
    }
}

/// Serves one TCP connection: one WebSocket over HTTP/1.1, or (`http2`) every WebSocket
/// the client opens on an HTTP/2 connection, each echoed by [`echo`].
async fn serve(server: Arc<Server>, tcp: TcpStream, peer: SocketAddr, http2: bool) {
    if http2 {
        serve_http2(server, tcp, peer).await;
        return;
    }
    match server.builder.accept(tcp).await {
        Ok((ws, request)) => {
            println!("{peer}: accepted {}", request.uri());
            echo(&server, ws, peer).await;
        }
        Err(err) => println!("{peer}: handshake failed: {err}"),
    }
}

/// HTTP/2: every extended CONNECT on the connection is a WebSocket, echoed on a task of
/// its own (the connection's streams run at once), until the connection ends.
#[cfg(feature = "http2")]
async fn serve_http2(server: Arc<Server>, tcp: TcpStream, peer: SocketAddr) {
    let mut acceptor = match server.builder.accept_http2(tcp).await {
        Ok(acceptor) => acceptor,
        Err(err) => {
            println!("{peer}: HTTP/2 handshake failed: {err}");
            return;
        }
    };
    while let Some(accepted) = acceptor.accept().await {
        match accepted {
            Ok((ws, request)) => {
                println!("{peer}: accepted {} over HTTP/2", request.uri());
                let task = Arc::clone(&server);
                server.runtime.spawn(Box::pin(async move {
                    if task
                        .within(MAX_CONNECTION_TIME, echo(&task, ws, peer))
                        .await
                        .is_none()
                    {
                        println!("{peer}: open for {MAX_CONNECTION_TIME:?}, dropping the stream");
                    }
                }));
            }
            Err(err) => println!("{peer}: HTTP/2: {err}"),
        }
    }
}

#[cfg(not(feature = "http2"))]
async fn serve_http2(_server: Arc<Server>, _tcp: TcpStream, peer: SocketAddr) {
    println!("{peer}: --http2 needs the http2 feature");
}

/// Echoes data messages until the connection ends. Errors (protocol violations the library
/// has already answered with a close frame, a failed echo) do not end the loop: reading on
/// lets the library finish the close handshake, and the stream ends (`None`) once the
/// transport is closed.
async fn echo<IO>(server: &Server, mut ws: WebSocketStream<IO>, peer: SocketAddr)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut errors = 0;
    loop {
        let message = match server.within(IDLE_TIMEOUT, ws.next()).await {
            Some(Some(Ok(message))) => message,
            Some(Some(Err(err))) => {
                println!("{peer}: {err}");
                errors += 1;
                if errors > MAX_ERRORS {
                    println!("{peer}: {errors} errors, dropping the connection");
                    return;
                }
                continue;
            }
            Some(None) => break,
            None => {
                println!("{peer}: idle for {IDLE_TIMEOUT:?}, dropping the connection");
                return;
            }
        };
        if let Message::Text(_) | Message::Binary(_) = message {
            match server.within(IDLE_TIMEOUT, ws.send(message)).await {
                Some(Ok(())) => {}
                Some(Err(err)) => {
                    println!("{peer}: echo failed: {err}");
                    errors += 1;
                }
                None => {
                    println!("{peer}: echo stalled for {IDLE_TIMEOUT:?}, dropping the connection");
                    return;
                }
            }
        }
    }
    println!("{peer}: closed");
}

/// Accepts connections until the process is killed.
async fn run(runtime: Arc<dyn Runtime>, args: &Args) -> ExitCode {
    let listener = match runtime.tcp_listen(args.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("autobahn_server: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // Section 9 sends messages up to 16 MiB: the defaults (16 MiB frames, 64 MiB
    // messages) already allow them.
    let server = Arc::new(Server {
        builder: ServerBuilder::new()
            .runtime(Arc::clone(&runtime))
            .options(wintergreen::server_options()),
        runtime,
    });
    // tokio's semaphore needs no tokio runtime: it bounds the connections on every runtime.
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    println!(
        "autobahn_server: listening on {} ({}, {})",
        args.listen,
        if args.http2 {
            "HTTP/2, h2c"
        } else {
            "HTTP/1.1"
        },
        args.runtime
    );
    let http2 = args.http2;
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return ExitCode::FAILURE; // the semaphore is never closed
        };
        let tcp = match listener.accept().await {
            Ok(tcp) => tcp,
            Err(err) => {
                // E.g. out of file descriptors: back off instead of spinning.
                eprintln!("autobahn_server: accept: {err}");
                let runtime = &server.runtime;
                runtime
                    .sleep_until(runtime.now() + Duration::from_millis(100))
                    .await;
                continue;
            }
        };
        let peer = tcp.peer_addr();
        let task = Arc::clone(&server);
        server.runtime.spawn(Box::pin(async move {
            let served = serve(Arc::clone(&task), tcp, peer, http2);
            if task.within(MAX_CONNECTION_TIME, served).await.is_none() {
                println!("{peer}: open for {MAX_CONNECTION_TIME:?}, dropping the connection");
            }
            drop(permit);
        }));
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("autobahn_server: {err}");
            return ExitCode::FAILURE;
        }
    };
    if args.http2 && cfg!(not(feature = "http2")) {
        eprintln!("autobahn_server: --http2 needs the http2 feature (--features http2)");
        return ExitCode::FAILURE;
    }
    match args.runtime.as_str() {
        "tokio" => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run(wintergreen::tokio::runtime(), &args)),
            Err(err) => {
                eprintln!("autobahn_server: tokio runtime: {err}");
                ExitCode::FAILURE
            }
        },
        #[cfg(feature = "runtime-smol")]
        "smol" => smol::block_on(run(wintergreen::smol::runtime(), &args)),
        #[cfg(feature = "runtime-async-std")]
        "async-std" => async_std::task::block_on(run(wintergreen::async_std::runtime(), &args)),
        other => {
            eprintln!(
                "autobahn_server: --runtime {other}: unknown, or not built in (runtime-smol / runtime-async-std features)"
            );
            ExitCode::FAILURE
        }
    }
}
