#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Options the tokio adapter must honour or refuse.

#[allow(unused_imports)] // every test here is for a build without http2 or rustls
use wintergreen_stream::{ClientOptions, Error, Http2Mode};

/// Without the `http2` feature, asking for HTTP/2 is a typed error, not a silent HTTP/1.1.
#[cfg(not(feature = "http2"))]
#[tokio::test]
async fn http2_modes_need_the_http2_feature() {
    for mode in [Http2Mode::Prefer, Http2Mode::Require] {
        let options = ClientOptions::default().http2(mode);
        let err = wintergreen_tokio::connect_with("ws://127.0.0.1:9/", &options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Http2Unavailable), "{err:?}");
    }
}

/// Without the `rustls` feature, `wss://` is a typed error in every mode.
#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn wss_without_tls_is_refused_in_every_mode() {
    for mode in [Http2Mode::Off, Http2Mode::Prefer, Http2Mode::Require] {
        let options = ClientOptions::default().http2(mode);
        let err = wintergreen_tokio::connect_with("wss://127.0.0.1:9/", &options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TlsUnavailable), "{err:?}");
    }
}
