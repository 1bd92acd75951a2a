//! Tests of quire-core's data model: codecs, crypto, validation, books and invites.
//! One test binary (modules below) to keep link time down on small machines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod book;
mod codec_props;
mod crypto;
mod fixtures;
mod invite;
mod snapshot;
mod validate;
