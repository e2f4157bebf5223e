//! `wintergreen URL`: stdin lines out as messages, received messages to stdout.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::cli::ConnectArgs;
use crate::net::{self, CloseCode, Message};

/// How long to wait for the server's close frame after ours.
const CLOSE_WAIT: Duration = Duration::from_secs(6);

/// The longest --linger, and the bound on all of the lingering after stdin ends.
const MAX_LINGER_S: f64 = 60.0;

/// One line of stdin (without its line ending), or a read error.
type Line = std::io::Result<Vec<u8>>;

pub(crate) async fn run(
    args: ConnectArgs,
    binary: bool,
    quiet: bool,
    linger: f64,
    stats: bool,
) -> anyhow::Result<()> {
    if !(0.0..=MAX_LINGER_S).contains(&linger) {
        bail!("--linger must be between 0 and {MAX_LINGER_S} seconds");
    }
    let linger = Duration::from_secs_f64(linger);
    let url = args.url.clone().context("a URL is needed (see --help)")?;
    let options = net::client_options(&args)?;
    if args.insecure {
        eprintln!(
            "wintergreen: WARNING: --insecure: the server's certificate is NOT checked; \
             anyone on the path can read and change this connection"
        );
    }
    let (mut ws, negotiated) = net::connect(&url, &options)
        .await
        .map_err(|err| anyhow!("{url}: {}", net::connect_reason(&err)))?;
    if !quiet {
        eprintln!(
            "wintergreen: connected to {url} over {:?} (subprotocol: {}, extension: {}); \
         Ctrl-D or Ctrl-C closes",
            negotiated.version,
            negotiated.protocol.as_deref().unwrap_or("none"),
            negotiated.extension.as_deref().unwrap_or("none"),
        );
    }
    let result = talk(&mut ws, binary, linger).await;
    if stats {
        eprintln!("wintergreen: stats: {}", crate::stats::summary(&ws.stats()));
    }
    result
}

/// The conversation: stdin out, messages in, until either side closes.
async fn talk(ws: &mut net::ClientStream, binary: bool, linger: Duration) -> anyhow::Result<()> {
    let mut lines = stdin_lines();
    let mut stdout = std::io::stdout().lock();
    let mut line_no = 0u64;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            // Ctrl-C closes as EOF does (if the signal cannot be watched, nothing changes).
            Ok(()) = &mut interrupted => break,
            line = lines.recv() => {
                let Some(line) = line else { break };
                let line = line.context("reading stdin")?;
                line_no += 1;
                let message = if binary {
                    Message::binary(line)
                } else {
                    match String::from_utf8(line) {
                        Ok(text) => Message::text(text),
                        Err(_) => {
                            let _ = ws.close(CloseCode::NORMAL, "").await;
                            bail!("stdin line {line_no} is not UTF-8 (--binary sends bytes)");
                        }
                    }
                };
                ws.send(message).await.context("sending")?;
            }
            received = ws.next() => match received {
                Some(Ok(message)) => match print_message(&mut stdout, message) {
                    Ok(Some(end)) => return end,
                    Ok(None) => {}
                    Err(err) => return Err(stdout_failed(ws, err).await),
                },
                Some(Err(err)) => bail!("the connection failed: {err}"),
                None => bail!("the connection ended without a close frame"),
            },
        }
    }

    // stdin ended: print replies until the server goes quiet for `linger` (many servers
    // drop replies still owed once our close arrives), then close.
    if !linger.is_zero() {
        let lingering = async {
            while let Ok(received) = tokio::time::timeout(linger, ws.next()).await {
                match received {
                    Some(Ok(message)) => match print_message(&mut stdout, message) {
                        Ok(Some(end)) => return Ok(Some(end)),
                        Ok(None) => {}
                        Err(err) => return Err(stdout_failed(ws, err).await),
                    },
                    Some(Err(err)) => bail!("the connection failed: {err}"),
                    None => bail!("the connection ended without a close frame"),
                }
            }
            Ok(None)
        };
        if let Ok(ended) =
            tokio::time::timeout(Duration::from_secs_f64(MAX_LINGER_S), lingering).await
        {
            if let Some(end) = ended? {
                return end;
            }
        }
    }
    // Close, and print what still arrives until the server's close.
    ws.send(Message::close(CloseCode::NORMAL, ""))
        .await
        .context("closing")?;
    let drain = async {
        while let Some(received) = ws.next().await {
            match received {
                Ok(message) => {
                    // Our close is sent already: a failed stdout just ends the command.
                    if print_message(&mut stdout, message)
                        .context("writing to stdout")?
                        .is_some()
                    {
                        break;
                    }
                }
                Err(err) => bail!("the connection failed while closing: {err}"),
            }
        }
        Ok(())
    };
    tokio::time::timeout(CLOSE_WAIT, drain)
        .await
        .map_err(|_| anyhow!("the server did not answer the close in {CLOSE_WAIT:?}"))?
}

/// stdout failed (most often its reader went away, as `| head` does): closes the
/// connection with 1001 (Going Away, RFC 6455 §7.4.1) rather than dropping it, within
/// [`CLOSE_WAIT`], and says that stdout is what failed.
async fn stdout_failed(ws: &mut net::ClientStream, err: std::io::Error) -> anyhow::Error {
    let _closed = tokio::time::timeout(CLOSE_WAIT, ws.close(CloseCode::GOING_AWAY, "")).await;
    anyhow::Error::new(err).context("writing to stdout")
}

/// Prints a data message; for the server's close, the result the command ends with.
///
/// # Errors
/// Writing to stdout failed.
fn print_message(
    out: &mut impl Write,
    message: Message,
) -> std::io::Result<Option<anyhow::Result<()>>> {
    match message {
        Message::Text(text) => {
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Message::Binary(data) => {
            out.write_all(&data)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Message::Close(frame) => {
            let end = match frame {
                None => Ok(()),
                Some(frame)
                    if frame.code == CloseCode::NORMAL || frame.code == CloseCode::GOING_AWAY =>
                {
                    Ok(())
                }
                Some(frame) => Err(anyhow!(
                    "the server closed with {} {:?}",
                    u16::from(frame.code),
                    frame.reason.as_str()
                )),
            };
            return Ok(Some(end));
        }
        Message::Ping(_) | Message::Pong(_) => {}
    }
    Ok(None)
}

/// Reads stdin on a plain thread (a blocked read must not hold up the runtime's exit),
/// one line at a time, with a small buffer between it and the connection.
fn stdin_lines() -> mpsc::Receiver<Line> {
    let (tx, rx) = mpsc::channel(16);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.blocking_send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(err) => {
                        let _ = tx.blocking_send(Err(err));
                        break;
                    }
                }
            }
        });
    if let Err(err) = spawned {
        // No reader: report it as the first (and last) line.
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(Err(err));
        return rx;
    }
    rx
}
