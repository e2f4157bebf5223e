#![allow(clippy::print_stdout, clippy::print_stderr)]
//! The Autobahn|Testsuite echo server: Autobahn's fuzzing client connects once per case;
//! every text and binary message is echoed, pings and closes are left to the library.
//!
//! ```text
//! autobahn_server --listen 127.0.0.1:9002
//! autobahn_server --listen 127.0.0.1:9005 --http2
//! ```
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

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use wintergreen::{Message, ServerOptions, WebSocketStream};

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
}

fn parse_args() -> Result<Args, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 9002));
    let mut http2 = false;
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
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args { listen, http2 })
}

/// Serves one TCP connection: one WebSocket over HTTP/1.1, or (`http2`) every WebSocket
/// the client opens on an HTTP/2 connection, each echoed by [`echo`].
async fn serve(tcp: TcpStream, peer: SocketAddr, options: &ServerOptions, http2: bool) {
    if http2 {
        serve_http2(tcp, peer, options).await;
        return;
    }
    match wintergreen::accept_with(tcp, options).await {
        Ok((ws, request)) => {
            println!("{peer}: accepted {}", request.uri());
            echo(ws, peer).await;
        }
        Err(err) => println!("{peer}: handshake failed: {err}"),
    }
}

/// HTTP/2: every extended CONNECT on the connection is a WebSocket, echoed on a task of
/// its own (the connection's streams run at once), until the connection ends.
#[cfg(feature = "http2")]
async fn serve_http2(tcp: TcpStream, peer: SocketAddr, options: &ServerOptions) {
    let mut acceptor = match wintergreen::tokio::http2::accept(tcp, options).await {
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
                tokio::spawn(async move {
                    if timeout(MAX_CONNECTION_TIME, echo(ws, peer)).await.is_err() {
                        println!("{peer}: open for {MAX_CONNECTION_TIME:?}, dropping the stream");
                    }
                });
            }
            Err(err) => println!("{peer}: HTTP/2: {err}"),
        }
    }
}

#[cfg(not(feature = "http2"))]
async fn serve_http2(_tcp: TcpStream, peer: SocketAddr, _options: &ServerOptions) {
    println!("{peer}: --http2 needs the http2 feature");
}

/// Echoes data messages until the connection ends. Errors (protocol violations the library
/// has already answered with a close frame, a failed echo) do not end the loop: reading on
/// lets the library finish the close handshake, and the stream ends (`None`) once the
/// transport is closed.
async fn echo<IO>(mut ws: WebSocketStream<IO>, peer: SocketAddr)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut errors = 0;
    loop {
        let message = match timeout(IDLE_TIMEOUT, ws.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(err))) => {
                println!("{peer}: {err}");
                errors += 1;
                if errors > MAX_ERRORS {
                    println!("{peer}: {errors} errors, dropping the connection");
                    return;
                }
                continue;
            }
            Ok(None) => break,
            Err(_) => {
                println!("{peer}: idle for {IDLE_TIMEOUT:?}, dropping the connection");
                return;
            }
        };
        if let Message::Text(_) | Message::Binary(_) = message {
            match timeout(IDLE_TIMEOUT, ws.send(message)).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    println!("{peer}: echo failed: {err}");
                    errors += 1;
                }
                Err(_) => {
                    println!("{peer}: echo stalled for {IDLE_TIMEOUT:?}, dropping the connection");
                    return;
                }
            }
        }
    }
    println!("{peer}: closed");
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("autobahn_server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("autobahn_server: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // Section 9 sends messages up to 16 MiB: the defaults (16 MiB frames, 64 MiB
    // messages) already allow them.
    if args.http2 && cfg!(not(feature = "http2")) {
        eprintln!("autobahn_server: --http2 needs the http2 feature (--features http2)");
        return ExitCode::FAILURE;
    }
    let options = Arc::new(wintergreen::server_options());
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    println!(
        "autobahn_server: listening on {} ({})",
        args.listen,
        if args.http2 {
            "HTTP/2, h2c"
        } else {
            "HTTP/1.1"
        }
    );
    let http2 = args.http2;
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return ExitCode::FAILURE; // the semaphore is never closed
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // E.g. out of file descriptors: back off instead of spinning.
                eprintln!("autobahn_server: accept: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let options = Arc::clone(&options);
        tokio::spawn(async move {
            if timeout(MAX_CONNECTION_TIME, serve(tcp, peer, &options, http2))
                .await
                .is_err()
            {
                println!("{peer}: open for {MAX_CONNECTION_TIME:?}, dropping the connection");
            }
            drop(permit);
        });
    }
}
