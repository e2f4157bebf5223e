//! A WebSocket echo inside a plain hyper 1 service, over HTTP/1.1 (`GET` + `Upgrade`,
//! answered 101) and h2c (extended CONNECT, RFC 8441, answered 200) on one port.
//!
//! ```text
//! cargo run --example hyper_upgrade --features hyper [-- --listen 127.0.0.1:8080]
//! wintergreen connect ws://127.0.0.1:8080/ws
//! ```
//! hyper owns the connection and parses requests (hyper-util's `auto` builder speaks both
//! versions; `enable_connect_protocol` lets HTTP/2 clients open WebSockets). The service
//! hands requests for `/ws` to [`wintergreen::hyper::upgrade`], which judges them with the
//! server policy (permessage-deflate by default, subprotocol `echo.v1` when offered) and
//! gives the response to send and the WebSocket to run; a request there that is no
//! WebSocket opening gets the rejection's 4xx. Other paths answer plain HTTP. It runs
//! until killed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use wintergreen::hyper::{Message, WebSocket};
use wintergreen::{ServerBuilder, ServerOptions};

/// hyper's service: `/ws` is the WebSocket route, anything else gets a plain answer.
async fn handle(
    mut request: Request<Incoming>,
    options: Arc<ServerOptions>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        return Ok(Response::new(Full::from("a WebSocket echo is at /ws\n")));
    }
    Ok(match wintergreen::hyper::upgrade(&mut request, &options) {
        Ok((response, websocket)) => {
            println!(
                "[server] upgraded over {:?} (subprotocol {:?}, extension {:?})",
                websocket.version(),
                websocket.subprotocol(),
                websocket.extension(),
            );
            // Awaiting the PendingWebSocket gives the stream once hyper hands the
            // connection over (after this response is sent); `on_upgrade(handler)`
            // does the same in one call.
            tokio::spawn(async move {
                match websocket.await {
                    Ok(ws) => echo(ws).await,
                    Err(err) => println!("[server] upgrade failed: {err}"),
                }
            });
            response
        }
        Err(rejection) => {
            println!("[server] refused ({}): {rejection}", rejection.status());
            rejection.response()
        }
    })
}

/// Echoes text and binary messages; pings and the close handshake are the library's.
async fn echo(mut ws: WebSocket) {
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            return;
        }
    }
}

async fn serve(listener: TcpListener, options: Arc<ServerOptions>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let options = Arc::clone(&options);
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            let service = service_fn(move |request| handle(request, Arc::clone(&options)));
            if let Err(err) = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
            {
                println!("[server] connection error: {err}");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--listen IP:PORT`; 127.0.0.1:8080 without it.
    let addr: SocketAddr = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => SocketAddr::from(([127, 0, 0, 1], 8080)),
        [flag, addr] if flag == "--listen" => addr.parse()?,
        _ => return Err("usage: hyper_upgrade [--listen IP:PORT]".into()),
    };
    let listener = TcpListener::bind(addr).await?;
    let options = ServerBuilder::new().subprotocols(["echo.v1"]).build();
    println!("[server] hyper listening on http://{addr}/ (HTTP/1.1 and h2c), WebSocket at /ws");
    serve(listener, Arc::new(options)).await;
    Ok(())
}
