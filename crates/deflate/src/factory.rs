//! Negotiation (RFC 7692 §7.1): the client's offers and its strict reading of the answer, the
//! server's judgement of offers.

use wintergreen_codec::{Extension, ExtensionError, ExtensionFactory, ExtensionParams, Role};

use crate::config::{DeflateConfig, ServerPolicy};
use crate::error::{Mismatch, NegotiationError};
use crate::extension::Deflate;
use crate::params::{
    CLIENT_MAX_WINDOW_BITS, CLIENT_NO_CONTEXT_TAKEOVER, ClientMaxWindowBits, DeflateOffer,
    DeflateParams, EXTENSION_NAME, RawParams, SERVER_MAX_WINDOW_BITS, SERVER_NO_CONTEXT_TAKEOVER,
    Side, WindowBits,
};

/// Negotiates permessage-deflate for every connection made with one [`DeflateConfig`], in
/// either role; plug it into the handshake as an [`ExtensionFactory`].
///
/// ```
/// use wintergreen_codec::{ExtensionFactory, ExtensionParams};
/// use wintergreen_deflate::DeflateFactory;
///
/// let client = DeflateFactory::client_default();
/// let server = DeflateFactory::server_default();
///
/// let offers = client.offers();
/// assert_eq!(offers[0].to_string(), "permessage-deflate; client_max_window_bits");
///
/// let (answer, _server_ext) = server.accept_offers(&offers).unwrap().expect("accepted");
/// assert_eq!(answer.to_string(), "permessage-deflate");
/// let _client_ext = client.accept_response(&answer).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct DeflateFactory {
    config: DeflateConfig,
}

impl DeflateFactory {
    /// A factory for `config`.
    pub const fn new(config: DeflateConfig) -> Self {
        Self { config }
    }

    /// A client's default: offers `permessage-deflate; client_max_window_bits`, compresses at
    /// level [`DeflateConfig::DEFAULT_LEVEL`], leaves messages under
    /// [`DeflateConfig::DEFAULT_THRESHOLD`] bytes uncompressed.
    pub fn client_default() -> Self {
        Self::default()
    }

    /// A server's default: accepts the client's first well-formed offer with 32 KiB windows
    /// and context takeover unless the offer asks otherwise ([`ServerPolicy::default`]).
    pub fn server_default() -> Self {
        Self::default()
    }

