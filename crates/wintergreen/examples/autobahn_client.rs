#![allow(clippy::print_stdout, clippy::print_stderr)]
//! The Autobahn|Testsuite client: runs every case of a fuzzing server, echoing text and
//! binary messages and letting the library answer pings and closes.
//!
//! ```text
//! autobahn_client --url ws://127.0.0.1:9001 --agent wintergreen
//! autobahn_client --url ws://127.0.0.1:9003 --agent wintergreen-http2 --http2
//! autobahn_client --agent wintergreen-smol --runtime smol --sections 1,2,3,4,5,6,7,12
//! ```
//! `--runtime tokio|smol|async-std` (default tokio; smol and async-std need the
//! `runtime-smol`/`runtime-async-std` features) picks the runtime adapter;
//! `--sections` runs only the cases whose id (from the fuzzingserver's `/getCaseInfo`)
//! starts with one of those top-level sections.
//! With `--http2` (and the `http2` feature) every case runs over HTTP/2 with
//! `Http2Mode::Require`, through an HTTP/2 → HTTP/1.1 bridge in front of the fuzzing server
//! (`crates/http2/examples/autobahn_h2_bridge.rs`).
//! Built on the public API only; `cargo xtask autobahn` runs it.

use std::future::Future;
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use wintergreen::{ClientOptions, Http2Mode, Message, WebSocketStream};

struct Args {
    url: String,
    agent: String,
    http2: bool,
    runtime: String,
    sections: Option<Vec<u32>>,
}

/// Connects on the chosen runtime; the rest of the client is generic over the transport.
trait Connector {
    type IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin;
    fn connect(
        &self,
        url: String,
        options: &ClientOptions,
    ) -> impl Future<Output = Result<WebSocketStream<Self::IO>, Box<dyn std::error::Error>>>;
}

struct OnTokio;
impl Connector for OnTokio {
    type IO = wintergreen::tokio::Transport;
    async fn connect(
        &self,
        url: String,
        options: &ClientOptions,
    ) -> Result<WebSocketStream<Self::IO>, Box<dyn std::error::Error>> {
        Ok(wintergreen::tokio::connect_with(url, options).await?.0)
    }
}

#[cfg(feature = "runtime-smol")]
struct OnSmol;
#[cfg(feature = "runtime-smol")]
impl Connector for OnSmol {
    type IO = wintergreen::smol::Transport;
    async fn connect(
        &self,
        url: String,
        options: &ClientOptions,
    ) -> Result<WebSocketStream<Self::IO>, Box<dyn std::error::Error>> {
        Ok(wintergreen::smol::connect_with(url, options).await?.0)
    }
}

#[cfg(feature = "runtime-async-std")]
struct OnAsyncStd;
#[cfg(feature = "runtime-async-std")]
impl Connector for OnAsyncStd {
    type IO = wintergreen::async_std::Transport;
    async fn connect(
        &self,
        url: String,
        options: &ClientOptions,
    ) -> Result<WebSocketStream<Self::IO>, Box<dyn std::error::Error>> {
        Ok(wintergreen::async_std::connect_with(url, options).await?.0)
    }
}

fn parse_args() -> Result<Args, String> {
    let mut url = "ws://127.0.0.1:9001".to_owned();
    let mut agent = "wintergreen".to_owned();
    let mut http2 = false;
    let mut runtime = "tokio".to_owned();
    let mut sections = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = value()?,
            "--agent" => agent = value()?,
            "--http2" => http2 = true,
            "--runtime" => runtime = value()?,
            "--sections" => {
                let list = value()?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<u32>()
                            .map_err(|e| format!("--sections: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                sections = Some(list);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        url,
        agent,
        http2,
        runtime,
        sections,
    })
}

fn options(http2: bool) -> ClientOptions {
    // Section 9 sends messages up to 16 MiB: the defaults (16 MiB frames, 64 MiB
    // messages) already allow them.
    let mut options = wintergreen::client_options();
    if http2 {
        // Over HTTP/2 or not at all: a silent fallback would test HTTP/1.1 twice.
        options.connect.http2 = Http2Mode::Require;
    }
    options
}

async fn case_count<C: Connector>(
    c: &C,
    url: &str,
    options: &ClientOptions,
) -> Result<u32, Box<dyn std::error::Error>> {
    let mut ws = c.connect(format!("{url}/getCaseCount"), options).await?;
    let mut count = 0;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

/// The case's id ("1.1.1") from the fuzzingserver's `/getCaseInfo`.
async fn case_id<C: Connector>(
    c: &C,
    url: &str,
    case: u32,
    options: &ClientOptions,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut ws = c
        .connect(format!("{url}/getCaseInfo?case={case}"), options)
        .await?;
    let mut id = String::new();
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            // {"id": "1.1.1", "description": "..."}: the id is the first string after "id".
            if let Some(rest) = text.split("\"id\"").nth(1) {
                id = rest.split('"').nth(1).unwrap_or_default().to_owned();
            }
        }
    }
    Ok(id)
}

async fn run_case<C: Connector>(
    c: &C,
    url: &str,
    case: u32,
    agent: &str,
    options: &ClientOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let mut ws = c.connect(target, options).await?;
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    }
    Ok(())
}

async fn update_reports<C: Connector>(
    c: &C,
    url: &str,
    agent: &str,
    options: &ClientOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let target = format!("{url}/updateReports?agent={agent}");
    let mut ws = c.connect(target, options).await?;
    while let Some(message) = ws.next().await {
        message?;
    }
    Ok(())
}

fn main() -> ExitCode {
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
    match args.runtime.as_str() {
        "tokio" => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run(&OnTokio, &args)),
            Err(err) => {
                eprintln!("autobahn_client: tokio runtime: {err}");
                ExitCode::FAILURE
            }
        },
        #[cfg(feature = "runtime-smol")]
        "smol" => smol::block_on(run(&OnSmol, &args)),
        #[cfg(feature = "runtime-async-std")]
        "async-std" => async_std::task::block_on(run(&OnAsyncStd, &args)),
        other => {
            eprintln!(
                "autobahn_client: --runtime {other}: unknown, or not built in (runtime-smol / runtime-async-std features)"
            );
            ExitCode::FAILURE
        }
    }
}

async fn run<C: Connector>(c: &C, args: &Args) -> ExitCode {
    let options = options(args.http2);
    let count = match case_count(c, &args.url, &options).await {
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
        if let Some(sections) = &args.sections {
            match case_id(c, &args.url, case, &options).await {
                Ok(id) => {
                    let section = id.split('.').next().and_then(|s| s.parse::<u32>().ok());
                    if !section.is_some_and(|s| sections.contains(&s)) {
                        continue;
                    }
                }
                Err(err) => {
                    eprintln!("autobahn_client: getCaseInfo {case}: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
        // A case that fails the connection is judged by the server's report, not here.
        if let Err(err) = run_case(c, &args.url, case, &args.agent, &options).await {
            println!("case {case}: {err}");
        }
    }
    if let Err(err) = update_reports(c, &args.url, &args.agent, &options).await {
        eprintln!("autobahn_client: updateReports: {err}");
        return ExitCode::FAILURE;
    }
    println!("{}: done", args.agent);
    ExitCode::SUCCESS
}
