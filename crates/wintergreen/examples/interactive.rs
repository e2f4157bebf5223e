#![allow(clippy::print_stdout, clippy::print_stderr)]
//! An interactive client: every line on stdin goes out as a text message, every message
//! that comes in is printed on stdout. End stdin (Ctrl-D) to close.
//!
//! ```text
//! cargo run --example interactive -- wss://example.com/ws \
//!     [--http2] [--protocol chat.v1] [--header 'Authorization: Bearer x'] [--no-deflate]
//! ```
//! `--http2` (needs `--features http2`) prefers WebSockets over HTTP/2 (RFC 8441), falling
//! back to HTTP/1.1.

use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use wintergreen::http::{HeaderName, HeaderValue};
use wintergreen::{ClientOptions, Http2Mode, Message};

fn parse_args() -> Result<(String, ClientOptions), String> {
    let mut url = None;
    let mut options = wintergreen::client_options();
    let mut deflate = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--http2" => {
                if cfg!(not(feature = "http2")) {
                    return Err("--http2 needs the http2 feature (--features http2)".into());
                }
                options.connect.http2 = Http2Mode::Prefer;
            }
            "--protocol" => options.handshake.subprotocols.push(value()?),
            "--header" => {
                let header = value()?;
                let (name, val) = header
                    .split_once(':')
                    .ok_or(format!("--header {header:?}: expected 'Name: value'"))?;
                let name = HeaderName::try_from(name.trim()).map_err(|e| e.to_string())?;
                let val = HeaderValue::try_from(val.trim()).map_err(|e| e.to_string())?;
                options.handshake.headers.append(name, val);
            }
            "--no-deflate" => deflate = false,
            other if other.starts_with("--") => return Err(format!("unknown flag {other}")),
            other => url = Some(other.to_owned()),
        }
    }
    if !deflate {
        options.handshake.extensions.clear();
    }
    let url = url.ok_or(
        "usage: interactive URL [--http2] [--protocol P] [--header 'K: V'] [--no-deflate]",
    )?;
    Ok((url, options))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (url, options) = match parse_args() {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("interactive: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (ws, response) = match wintergreen::connect_with(url.as_str(), &options).await {
        Ok(connected) => connected,
        Err(err) => {
            eprintln!("interactive: {url}: {err}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "connected ({:?}, {}); type lines, Ctrl-D to close",
        ws.get_ref().http_version(),
        response.status()
    );
    let (mut writer, mut reader) = {
        let (reader, writer) = ws.split();
        (writer, reader)
    };
    let printer = tokio::spawn(async move {
        while let Some(message) = reader.next().await {
            match message {
                Ok(Message::Text(text)) => println!("< {text}"),
                Ok(Message::Binary(bytes)) => println!("< [{} bytes]", bytes.len()),
                Ok(Message::Close(frame)) => println!("< close {frame:?}"),
                Ok(_) => {}
                Err(err) => {
                    eprintln!("interactive: {err}");
                    break;
                }
            }
        }
    });
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Err(err) = writer.send(Message::text(line)).await {
            eprintln!("interactive: {err}");
            break;
        }
    }
    let _ = writer.close().await;
    let _ = printer.await;
    ExitCode::SUCCESS
}
