#![allow(clippy::print_stdout, clippy::print_stderr)]
//! Our client against a third-party echo server with permessage-deflate: `cargo xtask
//! interop` runs it against a server on the Python `websockets` library
//! (`autobahn/interop/echo_server.py`).
//!
//! ```text
//! interop_client --url ws://127.0.0.1:9005/
//! ```
//! Two connections: one with the facade's default offer ([`wintergreen::client_options`]),
//! one with a tuned offer (`client_no_context_takeover; server_max_window_bits=10`). Each
//! fails unless the server's 101 response negotiated permessage-deflate, sends a set of
//! messages, checks every echo byte for byte and ends with the close handshake. Exits 1 on
//! the first problem.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::timeout;
use wintergreen::deflate::{DeflateConfig, DeflateFactory, DeflateOffer, WindowBits};
use wintergreen::{ClientOptions, CloseCode, Message};

/// How long one step (connect, one echo, the close) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

fn parse_args() -> Result<String, String> {
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--url" => url = Some(args.next().ok_or("--url needs a value")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    url.ok_or_else(|| "usage: interop_client --url ws://127.0.0.1:PORT/".to_owned())
}

/// The messages each connection sends one at a time, by name.
fn messages() -> Vec<(&'static str, Message)> {
    let line = "the quick brown fox jumps over the lazy dog 0123456789\n";
    let text64k: String = line.repeat(65536 / line.len() + 1)[..65536].to_owned();
    let binary1m: Vec<u8> = (0..1usize << 20)
        .map(|i| ((i * 7 + (i >> 8)) % 251) as u8)
        .collect();
    vec![
        ("short text", Message::text("hello")),
        ("utf-8 text", Message::text("héllo wörld ✓ 日本語 🦀")),
        ("64 KiB compressible text", Message::text(text64k)),
        ("1 MiB structured binary", Message::binary(binary1m)),
        ("empty binary", Message::binary(Vec::new())),
    ]
}

/// A burst of small messages, all sent before any echo is read.
fn burst() -> Vec<Message> {
    (0..50)
        .map(|i| Message::text(format!("small message {i}")))
        .chain((0..50u8).map(|i| Message::binary(vec![i; 20])))
        .collect()
}

fn same(a: &Message, b: &Message) -> bool {
    match (a, b) {
        (Message::Text(x), Message::Text(y)) => x.as_bytes() == y.as_bytes(),
        (Message::Binary(x), Message::Binary(y)) => x == y,
        _ => false,
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} bytes", t.as_bytes().len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// One connection: handshake check, echoes, close. Returns the negotiated extension string
/// and the number of messages echoed.
async fn session(
    url: &str,
    label: &str,
    options: &ClientOptions,
    expect: &[&str],
) -> Result<(String, usize), String> {
    let (mut ws, response) = timeout(STEP_TIMEOUT, wintergreen::connect_with(url, options))
        .await
        .map_err(|_| format!("{label}: connect timed out"))?
        .map_err(|e| format!("{label}: connect failed: {e}"))?;
    let extensions = response
        .headers()
        .get_all("sec-websocket-extensions")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    println!("{label}: negotiated sec-websocket-extensions: {extensions:?}");
    if !extensions.contains("permessage-deflate") {
        return Err(format!(
            "{label}: the server did not negotiate permessage-deflate \
             (sec-websocket-extensions: {extensions:?})"
        ));
    }
    for param in expect {
        if !extensions.contains(param) {
            return Err(format!(
                "{label}: the server's answer {extensions:?} lacks `{param}`"
            ));
        }
    }

    let mut count = 0;
    for (name, message) in messages() {
        ws.send_message(message.clone())
            .await
            .map_err(|e| format!("{label}: sending {name}: {e}"))?;
        let echo = receive(&mut ws, label, name).await?;
        if !same(&message, &echo) {
            return Err(format!(
                "{label}: {name}: echo differs (sent {}, got {})",
                describe(&message),
                describe(&echo)
            ));
        }
        count += 1;
    }
    let burst = burst();
    for message in &burst {
        ws.send_message(message.clone())
            .await
            .map_err(|e| format!("{label}: sending the burst: {e}"))?;
    }
    for (i, message) in burst.iter().enumerate() {
        let echo = receive(&mut ws, label, "burst").await?;
        if !same(message, &echo) {
            return Err(format!(
                "{label}: burst message {i}: echo differs (sent {}, got {})",
                describe(message),
                describe(&echo)
            ));
        }
        count += 1;
    }

    timeout(STEP_TIMEOUT, ws.close(CloseCode::NORMAL, "done"))
        .await
        .map_err(|_| format!("{label}: the close handshake timed out"))?
        .map_err(|e| format!("{label}: the close handshake failed: {e}"))?;
    if let Some(item) = ws.next_message().await {
        return Err(format!("{label}: data after the close: {item:?}"));
    }
    Ok((extensions, count))
}

/// The next data message (pings and pongs skipped), within [`STEP_TIMEOUT`].
async fn receive(
    ws: &mut wintergreen::WebSocketStream<wintergreen::tokio::Transport>,
    label: &str,
    name: &str,
) -> Result<Message, String> {
    loop {
        match timeout(STEP_TIMEOUT, ws.next_message()).await {
            Err(_) => return Err(format!("{label}: {name}: no echo within {STEP_TIMEOUT:?}")),
            Ok(None) => return Err(format!("{label}: {name}: the connection ended")),
            Ok(Some(Err(e))) => return Err(format!("{label}: {name}: {e}")),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(format!("{label}: {name}: the server closed: {frame:?}"));
            }
            Ok(Some(Ok(message))) => return Ok(message),
        }
    }
}

/// The tuned offer: `permessage-deflate; client_no_context_takeover;
/// server_max_window_bits=10; client_max_window_bits`.
fn tuned_options() -> ClientOptions {
    let mut config = DeflateConfig::default();
    config.offers = vec![
        DeflateOffer::new()
            .client_no_context_takeover(true)
            .server_max_window_bits(WindowBits::new(10))
            .client_max_window_bits_supported(),
    ];
    let mut options = ClientOptions::default();
    options.handshake.extensions = vec![Arc::new(DeflateFactory::new(config))];
    options
}

async fn run(url: &str) -> Result<(), String> {
    let runs: [(&str, ClientOptions, &[&str]); 2] = [
        ("default offer", wintergreen::client_options(), &[]),
        (
            "tuned offer",
            tuned_options(),
            &["client_no_context_takeover", "server_max_window_bits=10"],
        ),
    ];
    for (label, options, expect) in &runs {
        let t = Instant::now();
        let (extensions, count) = session(url, label, options, expect).await?;
        println!(
            "{label}: OK: {count} messages echoed byte for byte, closed cleanly, in {:.2}s \
             (extensions: {extensions})",
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let url = match parse_args() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("interop_client: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop_client: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
