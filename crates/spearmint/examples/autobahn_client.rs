#![allow(clippy::print_stdout, clippy::print_stderr)]
//! The Autobahn|Testsuite client: runs every case of a fuzzing server, echoing text and
//! binary messages and letting the library answer pings and closes.
//!
//! ```text
//! autobahn_client --url ws://127.0.0.1:9001 --agent spearmint
//! ```
//! Built on the public API only; `cargo xtask autobahn` runs it.

use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use spearmint::{ClientOptions, Message};

struct Args {
    url: String,
    agent: String,
}

fn parse_args() -> Result<Args, String> {
    let mut url = "ws://127.0.0.1:9001".to_owned();
    let mut agent = "spearmint".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = value()?,
            "--agent" => agent = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args { url, agent })
}

fn options() -> ClientOptions {
    // Section 9 sends messages up to 16 MiB: the defaults (16 MiB frames, 64 MiB
    // messages) already allow them.
    ClientOptions::default()
}

async fn case_count(url: &str) -> Result<u32, spearmint::Error> {
    let (mut ws, _) = spearmint::connect_with(format!("{url}/getCaseCount"), &options()).await?;
    let mut count = 0;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

async fn run_case(url: &str, case: u32, agent: &str) -> Result<(), spearmint::Error> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let (mut ws, _) = spearmint::connect_with(target, &options()).await?;
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    }
    Ok(())
}

async fn update_reports(url: &str, agent: &str) -> Result<(), spearmint::Error> {
    let target = format!("{url}/updateReports?agent={agent}");
    let (mut ws, _) = spearmint::connect_with(target, &options()).await?;
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
    let count = match case_count(&args.url).await {
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
        if let Err(err) = run_case(&args.url, case, &args.agent).await {
            println!("case {case}: {err}");
        }
    }
    if let Err(err) = update_reports(&args.url, &args.agent).await {
        eprintln!("autobahn_client: updateReports: {err}");
        return ExitCode::FAILURE;
    }
    println!("{}: done", args.agent);
    ExitCode::SUCCESS
}
