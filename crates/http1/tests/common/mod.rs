//! Helpers: a dummy extension for the negotiation paths, and draining a session's events.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use wintergreen_codec::{
    ConnectionError, Event, Extension, ExtensionError, ExtensionFactory, ExtensionParams, OpCode,
    Rsv, Session,
};

/// A factory that offers what it is given and, as a server, answers with the first offer.
#[derive(Debug)]
pub struct Dummy {
    pub name: &'static str,
    pub offers: Vec<ExtensionParams>,
    /// Whether it accepts the server's answer / the client's offers.
    pub accept: bool,
    /// Every `accept_offers` call's argument.
    pub seen_offers: Mutex<Vec<Vec<ExtensionParams>>>,
}

impl Dummy {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            offers: vec![ExtensionParams::new(name)],
            accept: true,
            seen_offers: Mutex::new(Vec::new()),
        }
    }

    pub fn offering(mut self, offers: Vec<ExtensionParams>) -> Self {
        self.offers = offers;
        self
    }

    pub fn refusing(mut self) -> Self {
        self.accept = false;
        self
    }

    pub fn arc(self) -> Arc<Self> {
        Arc::new(self)
    }
}

impl ExtensionFactory for Dummy {
    fn name(&self) -> &str {
        self.name
    }

    fn offers(&self) -> Vec<ExtensionParams> {
        self.offers.clone()
    }

    fn accept_response(
        &self,
        response: &ExtensionParams,
    ) -> Result<Box<dyn Extension>, ExtensionError> {
        if self.accept {
            Ok(Box::new(DummyExtension {
                name: self.name,
                params: response.clone(),
            }))
        } else {
            Err(ExtensionError::Negotiation("dummy refuses".into()))
        }
    }

    fn accept_offers(
        &self,
        offers: &[ExtensionParams],
    ) -> Result<Option<(ExtensionParams, Box<dyn Extension>)>, ExtensionError> {
        self.seen_offers.lock().unwrap().push(offers.to_vec());
        if !self.accept {
            return Ok(None);
        }
        let answer = offers[0].clone();
        Ok(Some((
            answer.clone(),
            Box::new(DummyExtension {
                name: self.name,
                params: answer,
            }),
        )))
    }
}

/// An extension that owns RSV1 and never transforms anything.
#[derive(Debug)]
pub struct DummyExtension {
    pub name: &'static str,
    pub params: ExtensionParams,
}

impl Extension for DummyExtension {
    fn name(&self) -> &str {
        self.name
    }

    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn encode_start(&mut self, _opcode: OpCode, _size_hint: Option<usize>) -> Rsv {
        Rsv::NONE
    }

    fn encode(
        &mut self,
        payload: &[u8],
        _fin: bool,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        out.extend_from_slice(payload);
        Ok(())
    }

    fn decode_start(&mut self, _rsv: Rsv) -> bool {
        false
    }

    fn decode(
        &mut self,
        payload: &[u8],
        _fin: bool,
        out: &mut BytesMut,
        _limit: usize,
    ) -> Result<(), ExtensionError> {
        out.extend_from_slice(payload);
        Ok(())
    }
}

/// Every event the session has now.
pub fn events(session: &mut Session) -> Vec<Result<Event, ConnectionError>> {
    std::iter::from_fn(|| session.poll_event()).collect()
}
