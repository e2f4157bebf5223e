//! The per-runtime modules (`wintergreen::tokio`, `wintergreen::smol`,
//! `wintergreen::async_std`): one definition, instantiated for each enabled runtime. Each
//! is the one connect/accept path of wintergreen-connect on that runtime.

/// Defines a runtime module's functions for `$runtime` (a unit struct implementing
/// [`Runtime`](wintergreen_stream::Runtime)).
#[allow(unused_macros)] // with no runtime feature on, nothing instantiates it
macro_rules! runtime_api {
    ($runtime:expr) => {
        use std::sync::Arc;

        pub use wintergreen_connect::Transport;
        use wintergreen_connect::{ClientOptions, ConnectError, IntoClientRequest, ServerOptions};
        use wintergreen_stream::{Runtime, WebSocketStream};

        /// This runtime, as the `Arc<dyn Runtime>` the connect path takes: one shared
        /// value, so a connection holds a reference to it, not an allocation of its own.
        pub fn runtime() -> Arc<dyn Runtime> {
            static RUNTIME: std::sync::OnceLock<Arc<dyn Runtime>> = std::sync::OnceLock::new();
            Arc::clone(RUNTIME.get_or_init(|| Arc::new($runtime)))
        }

        /// Connects to a `ws://` or `wss://` URL with the default options (with the
        /// `deflate` feature, offering permessage-deflate). The future is boxed: see
        /// [the crate docs](crate#memory-per-connection).
        ///
        /// # Errors
        /// See [`ConnectError`].
        pub fn connect<R: IntoClientRequest>(
            request: R,
        ) -> impl Future<
            Output = Result<(WebSocketStream<Transport>, http::Response<()>), ConnectError>,
        > + use<R> {
            Box::pin(async move { connect_with(request, &ClientOptions::default()).await })
        }

        /// Connects with explicit options: see [`wintergreen_connect::connect`]. The
        /// future is boxed: see [the crate docs](crate#memory-per-connection).
        ///
        /// # Errors
        /// See [`ConnectError`].
        pub fn connect_with<'a, R: IntoClientRequest + 'a>(
            request: R,
            options: &'a ClientOptions,
        ) -> impl Future<
            Output = Result<(WebSocketStream<Transport>, http::Response<()>), ConnectError>,
        > + use<'a, R> {
            Box::pin(async move { wintergreen_connect::connect(&runtime(), request, options).await })
        }

        /// Runs the client handshake over a byte stream already connected: see
        /// [`wintergreen_connect::handshake`].
        ///
        /// # Errors
        /// See [`ConnectError`].
        pub fn handshake_with<'a, IO>(
            io: IO,
            request: http::Request<()>,
            options: &'a ClientOptions,
        ) -> impl Future<Output = Result<(WebSocketStream<IO>, http::Response<()>), ConnectError>>
        + use<'a, IO>
        where
            IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin + 'a,
        {
            Box::pin(async move {
                wintergreen_connect::handshake(&runtime(), io, request, options).await
            })
        }

        /// Accepts a WebSocket on an incoming byte stream with the default options (with
        /// the `deflate` feature, accepting permessage-deflate). A futures-io stream goes
        /// through [`compat`](crate::stream::compat). The future is boxed: see
        /// [the crate docs](crate#memory-per-connection).
        ///
        /// # Errors
        /// See [`ConnectError`]; a refusal has been written to the client.
        pub fn accept<IO>(
            io: IO,
        ) -> impl Future<Output = Result<(WebSocketStream<IO>, http::Request<()>), ConnectError>>
        + use<IO>
        where
            IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin,
        {
            Box::pin(async move {
                wintergreen_connect::accept(&runtime(), io, &ServerOptions::default()).await
            })
        }

        /// Accepts with explicit options: see [`wintergreen_connect::accept`]. The future
        /// is boxed: see [the crate docs](crate#memory-per-connection).
        ///
        /// # Errors
        /// See [`ConnectError`].
        pub fn accept_with<'a, IO>(
            io: IO,
            options: &'a ServerOptions,
        ) -> impl Future<Output = Result<(WebSocketStream<IO>, http::Request<()>), ConnectError>>
        + use<'a, IO>
        where
            IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin + 'a,
        {
            Box::pin(async move { wintergreen_connect::accept(&runtime(), io, options).await })
        }

        /// WebSockets over HTTP/2 (RFC 8441) on this runtime: shared connections and
        /// servers. See [`wintergreen_connect::http2`].
        #[cfg(feature = "http2")]
        pub mod http2 {
            use super::*;
            pub use wintergreen_connect::http2::*;

            /// Opens a shared HTTP/2 connection: see [`wintergreen_connect::http2::connect`].
            ///
            /// # Errors
            /// See [`ConnectError`].
            pub async fn connect(
                url: impl IntoClientRequest,
                options: &ClientOptions,
            ) -> Result<Http2Client, ConnectError> {
                wintergreen_connect::http2::connect(&runtime(), url, options).await
            }

            /// Serves WebSockets over HTTP/2 on an incoming byte stream: see
            /// [`wintergreen_connect::http2::accept`].
            ///
            /// # Errors
            /// See [`ConnectError`].
            pub async fn accept<IO>(
                io: IO,
                options: &ServerOptions,
            ) -> Result<Http2Acceptor, ConnectError>
            where
                IO: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin + Send + 'static,
            {
                wintergreen_connect::http2::accept(&runtime(), io, options).await
            }
        }
    };
}

/// The tokio runtime: [`Tokio`](wintergreen_tokio::Tokio) and the connect/accept path on it.
#[cfg(feature = "runtime-tokio")]
pub mod tokio {
    pub use wintergreen_tokio::Tokio;
    runtime_api!(wintergreen_tokio::Tokio);
}

/// The smol runtime: [`Smol`](wintergreen_smol::Smol) and the connect/accept path on it
/// (same shape as [`tokio`](mod@tokio)).
#[cfg(feature = "runtime-smol")]
pub mod smol {
    pub use wintergreen_smol::Smol;
    runtime_api!(wintergreen_smol::Smol);
}

/// The async-std runtime: [`AsyncStd`](wintergreen_async_std::AsyncStd) and the
/// connect/accept path on it (same shape as [`tokio`](mod@tokio)). async-std is
/// discontinued upstream: prefer [`smol`](mod@smol).
#[cfg(feature = "runtime-async-std")]
pub mod async_std {
    pub use wintergreen_async_std::AsyncStd;
    runtime_api!(wintergreen_async_std::AsyncStd);
}
