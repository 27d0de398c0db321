//! What the engine asks its driver to carry out, and what the driver hands back.

use crate::{
    model::Mutation,
    transport::{Answer, AuthError, BatchOutcome, Capabilities, NetError},
};

/// Names one transmit, so its answer finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransmitId(pub u64);

/// One request the engine wants on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Transmit {
    pub id: TransmitId,
    pub kind: TransmitKind,
}

// A transmit lives only while its request is on the wire; boxing the write would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TransmitKind {
    /// One write to its own REST route.
    Send(Mutation),
    /// Runs of disjoint lanes to the sync endpoint.
    Push(Vec<Mutation>),
    /// The aggregate behind a version conflict, to reapply on its current version.
    Refetch { path: String },
    /// Make sure a usable access token is at hand (refreshing it if need be).
    Authorize,
    /// Ask the server which upload paths it offers.
    Probe,
}

/// What came back for a transmit.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An HTTP answer (to a send or a refetch).
    Answer(Answer),
    /// The sync endpoint's answers, in the order of the push.
    Batch(Vec<BatchOutcome>),
    /// The token step's outcome.
    Authorized(Result<(), AuthError>),
    /// `None`: the server answered without saying (replay per resource, ask again later).
    Capabilities(Option<Capabilities>),
    /// No answer at all: the request may or may not have reached the server.
    NoAnswer(NetError),
}
