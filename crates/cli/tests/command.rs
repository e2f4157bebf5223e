//! Drives the built `wintergreen` binary: `listen` on 127.0.0.1:0, the interactive client
//! against it (HTTP/1.1, HTTP/2, TLS), refusals and their one-line reasons, and `bench`.
//! Every child process is bounded in time and killed when a test ends.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wintergreen");
/// The bound on any one run of the binary.
const LIMIT: Duration = Duration::from_secs(30);

/// A running `wintergreen listen`, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `wintergreen listen 127.0.0.1:0 ARGS…` and reads the URL it prints first.
fn listen(args: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .arg("listen")
        .arg("127.0.0.1:0")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wintergreen listen");
    let line = first_line(&mut child);
    let mut server = Server {
        child,
        url: String::new(),
    };
    server.url = line.expect("listen printed its URL");
    assert!(server.url.contains("://127.0.0.1:"), "{}", server.url);
    server
}

/// The first line a child prints on stdout (trimmed), waiting at most 15 s.
fn first_line(child: &mut Child) -> Result<String, mpsc::RecvTimeoutError> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line.trim().to_owned());
    });
    rx.recv_timeout(Duration::from_secs(15))
}

/// Runs the binary with `stdin`, bounded by [`LIMIT`].
fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wintergreen");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    // Read both pipes on threads so that a full pipe never blocks the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let status = wait_bounded(&mut child, args);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Waits for `child` (run with `args`) to exit, killing it past [`LIMIT`].
fn wait_bounded(child: &mut Child, args: &[&str]) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("wintergreen {args:?} ran past {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one `wintergreen: …` reason line of a failed run.
fn reason(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line of reason, got {stderr:?}");
    lines[0].to_owned()
}

#[test]
fn echo_over_http1_then_eof_closes_cleanly() {
    let server = listen(&[]);
    let output = run(&[&server.url], "hello\nwintergreen\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello\nwintergreen\n");
    assert!(text(&output.stderr).contains("HTTP/1.1"));
    // --quiet: nothing on stderr when all goes well.
    let output = run(&["-q", &server.url], "quiet\n");
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), "quiet\n");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn echo_over_http2_without_deflate() {
    let server = listen(&[]);
    let output = run(
        &["--http2", "require", "--no-deflate", &server.url],
        "hello\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello\n");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("HTTP/2"), "{stderr}");
    assert!(stderr.contains("extension: none"), "{stderr}");
}

#[test]
fn binary_and_subprotocol() {
    let server = listen(&["--protocol", "chat.v1"]);
    let output = run(
        &[
            "--binary",
            "--protocol",
            "chat.v1",
            "--header",
            "X-Test: 1",
            &server.url,
        ],
        "bytes\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "bytes\n");
    assert!(text(&output.stderr).contains("subprotocol: chat.v1"));
}

/// A server that answers every request with 403.
fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // One connection is all a test makes.
        if let Ok((mut tcp, _)) = listener.accept() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 16_384 {
                match tcp.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = tcp.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 7\r\nconnection: close\r\n\r\ngo away",
            );
        }
    });
    format!("ws://{addr}/")
}

#[test]
fn refused_upgrade_gives_its_status_in_one_line() {
    let url = refusing_server();
    let output = run(&[&url], "");
    let reason = reason(&output);
    assert!(reason.contains("refused"), "{reason}");
    assert!(reason.contains("403"), "{reason}");
}

#[test]
fn refused_tcp_connection_names_the_address() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = run(&[&format!("ws://127.0.0.1:{port}/")], "");
    let reason = reason(&output);
    assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
}

