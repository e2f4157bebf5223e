//! `wintergreen listen ADDR`: an echo or broadcast server over HTTP/1.1 and HTTP/2.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::cli::ListenArgs;
use crate::net::{self, Accepted, Message};

/// Messages a slow client may fall behind by in broadcast mode before it misses some.
const BROADCAST_BACKLOG: usize = 1024;

/// The most payload bytes the broadcast hub holds for clients that have not taken them
/// yet (16 MiB). Without it a client that never reads would keep [`BROADCAST_BACKLOG`]
/// messages of the largest size (64 MiB each) alive. A message that would go past it is
/// dropped, and logged; into an empty backlog any message goes, however large.
const BROADCAST_BACKLOG_BYTES: usize = 16 << 20;

/// The broadcast hub: every client's messages, to every client, within
/// [`BROADCAST_BACKLOG`] messages and [`BROADCAST_BACKLOG_BYTES`] bytes.
#[derive(Clone)]
struct Hub {
    sender: broadcast::Sender<Arc<Held>>,
    /// Payload bytes of the messages some client has not taken yet.
    held: Arc<AtomicUsize>,
}

/// A message on the hub, counted in [`Hub::held`] until every client has taken it (tokio's
/// broadcast channel drops its copy once every receiver has seen it) and sent it on.
struct Held {
    message: Message,
    held: Arc<AtomicUsize>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.held.fetch_sub(self.message.len(), Ordering::AcqRel);
    }
}

impl Hub {
    fn new() -> Self {
        Self {
            sender: broadcast::channel(BROADCAST_BACKLOG).0,
            held: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sends `message` to every client, unless the backlog has no room for it: then it is
    /// dropped and the bytes held are returned.
    fn publish(&self, message: Message) -> Result<(), usize> {
        let len = message.len();
        let before = self.held.fetch_add(len, Ordering::AcqRel);
        if before != 0 && before.saturating_add(len) > BROADCAST_BACKLOG_BYTES {
            self.held.fetch_sub(len, Ordering::AcqRel);
            return Err(before);
        }
        let held = Held {
            message,
            held: Arc::clone(&self.held),
        };
        // No receiver is no error: the sender is one, so there always is.
        let _ = self.sender.send(Arc::new(held));
        Ok(())
    }
}

pub(crate) async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let server = net::Server::new(&args)?;
    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // The URL first, on stdout, for scripts and tests (the port may have been 0).
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}://{addr}/", server.scheme())?;
    stdout.flush()?;
    eprintln!(
        "wintergreen: listening on {}://{addr}/ (HTTP/1.1 and {}; {}); Ctrl-C stops",
        server.scheme(),
        if server.scheme() == "wss" {
            "h2 through ALPN"
        } else {
            "h2c"
        },
        if args.broadcast { "broadcast" } else { "echo" },
    );
    let hub = args.broadcast.then(Hub::new);
    let ids = Arc::new(AtomicU64::new(1));
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let accepted = tokio::select! {
            Ok(()) = &mut interrupted => {
                eprintln!("wintergreen: interrupted; stopping");
                return Ok(());
            }
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // E.g. out of file descriptors: report, and keep serving the others.
                eprintln!("wintergreen: accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let server = server.clone();
        let hub = hub.clone();
        let ids = Arc::clone(&ids);
        tokio::spawn(async move {
            let served = server
                .serve(tcp, peer, |accepted| match accepted {
                    Ok(accepted) => {
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        log_accepted(id, peer, &accepted);
                        match &hub {
                            Some(hub) => {
                                tokio::spawn(relay(id, accepted, hub.clone()));
                            }
                            None => {
                                tokio::spawn(echo(id, accepted));
                            }
                        }
                    }
                    Err(reason) => eprintln!("wintergreen: {peer}: {reason}"),
                })
                .await;
            if let Err(reason) = served {
                eprintln!("wintergreen: {peer}: {reason}");
            }
        });
    }
}

fn log_accepted(id: u64, peer: std::net::SocketAddr, accepted: &Accepted) {
    let n = &accepted.negotiated;
    eprintln!(
        "wintergreen: #{id} {peer} {} over {:?}, subprotocol: {}, extension: {}",
        accepted.path,
        n.version,
        n.protocol.as_deref().unwrap_or("none"),
        n.extension.as_deref().unwrap_or("none"),
    );
}

/// Logs a connection's end with its statistics.
fn log_closed(id: u64, end: &str, count: u64, ws: &dyn net::Connection) {
    let stats = crate::stats::summary(&ws.stats());
    eprintln!("wintergreen: #{id} {end} after {count} messages; {stats}");
}

/// Echoes data messages until the peer closes.
async fn echo(id: u64, accepted: Accepted) {
    let mut ws = accepted.ws;
    let mut count = 0u64;
    let end = loop {
        match ws.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                count += 1;
                if let Err(err) = ws.send(message).await {
                    break format!("error: {err}");
                }
            }
            Some(Ok(Message::Close(frame))) => {
                break match frame {
                    Some(frame) => format!("closed by the peer ({})", u16::from(frame.code)),
                    None => "closed by the peer".to_owned(),
                };
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => break format!("error: {err}"),
            None => break "ended".to_owned(),
        }
    };
    // After a close frame the driver answers it; reading on lets it finish.
    while let Some(Ok(_)) = ws.next().await {}
    log_closed(id, &end, count, &*ws);
}

/// Broadcast mode: what this client sends goes to every client; what anyone sends comes
/// to this client.
async fn relay(id: u64, accepted: Accepted, hub: Hub) {
    let mut ws = accepted.ws;
    let mut inbox = hub.sender.subscribe();
    let mut count = 0u64;
    let end = loop {
        tokio::select! {
            received = ws.next() => match received {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    count += 1;
                    if let Err(held) = hub.publish(message) {
                        eprintln!(
                            "wintergreen: #{id} message dropped: the broadcast backlog holds \
                             {held} bytes for slow clients"
                        );
                    }
                }
                Some(Ok(Message::Close(_))) => break "closed by the peer".to_owned(),
                Some(Ok(_)) => {}
                Some(Err(err)) => break format!("error: {err}"),
                None => break "ended".to_owned(),
            },
            relayed = inbox.recv() => match relayed {
                Ok(held) => {
                    if let Err(err) = ws.send(held.message.clone()).await {
                        break format!("error: {err}");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    eprintln!("wintergreen: #{id} too slow: missed {missed} messages");
                }
                Err(broadcast::error::RecvError::Closed) => break "server stopped".to_owned(),
            },
        }
    };
    while let Some(Ok(_)) = ws.next().await {}
    log_closed(id, &end, count, &*ws);
}
