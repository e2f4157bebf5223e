//! The facade's defaults: the one set, [`ClientOptions::default`] and
//! [`ServerOptions::default`] (with the `deflate` feature, permessage-deflate is offered
//! and accepted), named here for discoverability.

use wintergreen_connect::{ClientOptions, ServerOptions};

/// The default client options: [`ClientOptions::default`] (with the `deflate` feature, an
/// offer of permessage-deflate).
pub fn client_options() -> ClientOptions {
    ClientOptions::default()
}

/// The default server options: [`ServerOptions::default`] (with the `deflate` feature,
/// permessage-deflate is accepted when a client offers it).
pub fn server_options() -> ServerOptions {
    ServerOptions::default()
}