    /// A server in the shared-compressor mode ([`ServerPolicy::shared`]): it answers every
    /// well-formed offer with `server_no_context_takeover; client_no_context_takeover`, so
    /// that an idle connection holds no deflate state (112 bytes instead of about 340 KiB)
    /// and each thread about one compressor and one decompressor, at the cost of
    /// compression ratio on small messages. Level and threshold as in
    /// [`DeflateConfig::default`].
    pub fn server_shared() -> Self {
        Self::new(DeflateConfig {
            server: ServerPolicy::shared(),
            ..DeflateConfig::default()
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &DeflateConfig {
        &self.config
    }

    /// Client: judges the server's answer strictly (RFC 7692 §7.1) against our offers, in
    /// order, and builds the extension for the first offer it fits.
    pub fn negotiate_response(
        &self,
        response: &ExtensionParams,
    ) -> Result<Deflate, NegotiationError> {
        if self.config.offers.is_empty() {
            return Err(NegotiationError::NotOffered);
        }
        let answer = RawParams::parse(response, Side::Response)?;
        let mut reasons = Vec::with_capacity(self.config.offers.len());
        for offer in &self.config.offers {
            match match_answer(offer, &answer) {
                Ok(params) => {
                    tracing::debug!(?params, answer = %response, "permessage-deflate accepted by the server");
                    return Ok(Deflate::new(Role::Client, params, &self.config));
                }
                Err(reason) => reasons.push(reason),
            }
        }
        Err(NegotiationError::NoMatchingOffer(reasons))
    }

    /// Server: judges the client's offers in the client's order against our
    /// [`ServerPolicy`]. Returns the answer and the extension for the first well-formed
    /// offer, or `None` (decline: the connection goes on uncompressed) when every offer is
    /// malformed.
    pub fn negotiate_offers(
        &self,
        offers: &[ExtensionParams],
    ) -> Option<(ExtensionParams, Deflate)> {
        for element in offers {
            match DeflateOffer::parse(element) {
                Ok(offer) => {
                    let (params, answer) = answer_offer(&offer, &self.config.server);
                    tracing::debug!(offer = %element, answer = %answer, "permessage-deflate offer accepted");
                    return Some((answer, Deflate::new(Role::Server, params, &self.config)));
                }
                Err(err) => {
                    tracing::debug!(offer = %element, error = %err, "permessage-deflate offer declined");
                }
            }
        }
        None
    }
}

/// Whether `answer` accepts `offer`, and if so what was agreed (RFC 7692 §7.1.1–§7.1.2).
fn match_answer(offer: &DeflateOffer, answer: &RawParams) -> Result<DeflateParams, Mismatch> {
    // §7.1.1.1: a server accepts an offer with server_no_context_takeover only by
    // answering with it; it may add it unasked.
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(Mismatch::ServerNoContextTakeoverMissing);
    }
    // §7.1.2.1: an offered limit must be confirmed with the same or a smaller value; the
    // server may add one unasked.
    if let Some(offered) = offer.server_max_window_bits {
        match answer.server_max_window_bits {
            None => return Err(Mismatch::ServerMaxWindowBitsMissing { offered }),
            Some(answered) if answered > offered => {
                return Err(Mismatch::ServerMaxWindowBitsTooLarge { offered, answered });
            }
            Some(_) => {}
        }
    }
    // §7.1.2.2: the answer may carry client_max_window_bits only if the offer did, and
    // never above the offered value. The answer always has a value (checked when parsed).
    let answered_client_bits = answer.client_max_window_bits.flatten();
    let client_max_window_bits = match (offer.client_max_window_bits, answered_client_bits) {
        (ClientMaxWindowBits::Omitted, Some(_)) => {
            return Err(Mismatch::ClientMaxWindowBitsNotOffered);
        }
        (ClientMaxWindowBits::Max(offered), Some(answered)) if answered > offered => {
            return Err(Mismatch::ClientMaxWindowBitsTooLarge { offered, answered });
        }
        (_, Some(answered)) => answered,
        // We promised to stay within our own offered limit.
        (ClientMaxWindowBits::Max(offered), None) => offered,
        (ClientMaxWindowBits::Omitted | ClientMaxWindowBits::Supported, None) => WindowBits::MAX,
    };
    Ok(DeflateParams {
        server_no_context_takeover: answer.server_no_context_takeover,
        // We announced it in the offer, so we keep to it even if the answer is silent.
        client_no_context_takeover: answer.client_no_context_takeover
            || offer.client_no_context_takeover,
        server_max_window_bits: answer.server_max_window_bits.unwrap_or(WindowBits::MAX),
        client_max_window_bits,
    })
}

/// The agreement and the answer for a well-formed `offer` under `policy`.
fn answer_offer(offer: &DeflateOffer, policy: &ServerPolicy) -> (DeflateParams, ExtensionParams) {
    let server_no_context_takeover =
        offer.server_no_context_takeover || policy.server_no_context_takeover;
    // Echo the client's announcement, so that both ends agree explicitly.
    let client_no_context_takeover =
        offer.client_no_context_takeover || policy.client_no_context_takeover;
    let server_bits = offer
        .server_max_window_bits
        .map_or(policy.server_max_window_bits, |asked| {
            asked.min(policy.server_max_window_bits)
        });
    let (client_bits, answer_client_bits) = match offer.client_max_window_bits {
        // §7.1.2.2: without the parameter in the offer, the answer must not carry it.
        ClientMaxWindowBits::Omitted => (WindowBits::MAX, None),
        ClientMaxWindowBits::Supported => {
            let bits = policy.client_max_window_bits;
            (bits, (bits < WindowBits::MAX).then_some(bits))
        }
        ClientMaxWindowBits::Max(offered) => {
            let bits = offered.min(policy.client_max_window_bits);
            (bits, (bits < WindowBits::MAX).then_some(bits))
        }
    };

    let mut answer = ExtensionParams::new(EXTENSION_NAME);
    if server_no_context_takeover {
        answer = answer.param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if client_no_context_takeover {
        answer = answer.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if offer.server_max_window_bits.is_some() || server_bits < WindowBits::MAX {
        answer = answer.param(SERVER_MAX_WINDOW_BITS, Some(server_bits.to_string()));
    }
    if let Some(bits) = answer_client_bits {
        answer = answer.param(CLIENT_MAX_WINDOW_BITS, Some(bits.to_string()));
    }
    let params = DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    (params, answer)
}

impl ExtensionFactory for DeflateFactory {
    fn name(&self) -> &str {
        EXTENSION_NAME
    }

    fn offers(&self) -> Vec<ExtensionParams> {
        self.config
            .offers
            .iter()
            .map(DeflateOffer::to_params)
            .collect()
    }

    fn accept_response(
        &self,
        response: &ExtensionParams,
    ) -> Result<Box<dyn Extension>, ExtensionError> {
        match self.negotiate_response(response) {
            Ok(deflate) => Ok(Box::new(deflate)),
            Err(err) => {
                tracing::debug!(answer = %response, error = %err, "permessage-deflate answer rejected");
                Err(err.into())
            }
        }
    }

    fn accept_offers(
        &self,
        offers: &[ExtensionParams],
    ) -> Result<Option<(ExtensionParams, Box<dyn Extension>)>, ExtensionError> {
        Ok(self
            .negotiate_offers(offers)
            .map(|(answer, deflate)| (answer, Box::new(deflate) as Box<dyn Extension>)))
    }
}
