//! Reading what came back: every answer (or silence) to every kind of transmit.

use std::collections::HashSet;

use super::{Auth, Engine, EngineError, Flight, Probe, Reply, Result, TransmitId};
use crate::{
    classify::{classify, Verdict},
    events::Event,
    model::{Millis, Mutation, MutationState},
    policy::Policy,
    store::OutboxStore,
    transport::{Answer, AuthError, BatchOutcome, NetError},
};

impl<S: OutboxStore> Engine<S> {
    /// What came back for transmit `id`. An answer for a transmit the engine no longer knows
    /// (from before a crash, say) is refused with [`EngineError::StrayAnswer`].
    pub async fn handle_answer(
        &mut self,
        now: Millis,
        id: TransmitId,
        reply: Reply,
    ) -> Result<(), S> {
        let flight = self
            .flights
            .remove(&id)
            .ok_or(EngineError::StrayAnswer(id))?;
        if self.heard(now, &reply) {
            // Claimed but not yet sent: they wait, unattempted, until the silence ends.
            for m in std::mem::take(&mut self.claimed) {
                self.requeue(m, true).await?;
            }
        }
        match (flight, reply) {
            (Flight::Send(m), Reply::Answer(a)) => self.judge(now, m, Ok(a)).await,
            (Flight::Send(m), Reply::NoAnswer(e)) => self.judge(now, m, Err(e)).await,
            (Flight::Push(batch), Reply::Batch(outcomes)) if outcomes.len() == batch.len() => {
                self.pushed(now, batch, Ok(outcomes)).await
            }
            (Flight::Push(batch), Reply::Batch(_)) => {
                let mismatch =
                    NetError::Network("the batch answer did not match the request".into());
                self.pushed(now, batch, Err(mismatch)).await
            }
            (Flight::Push(batch), Reply::NoAnswer(e)) => self.pushed(now, batch, Err(e)).await,
            (Flight::Refetch(m), Reply::Answer(a)) => self.reapply(now, m, Ok(a)).await,
            (Flight::Refetch(m), Reply::NoAnswer(e)) => self.reapply(now, m, Err(e)).await,
            (Flight::Authorize(epoch), Reply::Authorized(result)) => {
                if epoch == self.sign_ins {
                    self.authorized(result);
                }
                Ok(())
            }
            (Flight::Probe, Reply::Capabilities(c)) => {
                self.probed(now, c);
                Ok(())
            }
            (Flight::Probe, Reply::NoAnswer(_)) => {
                self.probe = Probe::Unknown;
                Ok(())
            }
            (flight, _) => {
                // Put it back so its lane is not lost; the caller made the mistake.
                self.flights.insert(id, flight);
                Err(EngineError::StrayAnswer(id))
            }
        }
    }

    /// Any answer means the server is there; a silence means nothing goes out for a while
    /// (one backoff for the whole engine, so a dead network is not hammered lane by lane).
    /// True when this answer starts a silence.
    fn heard(&mut self, now: Millis, reply: &Reply) -> bool {
        match reply {
            Reply::NoAnswer(_) if now >= self.quiet_until => {
                self.silences = self.silences.saturating_add(1);
                let delay = self
                    .config
                    .backoff
                    .delay(self.silences, None, &mut self.rng);
                self.quiet_until = now.saturating_add(delay);
                true
            }
            Reply::NoAnswer(_) | Reply::Authorized(Err(AuthError::Unreachable { .. })) => false,
            _ => {
                self.silences = 0;
                self.quiet_until = 0;
                false
            }
        }
    }

    fn authorized(&mut self, result: std::result::Result<(), AuthError>) {
        self.auth = match result {
            Ok(()) => Auth::Ready,
            Err(AuthError::SignInRequired) => {
                self.events.push_back(Event::SignInRequired);
                Auth::SignIn
            }
            Err(AuthError::Unreachable { retry_at }) => Auth::Waiting(retry_at),
        };
    }

    fn probed(&mut self, now: Millis, capabilities: Option<crate::Capabilities>) {
        self.probe = match capabilities {
            Some(c) => {
                self.probe_failures = 0;
                Probe::Known(c)
            }
            None => {
                self.probe_failures = self.probe_failures.saturating_add(1);
                let delay = self
                    .config
                    .backoff
                    .delay(self.probe_failures, None, &mut self.rng);
                Probe::Fallback(now.saturating_add(delay))
            }
        };
    }

