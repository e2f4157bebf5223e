//! RFC 7692 §7.1: offers, answers and the strict reading of both.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use wintergreen_codec::{ExtensionError, ExtensionFactory, ExtensionParams};
use wintergreen_deflate::{
    ClientMaxWindowBits, DeflateConfig, DeflateFactory, DeflateOffer, DeflateParams, Mismatch,
    NegotiationError, ServerPolicy, WindowBits,
};

fn bits(n: u8) -> WindowBits {
    WindowBits::new(n).unwrap()
}

/// An element from header-like text: `permessage-deflate; a; b=1` (values unquoted already,
/// as the handshake's parser hands them over).
fn element(text: &str) -> ExtensionParams {
    let mut parts = text.split(';').map(str::trim);
    let mut params = ExtensionParams::new(parts.next().unwrap());
    for part in parts {
        params = match part.split_once('=') {
            Some((name, value)) => params.param(name, Some(value.to_owned())),
            None => params.param(part, None),
        };
    }
    params
}

fn client_with(offers: Vec<DeflateOffer>) -> DeflateFactory {
    let mut config = DeflateConfig::default();
    config.offers = offers;
    DeflateFactory::new(config)
}

fn server_with(policy: ServerPolicy) -> DeflateFactory {
    let mut config = DeflateConfig::default();
    config.server = policy;
    DeflateFactory::new(config)
}

fn agreed(factory: &DeflateFactory, answer: &str) -> Result<DeflateParams, NegotiationError> {
    factory
        .negotiate_response(&element(answer))
        .map(|deflate| *deflate.params())
}

fn params(snct: bool, cnct: bool, smwb: u8, cmwb: u8) -> DeflateParams {
    DeflateParams::new(snct, cnct, bits(smwb), bits(cmwb))
}

// ---- offers -------------------------------------------------------------------------------

#[test]
fn default_client_offers_client_max_window_bits_without_value() {
    let offers = DeflateFactory::client_default().offers();
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].to_string(),
        "permessage-deflate; client_max_window_bits"
    );
}

#[test]
fn offer_builder_writes_every_parameter_in_order() {
    let offer = DeflateOffer::new()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true)
        .server_max_window_bits(Some(bits(8)))
        .client_max_window_bits(bits(9));
    assert_eq!(
        offer.to_params().to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=8; client_max_window_bits=9"
    );
    assert_eq!(DeflateOffer::parse(&offer.to_params()), Ok(offer));
}

#[test]
fn several_offers_keep_their_order() {
    let client = client_with(vec![
        DeflateOffer::new().server_max_window_bits(Some(bits(10))),
        DeflateOffer::new().client_no_context_takeover(true),
        DeflateOffer::new(),
    ]);
    let offers: Vec<String> = client.offers().iter().map(ToString::to_string).collect();
    assert_eq!(
        offers,
        [
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate",
        ]
    );
}

#[test]
fn no_offers_means_not_offered() {
    let client = client_with(Vec::new());
    assert!(client.offers().is_empty());
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Err(NegotiationError::NotOffered)
    );
}

// ---- client: reading the answer -----------------------------------------------------------

#[test]
fn bare_answer_to_default_offer_means_full_windows_and_takeover() {
    let client = DeflateFactory::client_default();
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Ok(params(false, false, 15, 15))
    );
}

#[test]
fn answer_may_add_server_no_context_takeover_unasked() {
    let client = DeflateFactory::client_default();
    assert_eq!(
        agreed(&client, "permessage-deflate; server_no_context_takeover"),
        Ok(params(true, false, 15, 15))
    );
}

#[test]
fn answer_may_add_client_no_context_takeover_unasked() {
    let client = DeflateFactory::client_default();
    assert_eq!(
        agreed(&client, "permessage-deflate; client_no_context_takeover"),
        Ok(params(false, true, 15, 15))
    );
}

#[test]
fn answer_may_add_server_max_window_bits_unasked() {
    let client = DeflateFactory::client_default();
    for n in 8..=15 {
        assert_eq!(
            agreed(
                &client,
                &format!("permessage-deflate; server_max_window_bits={n}")
            ),
            Ok(params(false, false, n, 15))
        );
    }
}

#[test]
fn answer_may_set_client_max_window_bits_when_offered_without_value() {
    let client = DeflateFactory::client_default();
    for n in 8..=15 {
        assert_eq!(
            agreed(
                &client,
                &format!("permessage-deflate; client_max_window_bits={n}")
            ),
            Ok(params(false, false, 15, n))
        );
    }
}

#[test]
fn client_max_window_bits_that_was_not_offered_fails() {
    let client = client_with(vec![DeflateOffer::new()]);
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits=10"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ClientMaxWindowBitsNotOffered
        ]))
    );
}

