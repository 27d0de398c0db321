//! The caresync sync engine: sans-IO, in the style of quinn-proto. It decides; adapters
//! carry out.
//!
//! Every write is committed locally with its [`Mutation`] in one store transaction, then
//! replayed until the server decides. The [`Engine`] never reads a clock and awaits nothing
//! but its [`OutboxStore`]. A driver asks it what to send, carries that out and hands the
//! answers back; [`drive`] is that driver over a [`Transport`]:
//!
//! ```
//! # use caresync_sync::*;
//! # futures::executor::block_on(async {
//! # struct Net;
//! # impl Transport for Net {
//! #     async fn capabilities(&self) -> Result<Option<Capabilities>, NetError> { Ok(None) }
//! #     async fn send(&self, _: &Mutation) -> Result<Answer, NetError> {
//! #         Ok(Answer::new(201, serde_json::json!({})))
//! #     }
//! #     async fn push(&self, _: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> { Ok(vec![]) }
//! #     async fn fetch(&self, _: &str) -> Result<Answer, NetError> { Err(NetError::Timeout) }
//! #     async fn authorize(&self) -> Result<(), transport::AuthError> { Ok(()) }
//! # }
//! # let (transport, now) = (Net, 1_000);
//! let mut engine = Engine::new(memory::MemoryOutbox::new(), Config::default(), 7);
//! // ... engine.enqueue(now, write, entity_change) when the user acts ...
//! // By hand: transmit, carry out, hand the answer back, until nothing is due.
//! while let Some(transmit) = engine.poll_transmit(now).await? {
//!     let (id, reply) = carry(&transport, transmit).await;
//!     engine.handle_answer(now, id, reply).await?;
//! }
//! while let Some(event) = engine.poll_event() { /* tell the UI */ }
//! let wake_at = engine.poll_timeout(); // set the one timer from this
//! # let _ = wake_at;
//! // Or let `drive` do all of it, several requests on the wire at once:
//! let engine = futures::lock::Mutex::new(engine);
//! let report = drive(&engine, &transport, &|| now).await?;
//! # let _ = report;
//! # Ok::<(), EngineError<std::convert::Infallible>>(())
//! # }).unwrap();
//! ```
//!
//! The rules are pure and live apart: [`policy`], [`classify`], [`backoff`], [`auth`].

pub mod auth;
pub mod backoff;
pub mod classify;
#[cfg(feature = "test-support")]
pub mod conformance;
pub mod engine;
pub mod events;
pub mod memory;
pub mod model;
pub mod order;
pub mod policy;
pub mod store;
pub mod transport;

pub use auth::{AuthGate, AuthStep};
pub use classify::{classify, Verdict};
pub use engine::{
    drive, driver::carry, Config, Engine, EngineError, EnqueueError, Reply, Resolution, Stop,
    SyncReport, Transmit, TransmitId, TransmitKind, UploadMode,
};
pub use events::{Event, Stats};
pub use model::{
    Action, AggregateKind, ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation,
    ParkReason, Receipt, RefusalCode, Request,
};
pub use policy::Policy;
pub use store::{OutboxStore, Ready};
pub use transport::{Answer, BatchOutcome, Capabilities, NetError, Transport};