    /// One write's answer, per the classification table.
    pub(super) async fn judge(
        &mut self,
        now: Millis,
        mut m: Mutation,
        result: std::result::Result<Answer, NetError>,
    ) -> Result<(), S> {
        self.on_wire.remove(&m.lane);
        // Its lane may have more that is due now.
        self.next_due = Some(now);
        let verdict = classify(Policy::for_kind(m.kind), &m, &result, now);
        if !matches!(verdict, Verdict::Done(_)) {
            // The rest of its lane, claimed behind it, waits behind it on disk instead.
            self.release_lane(&m.lane).await?;
        }
        match verdict {
            Verdict::Done(receipt) => {
                self.events.push_back(Event::Delivered {
                    id: m.id,
                    receipt: receipt.clone(),
                });
                m.state = MutationState::Done { receipt };
                self.delivered.push(m);
                self.last_success_at = Some(now);
                self.delivered_total += 1;
                Ok(())
            }
            Verdict::Retry { retry_after_ms } => self.back_off(now, m, retry_after_ms).await,
            Verdict::Reauth => {
                // Refused before the server looked at it: the attempt does not count.
                m.state = MutationState::Pending;
                m.attempts = m.attempts.saturating_sub(1);
                if self.auth == Auth::Ready {
                    self.auth = Auth::Unknown;
                    self.events.push_back(Event::AuthRequired);
                }
                self.save(m).await
            }
            Verdict::Park { reason, actions } => {
                self.events.push_back(Event::Parked {
                    id: m.id,
                    reason: reason.clone(),
                });
                m.state = MutationState::Parked { reason, actions };
                self.save(m).await
            }
            // Stays in flight, its lane held, until reapplied; a crash before that resends
            // the old version and simply meets the same conflict again.
            Verdict::Refetch { .. } => {
                self.on_wire.insert(m.lane.clone());
                self.refetches.push_back(m);
                Ok(())
            }
        }
    }

    /// Pending again, due after a backoff (full jitter, never sooner than `Retry-After`).
    async fn back_off(
        &mut self,
        now: Millis,
        mut m: Mutation,
        retry_after_ms: Option<u64>,
    ) -> Result<(), S> {
        let delay = self
            .config
            .backoff
            .delay(m.attempts, retry_after_ms, &mut self.rng);
        m.state = MutationState::Pending;
        m.next_attempt_at = now.saturating_add(delay);
        self.events.push_back(Event::RetryScheduled {
            id: m.id,
            at: m.next_attempt_at,
            attempts: m.attempts,
        });
        self.save(m).await
    }

    async fn save(&mut self, m: Mutation) -> Result<(), S> {
        self.store.put(&[m]).await.map_err(EngineError::Store)
    }

    /// A batch push's answers, or its silence.
    async fn pushed(
        &mut self,
        now: Millis,
        batch: Vec<Mutation>,
        result: std::result::Result<Vec<BatchOutcome>, NetError>,
    ) -> Result<(), S> {
        for m in &batch {
            self.on_wire.remove(&m.lane);
        }
        let outcomes = match result {
            Ok(outcomes) => outcomes,
            Err(err) => {
                // Only each lane's head backs off; the rest wait behind it. Any of them may
                // have been committed before the answer was lost, so each keeps its attempt
                // (an attempted write is never coalesced away).
                let mut heads = HashSet::new();
                for m in batch {
                    if heads.insert(m.lane.clone()) {
                        self.judge(now, m, Err(err.clone())).await?;
                    } else {
                        self.requeue(m, false).await?;
                    }
                }
                return Ok(());
            }
        };
        for (m, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                // The server never looked at it: an earlier write of its lane failed.
                BatchOutcome::Skipped => self.requeue(m, true).await?,
                BatchOutcome::Answer(a) => self.judge(now, m, Ok(a)).await?,
            }
        }
        Ok(())
    }

    /// Claimed writes of `lane` go back to pending, unattempted.
    async fn release_lane(&mut self, lane: &crate::model::Lane) -> Result<(), S> {
        let (theirs, rest) = std::mem::take(&mut self.claimed)
            .into_iter()
            .partition(|m| &m.lane == lane);
        self.claimed = rest;
        for m in Vec::<Mutation>::from(theirs) {
            self.requeue(m, true).await?;
        }
        Ok(())
    }

    /// Back to pending without backoff, behind its lane's head.
    async fn requeue(&mut self, mut m: Mutation, never_seen: bool) -> Result<(), S> {
        m.state = MutationState::Pending;
        if never_seen {
            m.attempts = m.attempts.saturating_sub(1);
        }
        self.save(m).await
    }

    /// After a version conflict: reapply on the current version if the action still applies,
    /// otherwise keep it, visibly, as a conflict the user dismisses.
    async fn reapply(
        &mut self,
        now: Millis,
        mut m: Mutation,
        fetched: std::result::Result<Answer, NetError>,
    ) -> Result<(), S> {
        self.on_wire.remove(&m.lane);
        self.next_due = Some(now);
        let current = match fetched {
            Ok(a) if (200..300).contains(&a.status) => a.body,
            // Nothing to reapply on yet: the write backs off and meets the conflict again.
            other => {
                let retry_after_ms = other.ok().and_then(|a| a.retry_after_ms);
                return self.back_off(now, m, retry_after_ms).await;
            }
        };
        let status = current.get("status").and_then(|s| s.as_str()).unwrap_or("");
        let version = current.get("version").and_then(|v| v.as_i64());
        let applies = m
            .versioned
            .as_ref()
            .is_some_and(|v| v.applies_in.iter().any(|s| s == status));
        match (applies, version) {
            (true, Some(version)) => {
                if let Some(body) = m.request.body.as_object_mut() {
                    body.insert("version".into(), version.into());
                }
                m.state = MutationState::Pending;
                m.next_attempt_at = now;
                self.events
                    .push_back(Event::Reapplied { id: m.id, version });
            }
            _ => {
                self.events.push_back(Event::Conflict {
                    id: m.id,
                    status: (!status.is_empty()).then(|| status.to_owned()),
                });
                m.state = MutationState::Conflict { payload: current };
            }
        }
        self.save(m).await
    }
}
