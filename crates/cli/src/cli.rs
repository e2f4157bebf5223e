//! The command line (clap, derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const MAIN_HELP: &str = "\
EXAMPLES:
    Talk to a server: each line you type is a text message, each message received is
    printed on its own line. End input (Ctrl-D), or Ctrl-C, to close cleanly: after
    EOF, replies are printed until the server has been quiet for --linger seconds.
        echo hello | wintergreen ws://127.0.0.1:8080/
        wintergreen wss://echo.example.com/ws

    WebSockets over HTTP/2 (RFC 8441) when the server offers it, with a subprotocol and a
    header:
        wintergreen --http2 prefer --protocol chat.v1 \\
            --header 'Authorization: Bearer TOKEN' wss://example.com/chat

    Send a file's lines as binary messages, without permessage-deflate:
        wintergreen --binary --no-deflate ws://127.0.0.1:8080/ < lines.txt

    Trust a private CA (PEM), instead of the built-in roots:
        wintergreen --ca ca.pem wss://internal.example:8443/

    An echo server on HTTP/1.1 and h2c, then a load test against it:
        wintergreen listen 127.0.0.1:8080
        wintergreen bench ws://127.0.0.1:8080/ --conns 16 --size 1024 --duration 10

EXIT STATUS:
    0 when the connection closed cleanly (stdin ended, or the server closed with 1000 or
    1001); 1 with a one-line reason on stderr otherwise: the server refused the upgrade
    (and its status), the certificate is not trusted, a timeout, a name that does not
    resolve, a refused TCP connection, a protocol error.

OUTPUT:
    Text messages are printed as they are, binary messages as their raw bytes, each
    followed by a newline. Diagnostics go to stderr.";

const LISTEN_HELP: &str = "\
Serves WebSockets over HTTP/1.1 (RFC 6455 upgrade) and HTTP/2 (RFC 8441 extended CONNECT)
on one port: without TLS, an HTTP/2 client speaks h2c with prior knowledge; with --cert
and --key, ALPN picks h2 or http/1.1. The first line on stdout is the URL it listens on
(useful with port 0); each connection is logged on stderr with its HTTP version,
subprotocol and extension.

EXAMPLES:
    wintergreen listen 127.0.0.1:8080
    wintergreen listen 0.0.0.0:8443 --cert cert.pem --key key.pem --protocol chat.v1
    wintergreen listen 127.0.0.1:0 --broadcast      # a chat room: every message to all";

const BENCH_HELP: &str = "\
Opens N connections; each sends a binary message of B bytes, waits for its echo and
records the round trip, for S seconds. A progress bar shows on a terminal (stderr). At the
end a table on stdout: messages/s (echoed round trips), MB/s (echoed payload, each way),
latency p50/p99/p99.9, errors, wire vs payload bytes and the deflate ratio (from the
connections' statistics, summed). Point it at an echo server (wintergreen listen).
Ctrl-C ends the run early; the table covers what was measured.

EXAMPLES:
    wintergreen bench ws://127.0.0.1:8080/ --conns 64 --size 1024 --duration 10
    wintergreen bench ws://127.0.0.1:8080/ --http2 require --conns 8 --size 16384
    wintergreen bench ws://127.0.0.1:8080/ --shared --conns 100   # 100 streams, 1 HTTP/2 connection";

/// An interactive WebSocket client, an echo/broadcast server and a load generator,
/// over HTTP/1.1 and HTTP/2 (RFC 6455, RFC 8441), with permessage-deflate (RFC 7692).
#[derive(Debug, Parser)]
#[command(
    name = "wintergreen",
    version,
    after_long_help = MAIN_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) connect: ConnectArgs,

    /// Send stdin lines as binary messages instead of text.
    #[arg(long)]
    pub(crate) binary: bool,

    /// After stdin ends, keep printing replies until none has come for this many seconds,
    /// then close (0: close at once; a peer may then drop replies still in flight).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub(crate) linger: f64,

    /// Print no "connected" line on stderr: only failures (and the --insecure warning).
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// On exit, print the connection's statistics on stderr: messages, payload and wire
    /// bytes each way, frames, pings/pongs, and the deflate ratio (compressed/original).
    #[arg(long)]
    pub(crate) stats: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// An echo (or broadcast) server over HTTP/1.1 and HTTP/2 on one port.
    #[command(after_long_help = LISTEN_HELP)]
    Listen(ListenArgs),
    /// A load generator: round trips against an echo server, then a table.
    #[command(after_long_help = BENCH_HELP)]
    Bench(BenchArgs),
}

/// How to use HTTP/2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Http2Arg {
    /// Use HTTP/2 when the server offers it (ALPN h2 over TLS; for ws://, h2c with prior
    /// knowledge, falling back on a new connection), else HTTP/1.1.
    Prefer,
    /// HTTP/2 or fail (h2c with prior knowledge for ws://).
    Require,
}

/// How to connect: shared by the interactive client and `bench`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The server's URL: ws://HOST[:PORT]/PATH or wss://HOST[:PORT]/PATH.
    #[arg(required = true, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Open the WebSocket over HTTP/2 (RFC 8441): prefer (fall back to HTTP/1.1) or
    /// require. Default: HTTP/1.1.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) http2: Option<Http2Arg>,

    /// Do not offer permessage-deflate.
    #[arg(long)]
    pub(crate) no_deflate: bool,

    /// Offer a subprotocol (repeatable, in order of preference).
    #[arg(long, value_name = "P")]
    pub(crate) protocol: Vec<String>,

    /// Add a header to the upgrade request, 'Name: value' (repeatable).
    #[arg(long, value_name = "'NAME: VALUE'")]
    pub(crate) header: Vec<String>,

    /// Trust only the CA certificates in this PEM file (instead of the built-in roots).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,

    /// DANGEROUS: accept ANY server certificate, so anyone on the path can read and change
    /// the traffic. For testing only.
    #[arg(long, conflicts_with = "ca")]
    pub(crate) insecure: bool,

    /// Connect through a proxy: http://[USER:PASS@]HOST:PORT (HTTP CONNECT),
    /// socks5://… (SOCKS5, name resolved here) or socks5h://… (resolved by the proxy).
    /// Without it, no proxy is used, whatever the environment says.
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,

    /// Seconds allowed for DNS+TCP, and for the TLS and opening handshakes. Default: the
    /// library's (30 s each).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(value_name = "ADDR")]
    pub(crate) addr: String,

    /// Send every message to every connected client (a chat room) instead of echoing it.
    /// A client more than 1024 messages behind misses some; while clients that do not read
    /// hold 16 MiB of messages, new ones are dropped (and logged).
    #[arg(long)]
    pub(crate) broadcast: bool,

    /// Support a subprotocol (repeatable, in order of preference).
    #[arg(long, value_name = "P")]
    pub(crate) protocol: Vec<String>,

    /// Do not accept permessage-deflate.
    #[arg(long)]
    pub(crate) no_deflate: bool,

    /// Serve TLS (wss://) with this certificate chain (PEM); needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,

    /// The private key (PEM) for --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,

    /// Concurrent connections.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(crate) conns: usize,

    /// Payload bytes per message.
    #[arg(long, value_name = "B", default_value_t = 1024)]
    pub(crate) size: usize,

    /// Seconds to run.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub(crate) duration: f64,

    /// Open all the WebSockets as streams of ONE HTTP/2 connection (RFC 8441) instead of a
    /// connection each.
    #[arg(long)]
    pub(crate) shared: bool,
}
