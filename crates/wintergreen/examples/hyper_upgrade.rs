//! WebSockets inside a hyper 1.x server, over HTTP/1.1 (`GET` + `Upgrade`) and HTTP/2
//! (extended CONNECT, RFC 8441), on one port.
//!
//! ```text
//! cargo run --example hyper_upgrade --features http2
//! ```
//! hyper owns the connection and parses requests (hyper-util's `auto` builder speaks both
//! versions, with `enable_connect_protocol` for HTTP/2); wintergreen judges the WebSocket
//! request with [`wintergreen::upgrade::response_for`], hyper sends the answer, and once hyper
//! hands over the upgraded connection, [`wintergreen::upgrade::from_upgraded`] drives the
//! WebSocket. Refusals go out as [`wintergreen::upgrade::rejection_response`].
//!
//! The example then connects with wintergreen's client over both versions, and once to a
//! path the policy refuses (404), and exits 0 when everything went as expected.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::convert::Infallible;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use wintergreen::handshake::Rejection;
use wintergreen::{CloseCode, ConnectError, Error, Http2Mode, Message, ServerOptions};

/// The WebSocket policy: deflate (the facade's default), subprotocol `echo.v1` when
/// offered, and only the path `/ws`.
fn server_options() -> ServerOptions {
    let mut options = wintergreen::server_options();
    options.handshake.policy =
        options
            .handshake
            .policy
            .subprotocols(["echo.v1"])
            .check(|request| {
                if request.uri().path() == "/ws" {
                    Ok(())
                } else {
                    Err(Rejection::new(StatusCode::NOT_FOUND).with_body("no WebSocket here\n"))
                }
            });
    options
}

/// hyper's service: WebSocket requests are upgraded, anything else gets a plain answer.
async fn handle(
    mut request: Request<Incoming>,
    options: ServerOptions,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // Over HTTP/2 a WebSocket is an extended CONNECT whose `:protocol` is `websocket`;
    // hyper keeps the pseudo-header in the request's extensions.
    let is_websocket = match request.version() {
        Version::HTTP_2 => {
            request.method() == Method::CONNECT
                && request
                    .extensions()
                    .get::<hyper::ext::Protocol>()
                    .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
        }
        _ => request.headers().contains_key(http::header::UPGRADE),
    };
    if !is_websocket {
        return Ok(Response::new(Full::new(Bytes::from_static(
            b"hello over plain HTTP\n",
        ))));
    }
    match wintergreen::upgrade::response_for(&request, &options) {
        Ok((response, pending)) => {
            let on_upgrade = hyper::upgrade::on(&mut request);
            let path = request.uri().path().to_owned();
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(upgraded) => {
                        println!(
                            "[server] {path} upgraded over {:?} (subprotocol {:?}, extension {:?})",
                            pending.version(),
                            pending.subprotocol(),
                            pending.extension(),
                        );
                        let ws =
                            wintergreen::upgrade::from_upgraded(TokioIo::new(upgraded), pending);
                        echo(ws).await;
                    }
                    Err(err) => println!("[server] upgrade failed: {err}"),
                }
            });
            Ok(response.map(|()| Full::new(Bytes::new())))
        }
        Err(err) => {
            println!("[server] refused {}: {err}", request.uri());
            Ok(wintergreen::upgrade::rejection_response(&err).map(Full::new))
        }
    }
}

async fn echo<S>(mut ws: S)
where
    S: futures_util::Stream<Item = Result<Message, Error>>
        + futures_util::Sink<Message, Error = Error>
        + Unpin,
{
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            return;
        }
    }
}

async fn server(listener: TcpListener) {
    let options = server_options();
    while let Ok((tcp, _)) = listener.accept().await {
        let options = options.clone();
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            let service = service_fn(move |request| handle(request, options.clone()));
            if let Err(err) = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
            {
                println!("[server] connection error: {err}");
            }
        });
    }
}

async fn client(url: &str, mode: Http2Mode) -> Result<(), Box<dyn std::error::Error>> {
    let (mut ws, response) = wintergreen::ClientBuilder::new(url)
        .http2(mode)
        .subprotocol("echo.v1")
        .connect()
        .await?;
    println!(
        "[client] connected over {:?}: {} {:?}",
        ws.get_ref().http_version(),
        response.status(),
        response.headers().get("sec-websocket-protocol"),
    );
    for message in [Message::text("hello hyper"), Message::binary(vec![1, 2, 3])] {
        ws.send(message.clone()).await?;
        let reply = ws.next().await.ok_or("the server closed early")??;
        if reply != message {
            return Err(format!("echo mismatch: {message:?} / {reply:?}").into());
        }
        println!("[client] echo: {reply:?}");
    }
    ws.close(CloseCode::NORMAL, "bye").await?;
    println!("[client] closed cleanly");
    Ok(())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("[server] hyper listening on http://{addr}/ (HTTP/1.1 and h2c)");
    tokio::spawn(server(listener));
    println!("--- HTTP/1.1 ---");
    client(&format!("ws://{addr}/ws"), Http2Mode::Off).await?;
    println!("--- HTTP/2 ---");
    client(&format!("ws://{addr}/ws"), Http2Mode::Require).await?;
    println!("--- refused ---");
    match wintergreen::connect(format!("ws://{addr}/elsewhere")).await {
        Err(ConnectError::Refused { status, .. }) if status == 404 => {
            println!("[client] refused as expected: {status}");
        }
        Err(err) => return Err(err.into()),
        Ok(_) => return Err("the refused path was accepted".into()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match tokio::time::timeout(Duration::from_secs(20), run()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: timed out");
            ExitCode::FAILURE
        }
    }
}
