//! The four extension parameters of RFC 7692 §7.1: their values, how they are written into
//! an offer or an answer, and how they are read back, strictly.

use std::fmt;

use wintergreen_codec::ExtensionParams;

use crate::error::NegotiationError;

/// The extension's token.
pub const EXTENSION_NAME: &str = "permessage-deflate";

pub(crate) const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
pub(crate) const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
pub(crate) const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
pub(crate) const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The base-2 logarithm of an LZ77 sliding window: 8 (256 bytes) to 15 (32 KiB), the range
/// RFC 7692 §7.1.2 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowBits(u8);

impl WindowBits {
    /// The smallest window: 8 bits, 256 bytes.
    pub const MIN: Self = Self(8);
    /// The largest window and the default when a parameter is absent: 15 bits, 32 KiB.
    pub const MAX: Self = Self(15);

    /// `bits` if it lies in `8..=15`.
    pub const fn new(bits: u8) -> Option<Self> {
        if bits >= Self::MIN.0 && bits <= Self::MAX.0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The number of bits.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The window's size in bytes (`1 << bits`).
    pub const fn window_size(self) -> usize {
        1 << self.0
    }

    /// Reads a parameter value: a decimal integer from 8 to 15 without leading zeros
    /// (RFC 7692 §7.1.2.1). Anything else (`7`, `16`, `09`, `+9`, ` 9`, `"9"`) is refused.
    fn parse(value: &str) -> Option<Self> {
        match value.as_bytes() {
            [digit @ b'8'..=b'9'] => Self::new(digit - b'0'),
            [b'1', digit @ b'0'..=b'5'] => Self::new(10 + digit - b'0'),
            _ => None,
        }
    }
}

impl Default for WindowBits {
    fn default() -> Self {
        Self::MAX
    }
}

impl TryFrom<u8> for WindowBits {
    type Error = InvalidWindowBits;

    fn try_from(bits: u8) -> Result<Self, Self::Error> {
        Self::new(bits).ok_or(InvalidWindowBits(bits))
    }
}

impl From<WindowBits> for u8 {
    fn from(bits: WindowBits) -> Self {
        bits.0
    }
}

impl fmt::Display for WindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A window-bits value outside `8..=15`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidWindowBits(pub u8);

impl fmt::Display for InvalidWindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "window bits {} outside 8..=15", self.0)
    }
}

impl std::error::Error for InvalidWindowBits {}

/// How an offer carries `client_max_window_bits` (RFC 7692 §7.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClientMaxWindowBits {
    /// Not in the offer: the server may not limit the client's window, and the client
    /// compresses with a 32 KiB window.
    #[default]
    Omitted,
    /// Present without a value: the client lets the server pick its window (the answer's
    /// value, or 15 when the answer has none).
    Supported,
    /// Present with a value: the client compresses with at most this window, and the server
    /// may answer with a smaller one.
    Max(WindowBits),
}

/// One permessage-deflate offer a client makes: which of the four parameters it carries.
///
/// ```
/// use wintergreen_deflate::{DeflateOffer, WindowBits};
///
/// // permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits
/// let offer = DeflateOffer::new()
///     .server_no_context_takeover(true)
///     .server_max_window_bits(WindowBits::new(10))
///     .client_max_window_bits_supported();
/// assert_eq!(
///     offer.to_params().to_string(),
///     "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct DeflateOffer {
    /// Ask the server to reset its compression context after each message, so that the
    /// client need not keep the server's history between messages.
    pub server_no_context_takeover: bool,
    /// Announce that the client resets its own context after each message (it will, once
    /// this offer is accepted).
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with (`None`: any, up to 15).
    pub server_max_window_bits: Option<WindowBits>,
    /// Whether and how the client lets the server limit the client's window.
    pub client_max_window_bits: ClientMaxWindowBits,
}