#[test]
fn client_max_window_bits_above_the_offered_value_fails() {
    let client = client_with(vec![DeflateOffer::new().client_max_window_bits(bits(10))]);
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits=11"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ClientMaxWindowBitsTooLarge {
                offered: bits(10),
                answered: bits(11),
            }
        ]))
    );
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits=9"),
        Ok(params(false, false, 15, 9))
    );
    // Silent answer: we keep to our own offered limit.
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Ok(params(false, false, 15, 10))
    );
}

#[test]
fn client_max_window_bits_without_value_in_an_answer_fails() {
    let client = DeflateFactory::client_default();
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits"),
        Err(NegotiationError::InvalidValue {
            param: "client_max_window_bits",
            value: None
        })
    );
}

#[test]
fn requested_server_no_context_takeover_must_be_answered() {
    let client = client_with(vec![DeflateOffer::new().server_no_context_takeover(true)]);
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ServerNoContextTakeoverMissing
        ]))
    );
    assert_eq!(
        agreed(&client, "permessage-deflate; server_no_context_takeover"),
        Ok(params(true, false, 15, 15))
    );
}

#[test]
fn requested_server_max_window_bits_must_be_answered_with_same_or_smaller() {
    let client = client_with(vec![
        DeflateOffer::new().server_max_window_bits(Some(bits(10))),
    ]);
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ServerMaxWindowBitsMissing { offered: bits(10) }
        ]))
    );
    assert_eq!(
        agreed(&client, "permessage-deflate; server_max_window_bits=11"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ServerMaxWindowBitsTooLarge {
                offered: bits(10),
                answered: bits(11),
            }
        ]))
    );
    assert_eq!(
        agreed(&client, "permessage-deflate; server_max_window_bits=10"),
        Ok(params(false, false, 10, 15))
    );
    assert_eq!(
        agreed(&client, "permessage-deflate; server_max_window_bits=8"),
        Ok(params(false, false, 8, 15))
    );
}

#[test]
fn client_no_context_takeover_we_offered_holds_even_if_the_answer_is_silent() {
    let client = client_with(vec![DeflateOffer::new().client_no_context_takeover(true)]);
    assert_eq!(
        agreed(&client, "permessage-deflate"),
        Ok(params(false, true, 15, 15))
    );
}

#[test]
fn answer_is_matched_against_offers_in_preference_order() {
    let client = client_with(vec![
        DeflateOffer::new()
            .server_no_context_takeover(true)
            .server_max_window_bits(Some(bits(9))),
        DeflateOffer::new().client_max_window_bits_supported(),
    ]);
    // Fits the first.
    assert_eq!(
        agreed(
            &client,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        ),
        Ok(params(true, false, 9, 15))
    );
    // Fits only the second.
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits=12"),
        Ok(params(false, false, 15, 12))
    );
    // The first offer's limit is exceeded; the second lets the server add any limit.
    assert_eq!(
        agreed(
            &client,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"
        ),
        Ok(params(true, false, 12, 15))
    );
}

#[test]
fn answer_fitting_no_offer_reports_each_offer() {
    let client = client_with(vec![
        DeflateOffer::new().server_no_context_takeover(true),
        DeflateOffer::new(),
    ]);
    assert_eq!(
        agreed(&client, "permessage-deflate; client_max_window_bits=9"),
        Err(NegotiationError::NoMatchingOffer(vec![
            Mismatch::ServerNoContextTakeoverMissing,
            Mismatch::ClientMaxWindowBitsNotOffered,
        ]))
    );
}

#[test]
fn bad_window_values_in_an_answer_fail() {
    let client = client_with(vec![
        DeflateOffer::new()
            .server_max_window_bits(Some(bits(15)))
            .client_max_window_bits_supported(),
    ]);
    for param in ["server_max_window_bits", "client_max_window_bits"] {
        for bad in [
            "7",
            "16",
            "0",
            "abc",
            "\"10\"",
            "010",
            "+9",
            "9.0",
            "",
            "1e1",
            "-8",
            "255",
            "99999999999",
        ] {
            let answer = format!("permessage-deflate; {param}={bad}");
            let param: &'static str = if param.starts_with("server") {
                "server_max_window_bits"
            } else {
                "client_max_window_bits"
            };
            assert_eq!(
                agreed(&client, &answer),
                Err(NegotiationError::InvalidValue {
                    param,
                    value: Some(bad.to_owned())
                }),
                "{answer}"
            );
        }
    }
    assert_eq!(
        agreed(&client, "permessage-deflate; server_max_window_bits"),
        Err(NegotiationError::InvalidValue {
            param: "server_max_window_bits",
            value: None
        })
    );
}