/// A one-connection HTTP CONNECT proxy on 127.0.0.1 that wants `user:pw` (Basic,
/// RFC 7617: base64 "dXNlcjpwdw=="): 407 without them, else a tunnel relayed by two
/// threads. Returns its URL and, once a request arrived, its CONNECT line.
fn connect_proxy() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        client.set_read_timeout(Some(LIMIT)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
            if client.read(&mut byte).unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let head = text(&head);
        let line = head.lines().next().unwrap_or_default().to_owned();
        let _ = tx.send(line.clone());
        if !head.contains("Proxy-Authorization: Basic dXNlcjpwdw==\r\n") {
            let _ = client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        }
        let target = line.split(' ').nth(1).unwrap().to_owned();
        let server = std::net::TcpStream::connect(target).unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut c2, &mut s2));
        let (mut server, mut client) = (server, client);
        let _ = std::io::copy(&mut server, &mut client);
    });
    (url, rx)
}

#[test]
fn proxy_tunnels_with_credentials() {
    let server = listen(&[]);
    let (proxy, seen) = connect_proxy();
    let proxy = proxy.replace("http://", "http://user:pw@");
    let output = run(&["--proxy", &proxy, &server.url], "through\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "through\n");
    let authority = server.url.split('/').nth(2).unwrap();
    assert_eq!(
        seen.recv().unwrap(),
        format!("CONNECT {authority} HTTP/1.1")
    );
}

#[test]
fn proxy_wanting_credentials_gives_407_in_one_line() {
    let server = listen(&[]);
    let (proxy, _seen) = connect_proxy();
    let output = run(&["--proxy", &proxy, &server.url], "");
    let why = reason(&output);
    assert!(why.contains("credentials"), "{why}");
    assert!(why.contains("407"), "{why}");
    let output = run(&["--proxy", "ftp://127.0.0.1:1", &server.url], "");
    assert!(reason(&output).contains("--proxy"));
}

#[test]
fn help_is_a_manual_with_examples() {
    let output = run(&["--help"], "");
    assert!(output.status.success());
    let help = text(&output.stdout);
    for needle in [
        "EXAMPLES:",
        "EXIT STATUS:",
        "--insecure",
        "DANGEROUS",
        "listen",
        "bench",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}

#[test]
fn bench_against_listen_prints_the_table() {
    let server = listen(&[]);
    let output = run(
        &[
            "bench",
            &server.url,
            "--conns",
            "2",
            "--size",
            "256",
            "--duration",
            "1",
        ],
        "",
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}{stdout}", text(&output.stderr));
    for row in [
        "messages/s",
        "MB/s",
        "latency p50",
        "latency p99",
        "latency p99.9",
        "errors",
        "wire out",
        "wire in",
        "deflate out",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
    let errors = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("errors"))
        .unwrap();
    assert!(errors.trim_end().ends_with(" 0"), "{errors}");
}

#[test]
fn stats_on_exit_count_what_crossed() {
    let server = listen(&["--no-deflate"]);
    let output = run(
        &["--stats", &server.url],
        "hello
wintergreen
",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let line = stderr
        .lines()
        .find(|line| line.starts_with("wintergreen: stats: "))
        .unwrap_or_else(|| panic!("no stats line in {stderr:?}"));
    // Two echoed text messages of 5 and 11 bytes, each way; no deflate was agreed.
    let payload = "hello".len() + "wintergreen".len();
    assert!(
        line.contains(&format!("in 2 msgs / {payload} B payload")),
        "{line}"
    );
    assert!(
        line.contains(&format!("out 2 msgs / {payload} B payload")),
        "{line}"
    );
    assert!(line.contains("deflate in n/a out n/a"), "{line}");
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wintergreen-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A CA and a `localhost` certificate it signed, as PEM files: (ca, cert, key).
fn pki(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn tls_listen_with_ca_untrusted_and_insecure() {
    let dir = scratch("tls");
    let (ca, cert, key) = pki(&dir);
    let server = listen(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let url = server.url.replace("127.0.0.1", "localhost");
    assert!(url.starts_with("wss://"), "{url}");

    // Trusting the CA: the echo, over HTTP/1.1 and over HTTP/2 (ALPN h2).
    let output = run(&["--ca", ca.to_str().unwrap(), &url], "secure\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "secure\n");
    let output = run(
        &["--ca", ca.to_str().unwrap(), "--http2", "require", &url],
        "h2\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "h2\n");

    // The built-in roots do not know this CA.
    let output = run(&[&url], "");
    let reason = reason(&output);
    assert!(reason.contains("not trusted"), "{reason}");

    // --insecure connects, and says loudly what it gave up.
    let output = run(&["--insecure", &url], "anyway\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "anyway\n");
    assert!(text(&output.stderr).contains("WARNING"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn broadcast_reaches_every_client() {
    let server = listen(&["--broadcast"]);
    // A listener: connected, stdin held open.
    let mut a = Command::new(BIN)
        .arg(&server.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = a.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("connected") {
                let _ = tx.send(());
            }
        }
    });
    let connected = rx.recv_timeout(Duration::from_secs(10));
    if connected.is_err() {
        let _ = a.kill();
        panic!("the first client did not connect");
    }
    // A speaker, which closes right after (so it may or may not see its own message
    // before the close handshake starts).
    let output = run(&[&server.url], "to everyone\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    // The listener got it too; ending its stdin closes it.
    let mut stdout = a.stdout.take().unwrap();
    let mut line = [0u8; 12];
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(stdout.read_exact(&mut line).map(|()| line));
    });
    let got = rx.recv_timeout(Duration::from_secs(10));
    drop(a.stdin.take());
    let started = Instant::now();
    while a.try_wait().unwrap().is_none() && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = a.kill();
    assert_eq!(&got.unwrap().unwrap(), b"to everyone\n");
}

#[test]
fn silent_server_times_out_in_one_line() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts, reads nothing, answers nothing; the socket lives as long as the test.
    let held = std::thread::spawn(move || {
        let accepted = listener.accept();
        std::thread::sleep(Duration::from_secs(3));
        drop(accepted);
    });
    let output = run(&["--timeout", "1", &format!("ws://{addr}/")], "");
    let reason = reason(&output);
    assert!(reason.contains("timed out"), "{reason}");
    let _ = held.join();
}

#[test]
fn bench_shares_one_http2_connection() {
    let server = listen(&[]);
    let output = run(
        &[
            "bench",
            &server.url,
            "--shared",
            "--conns",
            "3",
            "--duration",
            "1",
        ],
        "",
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}{stdout}", text(&output.stderr));
    assert!(
        stdout.contains("3 WebSockets sharing one connection over HTTP/2"),
        "{stdout}"
    );
    assert!(stdout.contains("latency p99.9"), "{stdout}");
}

/// The Python with the `websockets` library that the interop tests use.
fn python() -> String {
    std::env::var("WINTERGREEN_PYTHON").expect(
        "WINTERGREEN_PYTHON: a python with `websockets` (e.g. target/interop-venv/bin/python)",
    )
}

/// An echo server on Python `websockets` (permessage-deflate on, its default) on an
/// ephemeral port; prints the port first.
const PY_ECHO_SERVER: &str = r#"
import asyncio
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(30)

asyncio.run(main())
"#;

/// A Python `websockets` client: one echo, then prints the negotiated extension.
const PY_CLIENT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url):
    async with connect(url) as ws:
        await ws.send("from python")
        assert await ws.recv() == "from python"
        await ws.send(b"\x00\x01")
        assert await ws.recv() == b"\x00\x01"
        print(ws.response.headers.get("Sec-WebSocket-Extensions", "none"))

asyncio.run(asyncio.wait_for(main(sys.argv[1]), 20))
"#;

#[test]
#[ignore = "needs WINTERGREEN_PYTHON (a python with `websockets`); run with --ignored"]
fn interop_with_python_websockets() {
    // Our client against their server.
    let mut server = Command::new(python())
        .args(["-c", PY_ECHO_SERVER])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = first_line(&mut server).map(|port| format!("ws://127.0.0.1:{port}/"));
    let output = url.as_ref().map(|url| run(&[url], "hello python\n"));
    let _ = server.kill();
    let _ = server.wait();
    let output = output.expect("the Python server printed its port");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello python\n");
    assert!(
        text(&output.stderr).contains("extension: permessage-deflate"),
        "{}",
        text(&output.stderr)
    );

    // Their client against our server.
    let ours = listen(&[]);
    let output = Command::new(python())
        .args(["-c", PY_CLIENT, &ours.url])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("permessage-deflate"),
        "{}",
        text(&output.stdout)
    );
}

/// Starts `wintergreen listen 127.0.0.1:0 ARGS…` with its stderr log lines sent to the
/// receiver.
fn listen_logged(args: &[&str]) -> (Server, mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(["listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wintergreen listen");
    let stderr = child.stderr.take().unwrap();
    let url = first_line(&mut child).expect("listen printed its URL");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Server { child, url }, rx)
}

/// The first log line containing `needle`, waiting at most 10 s.
fn log_line(log: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

#[test]
fn a_closed_stdout_is_named_and_the_server_gets_going_away() {
    let (server, log) = listen_logged(&[]);
    // Its stdout's reader is gone before the echo arrives (as with `| head -c0`).
    let mut child = Command::new(BIN)
        .args(["-q", &server.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wintergreen");
    drop(child.stdout.take());
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let status = wait_bounded(&mut child, &["-q", &server.url]);
    let mut reason = String::new();
    stderr.read_to_string(&mut reason).unwrap();
    assert!(!status.success());
    assert!(reason.contains("writing to stdout"), "{reason}");
    // The server saw a close frame (1001), not a dropped connection (1006).
    let closed = log_line(&log, " after ");
    assert!(closed.contains("closed by the peer (1001)"), "{closed}");
}

/// A WebSocket client written by hand (no extension offered): the TCP stream after the
/// server's 101 head, with reads bounded by 10 s.
fn raw_client(addr: &str) -> std::net::TcpStream {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    // The head, a byte at a time so that nothing after it is taken (at most 4 KiB).
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        tcp.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{}", text(&head));
    tcp
}

#[test]
fn a_broadcast_client_that_never_reads_holds_a_bounded_backlog() {
    let (server, log) = listen_logged(&["--broadcast"]);
    let addr = server.url.trim_start_matches("ws://").trim_end_matches('/');
    // Reads nothing, so every message relayed to it stays in the hub's backlog.
    let _stalled = raw_client(addr);
    let sender = raw_client(addr);
    // The sender takes what the hub relays to it, until the server closes or 10 s pass.
    let mut drain = sender.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0; 64 << 10];
        while matches!(drain.read(&mut buf), Ok(n) if n > 0) {}
    });
    // 48 binary messages of 1 MiB, masked with the all-zero key (RFC 6455 §5.3): far over
    // the 16 MiB the hub may hold for the stalled client, whose socket takes a few MiB.
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&(1u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.resize(frame.len() + (1 << 20), b'x');
    let mut sender = sender;
    for _ in 0..48 {
        if sender.write_all(&frame).is_err() {
            break;
        }
    }
    let dropped = log_line(&log, "message dropped");
    assert!(dropped.contains("broadcast backlog holds"), "{dropped}");
}

#[test]
fn listen_blames_a_garbage_client_not_the_server() {
    let (server, rx) = listen_logged(&[]);
    let addr = server.url.trim_start_matches("ws://").trim_end_matches('/');
    let mut garbage = std::net::TcpStream::connect(addr).unwrap();
    garbage.write_all(b"GARBAGE \x00\xff\r\n\r\n").unwrap();
    let local = garbage.local_addr().unwrap().to_string();
    // The first stderr line that names this client (after the "listening" line).
    let line = log_line(&rx, &local);
    assert!(line.contains("client's HTTP/1.1 request"), "{line}");
    assert!(!line.contains("server"), "{line}");
    // Still serving.
    let output = run(&[&server.url], "hello\n");
    assert!(output.status.success(), "{}", reason(&output));
}
