//! The `hold` halves: many plain WebSockets (no permessage-deflate) that each echo once and
//! then idle, to measure what an idle connection costs at scale (issue 15: 50,000 held).
//!
//! One process may hold at most its `RLIMIT_NOFILE` descriptors (20,000 here, and only a
//! privileged process may raise the hard limit), and one source address reaches one port
//! from at most the ephemeral range (32768–60999: 28,232 ports). So xtask spreads the
//! servers over several processes listening on one port with `SO_REUSEPORT` (the kernel
//! spreads connections by a hash of the addresses), and the clients over several processes,
//! each connecting from its own loopback source address (127.0.0.2, 127.0.0.3, …).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use wintergreen::{ClientOptions, Message, ServerOptions};

/// Connections opened at once by one client process (the ramp, not a SYN flood).
const RAMP: usize = 200;
/// The listen backlog of each server process.
const BACKLOG: u32 = 4096;
/// A server never outlives this, whatever happens to xtask.
const SERVER_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Time allowed to open every connection of one client process and echo once on each.
const RAMP_LIMIT: Duration = Duration::from_secs(180);

/// Binds `listen` with `SO_REUSEPORT` (so that sibling processes share the port), echoes
/// every data message on every WebSocket; prints `listening on ADDR` once bound.
pub(crate) async fn server(listen: SocketAddr) -> Result<()> {
    if !listen.ip().is_loopback() {
        bail!("the hold server listens on loopback only (got {listen})");
    }
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseport(true)?;
    socket.bind(listen)?;
    let listener = socket.listen(BACKLOG)?;
    println!("listening on {}", listener.local_addr()?);
    let mut options = ServerOptions::default();
    options.handshake.policy = options.handshake.policy.no_extensions();
    // Shared: a clone per task would stay in each connection's task for its life (about
    // 360 bytes and the policy's allocations; the facade's "Memory per connection").
    let options = Arc::new(options);
    let serving = async {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                // Out of descriptors: back off; xtask sees the clients' failures.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let options = Arc::clone(&options);
            tokio::spawn(async move {
                let Ok((mut ws, _)) = wintergreen::tokio::accept_with(tcp, &options).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_) | Message::Binary(_))
                        && ws.send(message).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    };
    let _ = tokio::time::timeout(SERVER_LIFETIME, serving).await;
    Ok(())
}

/// Opens `conns` WebSockets to `addr` from `source` ([`RAMP`] at a time), echoes 20 bytes
/// once on each, prints `HOLD opened=… failed=… ramp_s=…` and `READY`, holds them for
/// `hold_for`, then closes them all by dropping them.
pub(crate) async fn clients(
    addr: SocketAddr,
    source: IpAddr,
    conns: usize,
    hold_for: Duration,
) -> Result<()> {
    if !addr.ip().is_loopback() || !source.is_loopback() {
        bail!("the hold clients stay on loopback (got {source} → {addr})");
    }
    let mut options = ClientOptions::default();
    options.handshake.extensions.clear();
    let started = Instant::now();
    let ramp = Semaphore::new(RAMP);
    let opening = (0..conns).map(|_| async {
        let _permit = ramp.acquire().await?;
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let tcp = socket.connect(addr).await?;
        tcp.set_nodelay(true)?;
        let request = wintergreen::http::Request::get(format!("ws://{addr}/")).body(())?;
        let (mut ws, _) = wintergreen::tokio::handshake_with(tcp, request, &options).await?;
        ws.send(Message::binary(vec![b'x'; 20])).await?;
        match ws.next().await {
            Some(Ok(Message::Binary(_))) => anyhow::Ok(ws),
            other => bail!("expected the echo, got {other:?}"),
        }
    });
    let results = tokio::time::timeout(RAMP_LIMIT, futures_util::future::join_all(opening))
        .await
        .context("opening the connections took too long")?;
    let mut held = Vec::with_capacity(conns);
    let mut failed = 0usize;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(ws) => held.push(ws),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!("first failure from {source}: {e:#}");
    }
    println!(
        "HOLD opened={} failed={failed} ramp_s={:.1}",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    println!("READY");
    tokio::time::sleep(hold_for).await;
    drop(held);
    Ok(())
}