#[test]
fn values_on_flags_fail() {
    let client = DeflateFactory::client_default();
    for flag in ["server_no_context_takeover", "client_no_context_takeover"] {
        for value in ["", "1", "true"] {
            assert!(
                matches!(
                    agreed(&client, &format!("permessage-deflate; {flag}={value}")),
                    Err(NegotiationError::InvalidValue { .. })
                ),
                "{flag}={value}"
            );
        }
    }
}

#[test]
fn duplicate_parameters_in_an_answer_fail() {
    let client = client_with(vec![
        DeflateOffer::new()
            .server_max_window_bits(Some(bits(15)))
            .client_max_window_bits_supported(),
    ]);
    for (answer, name) in [
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "server_no_context_takeover",
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "client_no_context_takeover",
        ),
        (
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "server_max_window_bits",
        ),
        (
            "permessage-deflate; client_max_window_bits=10; client_max_window_bits=9",
            "client_max_window_bits",
        ),
    ] {
        assert_eq!(
            agreed(&client, answer),
            Err(NegotiationError::DuplicateParameter(name)),
            "{answer}"
        );
    }
}

#[test]
fn unknown_parameters_in_an_answer_fail() {
    let client = DeflateFactory::client_default();
    for answer in [
        "permessage-deflate; foo",
        "permessage-deflate; foo=bar",
        "permessage-deflate; max_window_bits=10",
        "permessage-deflate; server_no_context_takeover; x",
    ] {
        assert!(
            matches!(
                agreed(&client, answer),
                Err(NegotiationError::UnknownParameter(_))
            ),
            "{answer}"
        );
    }
}

#[test]
fn an_answer_for_another_extension_fails() {
    let client = DeflateFactory::client_default();
    assert_eq!(
        agreed(&client, "x-webkit-deflate-frame"),
        Err(NegotiationError::WrongExtension(
            "x-webkit-deflate-frame".into()
        ))
    );
}

#[test]
fn trait_errors_carry_the_reason_and_fail_the_handshake() {
    let client = DeflateFactory::client_default();
    let err = client
        .accept_response(&element("permessage-deflate; foo"))
        .unwrap_err();
    assert_eq!(
        err,
        ExtensionError::Negotiation("unknown permessage-deflate parameter \"foo\"".into())
    );
    assert_eq!(err.close_code().as_u16(), 1002);
}

// ---- server: judging offers ---------------------------------------------------------------

fn answer(server: &DeflateFactory, offers: &[&str]) -> Option<(String, DeflateParams)> {
    let offers: Vec<ExtensionParams> = offers.iter().map(|offer| element(offer)).collect();
    server
        .negotiate_offers(&offers)
        .map(|(answer, deflate)| (answer.to_string(), *deflate.params()))
}

#[test]
fn server_accepts_a_bare_offer_with_a_bare_answer() {
    let server = DeflateFactory::server_default();
    assert_eq!(
        answer(&server, &["permessage-deflate"]),
        Some(("permessage-deflate".into(), params(false, false, 15, 15)))
    );
}

#[test]
fn server_honours_every_offered_parameter() {
    let server = DeflateFactory::server_default();
    assert_eq!(
        answer(&server, &["permessage-deflate; server_no_context_takeover"]),
        Some((
            "permessage-deflate; server_no_context_takeover".into(),
            params(true, false, 15, 15)
        ))
    );
    assert_eq!(
        answer(&server, &["permessage-deflate; client_no_context_takeover"]),
        Some((
            "permessage-deflate; client_no_context_takeover".into(),
            params(false, true, 15, 15)
        ))
    );
    for n in 8..=15 {
        assert_eq!(
            answer(
                &server,
                &[&format!("permessage-deflate; server_max_window_bits={n}")]
            ),
            Some((
                format!("permessage-deflate; server_max_window_bits={n}"),
                params(false, false, n, 15)
            ))
        );
        // The client's own limit binds it whether or not we repeat it; below 15 we do.
        let expected = if n < 15 {
            format!("permessage-deflate; client_max_window_bits={n}")
        } else {
            "permessage-deflate".to_owned()
        };
        assert_eq!(
            answer(
                &server,
                &[&format!("permessage-deflate; client_max_window_bits={n}")]
            ),
            Some((expected, params(false, false, 15, n)))
        );
    }
    assert_eq!(
        answer(&server, &["permessage-deflate; client_max_window_bits"]),
        Some(("permessage-deflate".into(), params(false, false, 15, 15)))
    );
}

