//! Helpers: a dummy extension, and draining a session's events.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use bytes::BytesMut;
use wintergreen_codec::{
    ConnectionError, Event, Extension, ExtensionError, ExtensionFactory, ExtensionParams, OpCode,
    Rsv, Session,
};

/// A factory that offers its bare name and accepts any answer or first offer.
#[derive(Debug)]
pub struct Dummy(pub &'static str);

impl ExtensionFactory for Dummy {
    fn name(&self) -> &str {
        self.0
    }

    fn offers(&self) -> Vec<ExtensionParams> {
        vec![ExtensionParams::new(self.0)]
    }

    fn accept_response(
        &self,
        _response: &ExtensionParams,
    ) -> Result<Box<dyn Extension>, ExtensionError> {
        Ok(Box::new(DummyExtension(self.0)))
    }

    fn accept_offers(
        &self,
        offers: &[ExtensionParams],
    ) -> Result<Option<(ExtensionParams, Box<dyn Extension>)>, ExtensionError> {
        Ok(Some((offers[0].clone(), Box::new(DummyExtension(self.0)))))
    }
}

/// Owns RSV1, transforms nothing.
#[derive(Debug)]
pub struct DummyExtension(pub &'static str);

impl Extension for DummyExtension {
    fn name(&self) -> &str {
        self.0
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
