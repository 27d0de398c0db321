//! The caresync sync engine: a sans-IO outbox that decides, while adapters carry out.
//!
//! Every write is committed locally with its [`Mutation`] in one store transaction, then
//! replayed until the server decides. The decisions — what to send next, how to read an
//! answer, when to retry — are pure ([`policy`], [`classify`], [`backoff`]); the [`Outbox`]
//! drives them over two traits, [`OutboxStore`] and [`Transport`], so the same engine runs
//! on IndexedDB + fetch in the browser and on memory in the deterministic simulation.

pub mod auth;
pub mod backoff;
pub mod classify;
#[cfg(feature = "test-support")]
pub mod conformance;
pub mod events;
pub mod memory;
pub mod model;
pub mod outbox;
pub mod policy;
pub mod store;
pub mod transport;

pub use auth::{AuthGate, AuthStep};
pub use classify::{classify, Verdict};
pub use events::{Event, Stats};
pub use model::{
    Action, AggregateKind, ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation,
    ParkReason, Receipt, RefusalCode, Request,
};
pub use outbox::{Config, EnqueueError, Outbox, OutboxError, UploadMode};
pub use policy::Policy;
pub use store::{OutboxStore, Ready};
pub use transport::{Answer, BatchOutcome, Capabilities, NetError, Transport};
