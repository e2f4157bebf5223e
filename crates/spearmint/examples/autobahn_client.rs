#![allow(clippy::print_stdout, clippy::print_stderr)]
//! The Autobahn|Testsuite client: runs every case of a fuzzing server, echoing text and
//! binary messages and letting the library answer pings and closes.
//!
//! ```text
//! autobahn_client --url ws://127.0.0.1:9001 --agent spearmint
//! autobahn_client --url ws://127.0.0.1:9002 --agent spearmint-http2 --http2
//! ```
//! With `--http2` (and the `http2` feature) every case runs over HTTP/2 with
//! `Http2Mode::Require`, through an HTTP/2 → HTTP/1.1 bridge in front of the fuzzing server
//! (`crates/http2/examples/autobahn_h2_bridge.rs`).
//! Built on the public API only; `cargo xtask autobahn` runs it.

use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use spearmint::{ClientOptions, Http2Mode, Message};

struct Args {
    url: String,
    agent: String,
    http2: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut url = "ws://127.0.0.1:9001".to_owned();
    let mut agent = "spearmint".to_owned();
    let mut http2 = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = value()?,
            "--agent" => agent = value()?,
            "--http2" => http2 = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args { url, agent, http2 })
}

fn options(http2: bool) -> ClientOptions {
    // Section 9 sends messages up to 16 MiB: the defaults (16 MiB frames, 64 MiB
    // messages) already allow them.
    let options = spearmint::client_options();
    if http2 {
        // Over HTTP/2 or not at all: a silent fallback would test HTTP/1.1 twice.
        options.http2(Http2Mode::Require)
    } else {
        options
    }
}

async fn case_count(url: &str, options: &ClientOptions) -> Result<u32, spearmint::Error> {
    let (mut ws, _) = spearmint::connect_with(format!("{url}/getCaseCount"), options).await?;
    let mut count = 0;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

async fn run_case(
    url: &str,
    case: u32,
    agent: &str,
    options: &ClientOptions,
) -> Result<(), spearmint::Error> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let (mut ws, _) = spearmint::connect_with(target, options).await?;
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    }
    Ok(())
}

async fn update_reports(
    url: &str,
    agent: &str,
    options: &ClientOptions,
) -> Result<(), spearmint::Error> {
    let target = format!("{url}/updateReports?agent={agent}");
    let (mut ws, _) = spearmint::connect_with(target, options).await?;
    while let Some(message) = ws.next().await {
        message?;
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("autobahn_client: {err}");
            return ExitCode::FAILURE;
        }
    };
    if args.http2 && cfg!(not(feature = "http2")) {
        eprintln!("autobahn_client: --http2 needs the http2 feature (--features http2)");
        return ExitCode::FAILURE;
    }
    let options = options(args.http2);
    let count = match case_count(&args.url, &options).await {
        Ok(count) if count > 0 => count,
        Ok(_) => {
            eprintln!("autobahn_client: the server reported no cases");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("autobahn_client: getCaseCount: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}: running {count} cases", args.agent);
    for case in 1..=count {
        // A case that fails the connection is judged by the server's report, not here.
        if let Err(err) = run_case(&args.url, case, &args.agent, &options).await {
            println!("case {case}: {err}");
        }
    }
    if let Err(err) = update_reports(&args.url, &args.agent, &options).await {
        eprintln!("autobahn_client: updateReports: {err}");
        return ExitCode::FAILURE;
    }
    println!("{}: done", args.agent);
    ExitCode::SUCCESS
}