impl DeflateOffer {
    /// A bare `permessage-deflate` offer (no parameters).
    pub const fn new() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: ClientMaxWindowBits::Omitted,
        }
    }

    /// Sets [`server_no_context_takeover`](Self::server_no_context_takeover).
    #[must_use]
    pub const fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`client_no_context_takeover`](Self::client_no_context_takeover).
    #[must_use]
    pub const fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`server_max_window_bits`](Self::server_max_window_bits).
    #[must_use]
    pub const fn server_max_window_bits(mut self, bits: Option<WindowBits>) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Offers `client_max_window_bits=bits`: the client compresses with at most `bits`.
    #[must_use]
    pub const fn client_max_window_bits(mut self, bits: WindowBits) -> Self {
        self.client_max_window_bits = ClientMaxWindowBits::Max(bits);
        self
    }

    /// Offers `client_max_window_bits` with no value: the server may pick the client's window.
    #[must_use]
    pub const fn client_max_window_bits_supported(mut self) -> Self {
        self.client_max_window_bits = ClientMaxWindowBits::Supported;
        self
    }

    /// The offer as a `Sec-WebSocket-Extensions` element.
    pub fn to_params(&self) -> ExtensionParams {
        let mut params = ExtensionParams::new(EXTENSION_NAME);
        if self.server_no_context_takeover {
            params = params.param(SERVER_NO_CONTEXT_TAKEOVER, None);
        }
        if self.client_no_context_takeover {
            params = params.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
        }
        if let Some(bits) = self.server_max_window_bits {
            params = params.param(SERVER_MAX_WINDOW_BITS, Some(bits.to_string()));
        }
        match self.client_max_window_bits {
            ClientMaxWindowBits::Omitted => {}
            ClientMaxWindowBits::Supported => params = params.param(CLIENT_MAX_WINDOW_BITS, None),
            ClientMaxWindowBits::Max(bits) => {
                params = params.param(CLIENT_MAX_WINDOW_BITS, Some(bits.to_string()));
            }
        }
        params
    }

    /// Reads a client's offer strictly (RFC 7692 §7: unknown or repeated parameters and bad
    /// values are errors; a server declines such an offer).
    pub fn parse(offer: &ExtensionParams) -> Result<Self, NegotiationError> {
        let raw = RawParams::parse(offer, Side::Offer)?;
        Ok(Self {
            server_no_context_takeover: raw.server_no_context_takeover,
            client_no_context_takeover: raw.client_no_context_takeover,
            server_max_window_bits: raw.server_max_window_bits,
            client_max_window_bits: match raw.client_max_window_bits {
                None => ClientMaxWindowBits::Omitted,
                Some(None) => ClientMaxWindowBits::Supported,
                Some(Some(bits)) => ClientMaxWindowBits::Max(bits),
            },
        })
    }
}

/// The parameters both ends agreed on: what each side compresses with.
///
/// The window values are the effective ones (15 where the handshake named none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with.
    pub server_max_window_bits: WindowBits,
    /// The largest window the client compresses with.
    pub client_max_window_bits: WindowBits,
}

impl Default for DeflateParams {
    /// What a bare `permessage-deflate` agreement means: context takeover both ways,
    /// 32 KiB windows.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::MAX,
        }
    }
}

impl DeflateParams {
    /// Agreed parameters (builder style, starting from [`Default`]).
    pub const fn new(
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        server_max_window_bits: WindowBits,
        client_max_window_bits: WindowBits,
    ) -> Self {
        Self {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        }
    }
}

/// Which element is being read: an offer allows `client_max_window_bits` without a value,
/// an answer does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Offer,
    Response,
}

/// The parameters exactly as one element carries them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawParams {
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: Option<WindowBits>,
    /// `Some(None)`: present without a value (offers only).
    pub(crate) client_max_window_bits: Option<Option<WindowBits>>,
}

impl RawParams {
    pub(crate) fn parse(element: &ExtensionParams, side: Side) -> Result<Self, NegotiationError> {
        if !element.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return Err(NegotiationError::WrongExtension(element.name.clone()));
        }
        let mut raw = Self::default();
        let mut seen = [false; 4];
        for param in &element.params {
            let (index, name) = match param.name.to_ascii_lowercase().as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => (0, SERVER_NO_CONTEXT_TAKEOVER),
                CLIENT_NO_CONTEXT_TAKEOVER => (1, CLIENT_NO_CONTEXT_TAKEOVER),
                SERVER_MAX_WINDOW_BITS => (2, SERVER_MAX_WINDOW_BITS),
                CLIENT_MAX_WINDOW_BITS => (3, CLIENT_MAX_WINDOW_BITS),
                _ => return Err(NegotiationError::UnknownParameter(param.name.clone())),
            };
            if let Some(seen) = seen.get_mut(index) {
                if *seen {
                    return Err(NegotiationError::DuplicateParameter(name));
                }
                *seen = true;
            }
            let invalid = || NegotiationError::InvalidValue {
                param: name,
                value: param.value.clone(),
            };
            match (index, param.value.as_deref()) {
                (0, None) => raw.server_no_context_takeover = true,
                (1, None) => raw.client_no_context_takeover = true,
                (0 | 1, Some(_)) => return Err(invalid()),
                (2, Some(value)) => {
                    raw.server_max_window_bits =
                        Some(WindowBits::parse(value).ok_or_else(invalid)?);
                }
                (3, Some(value)) => {
                    raw.client_max_window_bits =
                        Some(Some(WindowBits::parse(value).ok_or_else(invalid)?));
                }
                (3, None) if side == Side::Offer => raw.client_max_window_bits = Some(None),
                _ => return Err(invalid()),
            }
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_values_are_decimal_8_to_15_without_leading_zeros() {
        for bits in 8..=15u8 {
            assert_eq!(WindowBits::parse(&bits.to_string()), WindowBits::new(bits));
        }
        for bad in [
            "", "7", "16", "0", "08", "010", "+9", "-9", " 9", "9 ", "abc", "\"9\"", "1", "150",
        ] {
            assert_eq!(WindowBits::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn window_bits_range() {
        assert_eq!(WindowBits::new(7), None);
        assert_eq!(WindowBits::new(16), None);
        assert_eq!(WindowBits::try_from(16), Err(InvalidWindowBits(16)));
        assert_eq!(WindowBits::MIN.window_size(), 256);
        assert_eq!(WindowBits::MAX.window_size(), 32 * 1024);
    }
}
