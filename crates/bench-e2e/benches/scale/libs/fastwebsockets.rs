//! fastwebsockets' handshake server as its users write it (its `upgrade` feature): a hyper 1
//! HTTP/1.1 connection whose service answers with `fastwebsockets::upgrade::upgrade`, then
//! `read_frame` on the upgraded socket until the client leaves. No broadcast server: the
//! library's reader and writer halves are behind its `unstable-split` feature, and
//! `read_frame` is not cancel safe, so one task cannot wait on the hub and the socket at once.

use anyhow::Result;
use fastwebsockets::OpCode;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The handshake server's connection handler.
pub(crate) async fn serve(tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    let service = service_fn(|mut request: Request<Incoming>| async move {
        let (response, upgrade) = fastwebsockets::upgrade::upgrade(&mut request)?;
        drop(tokio::task::spawn_local(async move {
            let mut ws = upgrade.await?;
            loop {
                if ws.read_frame().await?.opcode == OpCode::Close {
                    break;
                }
            }
            anyhow::Ok(())
        }));
        anyhow::Ok(response)
    });
    http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades()
        .await?;
    Ok(())
}