#[test]
fn server_policy_limits_and_flags_appear_in_the_answer() {
    let mut policy = ServerPolicy::default();
    policy.server_no_context_takeover = true;
    policy.client_no_context_takeover = true;
    policy.server_max_window_bits = bits(10);
    policy.client_max_window_bits = bits(9);
    let server = server_with(policy);
    assert_eq!(
        answer(&server, &["permessage-deflate; client_max_window_bits"]),
        Some((
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
                .into(),
            params(true, true, 10, 9)
        ))
    );
    // The smaller of the client's and our limits wins.
    assert_eq!(
        answer(
            &server,
            &["permessage-deflate; server_max_window_bits=8; client_max_window_bits=12"]
        )
        .map(|a| a.1),
        Some(params(true, true, 8, 9))
    );
    assert_eq!(
        answer(
            &server,
            &["permessage-deflate; server_max_window_bits=12; client_max_window_bits=8"]
        )
        .map(|a| a.1),
        Some(params(true, true, 10, 8))
    );
}

#[test]
fn server_never_answers_client_max_window_bits_the_client_did_not_offer() {
    let mut policy = ServerPolicy::default();
    policy.client_max_window_bits = bits(9);
    let server = server_with(policy);
    // Accepted (we can inflate any window), but the answer must not carry the parameter.
    assert_eq!(
        answer(&server, &["permessage-deflate"]),
        Some(("permessage-deflate".into(), params(false, false, 15, 15)))
    );
}

#[test]
fn server_declines_malformed_offers_and_takes_the_next() {
    let server = DeflateFactory::server_default();
    for bad in [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=\"10\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=016",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; unknown",
    ] {
        assert_eq!(answer(&server, &[bad]), None, "{bad}");
        assert_eq!(
            answer(
                &server,
                &[bad, "permessage-deflate; client_no_context_takeover"]
            ),
            Some((
                "permessage-deflate; client_no_context_takeover".into(),
                params(false, true, 15, 15)
            )),
            "{bad}"
        );
    }
}

#[test]
fn server_takes_the_first_acceptable_offer_in_the_clients_order() {
    let server = DeflateFactory::server_default();
    assert_eq!(
        answer(
            &server,
            &[
                "permessage-deflate; server_max_window_bits=9",
                "permessage-deflate"
            ]
        ),
        Some((
            "permessage-deflate; server_max_window_bits=9".into(),
            params(false, false, 9, 15)
        ))
    );
}

#[test]
fn server_declines_politely_when_nothing_is_acceptable() {
    let server = DeflateFactory::server_default();
    let offers = vec![element("permessage-deflate; bogus")];
    assert!(matches!(server.accept_offers(&offers), Ok(None)));
    assert!(matches!(server.accept_offers(&[]), Ok(None)));
}

#[test]
fn every_server_answer_is_accepted_by_the_client_that_offered() {
    // Round trip over a matrix of client offers and server policies: what the server
    // answers, the client must accept, and both must agree on the parameters.
    let flags = [false, true];
    let windows = [None, Some(8), Some(9), Some(12), Some(15)];
    let client_windows = [
        ClientMaxWindowBits::Omitted,
        ClientMaxWindowBits::Supported,
        ClientMaxWindowBits::Max(bits(8)),
        ClientMaxWindowBits::Max(bits(11)),
        ClientMaxWindowBits::Max(bits(15)),
    ];
    let mut checked = 0;
    for snct in flags {
        for cnct in flags {
            for smwb in windows {
                for cmwb in client_windows {
                    let mut offer = DeflateOffer::new()
                        .server_no_context_takeover(snct)
                        .client_no_context_takeover(cnct)
                        .server_max_window_bits(smwb.map(bits));
                    offer.client_max_window_bits = cmwb;
                    let client = client_with(vec![offer]);
                    for policy_snct in flags {
                        for policy_bits in [8, 10, 15] {
                            let mut policy = ServerPolicy::default();
                            policy.server_no_context_takeover = policy_snct;
                            policy.client_no_context_takeover = !policy_snct;
                            policy.server_max_window_bits = bits(policy_bits);
                            policy.client_max_window_bits = bits(policy_bits);
                            let server = server_with(policy);
                            let (answer, server_ext) = server
                                .negotiate_offers(&client.offers())
                                .unwrap_or_else(|| panic!("declined {offer:?}"));
                            let client_ext = client
                                .negotiate_response(&answer)
                                .unwrap_or_else(|err| panic!("{offer:?} / {answer}: {err}"));
                            assert_eq!(
                                client_ext.params(),
                                server_ext.params(),
                                "{offer:?} / {answer}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 2 * 5 * 5 * 2 * 3);
}
