#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! What a build without a feature must refuse, typed, rather than silently do otherwise.

#[allow(unused_imports)] // every test here is for a build without http2 or rustls
use wintergreen_connect::{ClientOptions, ConnectError, Http2Mode};

#[allow(dead_code)]
fn runtime() -> std::sync::Arc<dyn wintergreen_stream::Runtime> {
    std::sync::Arc::new(wintergreen_tokio::Tokio)
}

/// Without the `http2` feature, asking for HTTP/2 is a typed error, not a silent HTTP/1.1.
#[cfg(not(feature = "http2"))]
#[tokio::test]
async fn http2_modes_need_the_http2_feature() {
    for mode in [Http2Mode::Prefer, Http2Mode::Require] {
        let mut options = ClientOptions::default();
        options.connect.http2 = mode;
        let err = wintergreen_connect::connect(&runtime(), "ws://127.0.0.1:9/", &options)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Http2Unavailable), "{err:?}");
    }
}

/// Without the `rustls` feature, `wss://` is a typed error in every mode.
#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn wss_without_tls_is_refused_in_every_mode() {
    for mode in [Http2Mode::Off, Http2Mode::Prefer, Http2Mode::Require] {
        let mut options = ClientOptions::default();
        options.connect.http2 = mode;
        let err = wintergreen_connect::connect(&runtime(), "wss://127.0.0.1:9/", &options)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::TlsUnavailable), "{err:?}");
    }
}
