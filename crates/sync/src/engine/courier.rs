//! Answers a courier got: a write sent by someone else on this engine's behalf (in the browser,
//! the service worker on Background Sync, while no page ran the engine), whose raw answer is
//! handed in later and judged exactly as if this engine had sent the write itself.

use super::{Engine, EngineError, Result};
use crate::{
    model::{AggregateKind, ClientMutationId, Millis, MutationState},
    store::OutboxStore,
    transport::Answer,
};

/// What became of a courier's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// The write is delivered; its kind, for saying what went out in the background.
    Delivered(AggregateKind),
    /// Judged otherwise (parked, in conflict, refetched, or to be retried), as a send would be.
    Judged,
    /// Not judged: the write is gone or decided already, or this engine has something on the
    /// wire (its own answer will say). The write, if still waiting, simply goes again, and the
    /// server's dedupe by clientMutationId answers as the first time.
    Ignored,
}

impl<S: OutboxStore> Engine<S> {
    /// The answer a courier got for write `id`. Call it before replaying, with nothing on the
    /// wire: a write is judged only while it waits, unclaimed, in the store.
    pub async fn handle_courier_answer(
        &mut self,
        now: Millis,
        id: ClientMutationId,
        answer: Answer,
    ) -> Result<Intake, S> {
        if self.is_busy() {
            return Ok(Intake::Ignored);
        }
        let found = self.store.get(id).await.map_err(EngineError::Store)?;
        let Some(mut m) = found.filter(|m| m.state == MutationState::Pending) else {
            return Ok(Intake::Ignored);
        };
        let kind = m.kind;
        // As a claim would have left it: the courier's attempt counts like one of ours.
        m.state = MutationState::InFlight;
        m.attempts = m.attempts.saturating_add(1);
        let before = self.delivered_total;
        self.judge(now, m, Ok(answer)).await?;
        Ok(if self.delivered_total > before {
            Intake::Delivered(kind)
        } else {
            Intake::Judged
        })
    }
}
