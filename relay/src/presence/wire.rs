//! The rendezvous protocol's bytes (`/rendezvous/1.0.0`, libp2p specs `rendezvous/README.md`):
//! a uvarint length prefix and a protobuf `Message`. Written here rather than taken from
//! libp2p-rendezvous because that crate keeps its codec private and its server cannot drop a
//! peer's registrations when the peer disconnects, which presence needs.

use prost::Message as _;

/// The protocol's message envelope (spec field numbers; proto2, so every field is optional).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Envelope {
    #[prost(enumeration = "MessageType", optional, tag = "1")]
    pub(crate) r#type: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub(crate) register: Option<Register>,
    #[prost(message, optional, tag = "3")]
    pub(crate) register_response: Option<RegisterResponse>,
    #[prost(message, optional, tag = "4")]
    pub(crate) unregister: Option<Unregister>,
    #[prost(message, optional, tag = "5")]
    pub(crate) discover: Option<Discover>,
    #[prost(message, optional, tag = "6")]
    pub(crate) discover_response: Option<DiscoverResponse>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub(crate) enum MessageType {
    Register = 0,
    RegisterResponse = 1,
    Unregister = 2,
    Discover = 3,
    DiscoverResponse = 4,
}

/// Response status codes, with the spec's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub(crate) enum Status {
    Ok = 0,
    InvalidNamespace = 100,
    InvalidSignedPeerRecord = 101,
    InvalidTtl = 102,
    InvalidCookie = 103,
    NotAuthorized = 200,
    InternalError = 300,
    Unavailable = 400,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Register {
    #[prost(string, optional, tag = "1")]
    pub(crate) ns: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) signed_peer_record: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "3")]
    pub(crate) ttl: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RegisterResponse {
    #[prost(enumeration = "Status", optional, tag = "1")]
    pub(crate) status: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub(crate) status_text: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    pub(crate) ttl: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Unregister {
    #[prost(string, optional, tag = "1")]
    pub(crate) ns: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) id: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Discover {
    #[prost(string, optional, tag = "1")]
    pub(crate) ns: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    pub(crate) limit: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub(crate) cookie: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct DiscoverResponse {
    #[prost(message, repeated, tag = "1")]
    pub(crate) registrations: Vec<Register>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) cookie: Option<Vec<u8>>,
    #[prost(enumeration = "Status", optional, tag = "3")]
    pub(crate) status: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub(crate) status_text: Option<String>,
}

/// A request as the server understands it. Fields stay raw where checking them needs the
/// registry's context (the record's signer, TTL bounds), so a bad field earns a precise error
/// response rather than a dropped stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    Register {
        namespace: String,
        signed_record: Vec<u8>,
        ttl: Option<u64>,
    },
    Unregister {
        namespace: String,
    },
    Discover {
        namespace: Option<String>,
        limit: Option<u64>,
        cookie: Option<Vec<u8>>,
    },
}

/// Why a frame is not a request a server can act on (the stream is then closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("not a protobuf rendezvous message")]
    Protobuf,
    #[error("message type {0:?} is not a request")]
    NotARequest(Option<i32>),
    #[error("request is missing its {0} field")]
    Missing(&'static str),
}

impl Request {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope = Envelope::decode(bytes).map_err(|_| DecodeError::Protobuf)?;
        match envelope.r#type.map(MessageType::try_from) {
            Some(Ok(MessageType::Register)) => {
                let register = envelope.register.ok_or(DecodeError::Missing("register"))?;
                Ok(Self::Register {
                    namespace: register.ns.ok_or(DecodeError::Missing("ns"))?,
                    signed_record: register
                        .signed_peer_record
                        .ok_or(DecodeError::Missing("signedPeerRecord"))?,
                    ttl: register.ttl,
                })
            }
            Some(Ok(MessageType::Unregister)) => {
                let unregister = envelope
                    .unregister
                    .ok_or(DecodeError::Missing("unregister"))?;
                Ok(Self::Unregister {
                    namespace: unregister.ns.ok_or(DecodeError::Missing("ns"))?,
                })
            }
            Some(Ok(MessageType::Discover)) => {
                let discover = envelope.discover.ok_or(DecodeError::Missing("discover"))?;
                Ok(Self::Discover {
                    namespace: discover.ns,
                    limit: discover.limit,
                    cookie: discover.cookie,
                })
            }
            _ => Err(DecodeError::NotARequest(envelope.r#type)),
        }
    }
}

/// A response the server sends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Response {
    Registered {
        ttl: u64,
    },
    RegisterRefused(Status),
    Discovered {
        registrations: Vec<Register>,
        cookie: Vec<u8>,
    },
    DiscoverRefused(Status),
}

impl Response {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let envelope = match self {
            Self::Registered { ttl } => Envelope {
                r#type: Some(MessageType::RegisterResponse as i32),
                register_response: Some(RegisterResponse {
                    status: Some(Status::Ok as i32),
                    status_text: None,
                    ttl: Some(*ttl),
                }),
                ..Envelope::default()
            },
            Self::RegisterRefused(status) => Envelope {
                r#type: Some(MessageType::RegisterResponse as i32),
                register_response: Some(RegisterResponse {
                    status: Some(*status as i32),
                    status_text: None,
                    ttl: None,
                }),
                ..Envelope::default()
            },
            Self::Discovered {
                registrations,
                cookie,
            } => Envelope {
                r#type: Some(MessageType::DiscoverResponse as i32),
                discover_response: Some(DiscoverResponse {
                    registrations: registrations.clone(),
                    cookie: Some(cookie.clone()),
                    status: Some(Status::Ok as i32),
                    status_text: None,
                }),
                ..Envelope::default()
            },
            Self::DiscoverRefused(status) => Envelope {
                r#type: Some(MessageType::DiscoverResponse as i32),
                discover_response: Some(DiscoverResponse {
                    registrations: Vec::new(),
                    cookie: None,
                    status: Some(*status as i32),
                    status_text: None,
                }),
                ..Envelope::default()
            },
        };
        envelope.encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_register_request_decodes_with_its_fields() {
        let bytes = Envelope {
            r#type: Some(MessageType::Register as i32),
            register: Some(Register {
                ns: Some("ab".into()),
                signed_peer_record: Some(vec![1, 2]),
                ttl: Some(60),
            }),
            ..Envelope::default()
        }
        .encode_to_vec();
        assert_eq!(
            Request::decode(&bytes).unwrap(),
            Request::Register {
                namespace: "ab".into(),
                signed_record: vec![1, 2],
                ttl: Some(60)
            }
        );
    }

    #[test]
    fn responses_and_garbage_are_not_requests() {
        let response = Response::Registered { ttl: 5 }.encode();
        assert_eq!(
            Request::decode(&response),
            Err(DecodeError::NotARequest(Some(1)))
        );
        assert_eq!(
            Request::decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Protobuf)
        );
        let no_body = Envelope {
            r#type: Some(MessageType::Discover as i32),
            ..Envelope::default()
        }
        .encode_to_vec();
        assert_eq!(
            Request::decode(&no_body),
            Err(DecodeError::Missing("discover"))
        );
    }
}
