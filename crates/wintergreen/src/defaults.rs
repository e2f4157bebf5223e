//! The facade's defaults: what the enabled features add to the runtime-agnostic options.

use wintergreen_stream::{ClientOptions, ServerOptions};

/// Client options with the facade's defaults: with the `deflate` feature, an offer of
/// permessage-deflate (`client_max_window_bits`, context takeover, level 1).
pub fn client_options() -> ClientOptions {
    let options = ClientOptions::default();
    #[cfg(feature = "deflate")]
    let options = options.extension(std::sync::Arc::new(
        wintergreen_deflate::DeflateFactory::client_default(),
    ));
    options
}

/// Server options with the facade's defaults: with the `deflate` feature, permessage-deflate
/// is accepted when a client offers it.
pub fn server_options() -> ServerOptions {
    #[allow(unused_mut)]
    let mut options = ServerOptions::default();
    #[cfg(feature = "deflate")]
    {
        options.server.policy = options.server.policy.extension(std::sync::Arc::new(
            wintergreen_deflate::DeflateFactory::server_default(),
        ));
    }
    options
}

/// Connects to a `ws://` URL on tokio with the facade's defaults ([`client_options`]).
///
/// Returns the stream and the server's response.
///
/// # Errors
/// A bad URL, a failed DNS lookup or connect, a refused or invalid handshake, a timeout.
#[cfg(feature = "runtime-tokio")]
pub async fn connect(
    request: impl wintergreen_stream::IntoClientRequest,
) -> Result<
    (
        wintergreen_stream::WebSocketStream<wintergreen_tokio::Transport>,
        http::Response<()>,
    ),
    wintergreen_stream::Error,
> {
    wintergreen_tokio::connect_with(request, &client_options()).await
}

/// Accepts a WebSocket on an incoming byte stream on tokio with the facade's defaults
/// ([`server_options`]).
///
/// # Errors
/// An invalid or refused upgrade request (the rejection has been written), I/O errors, or
/// the handshake timeout.
#[cfg(feature = "runtime-tokio")]
pub async fn accept<IO>(
    io: IO,
) -> Result<(wintergreen_stream::WebSocketStream<IO>, http::Request<()>), wintergreen_stream::Error>
where
    IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin,
{
    wintergreen_tokio::accept_with(io, &server_options()).await
}
