//! The outbox: commit locally, replay until the server decides, never lose a write silently.
//!
//! [`Outbox::begin`] and [`Outbox::finish`] are the two halves of one send, so a caller (or the
//! simulation) can crash between them; [`Outbox::sync`] drives both over a [`Transport`].

use std::collections::{HashSet, VecDeque};

use futures::{
    stream::{FuturesUnordered, StreamExt as _},
    FutureExt as _,
};

use crate::{
    backoff::{Backoff, SplitMix64},
    classify::{classify, Verdict},
    events::{Event, Stats},
    model::{AggregateKind, ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation},
    policy::Policy,
    store::OutboxStore,
    transport::{Answer, AuthError, BatchOutcome, Capabilities, NetError, Transport},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// The batch endpoint when the server offers it, per-resource REST otherwise.
    Auto,
    PerResource,
    Batch,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Lanes replayed in parallel in per-resource mode (browsers open ~6 per origin).
    pub concurrency: usize,
    pub backoff: Backoff,
    pub mode: UploadMode,
    /// Upper bound on a batch; the server's own limit wins if lower.
    pub max_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 6,
            backoff: Backoff::default(),
            mode: UploadMode::Auto,
            max_batch: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError<E: std::error::Error + 'static> {
    #[error("local store: {0}")]
    Store(#[source] E),
    #[error("no queued write {0}")]
    Unknown(ClientMutationId),
    #[error("write {id} is {state}; only a parked write can be retried and a parked or conflicting one discarded")]
    NotResolvable {
        id: ClientMutationId,
        state: &'static str,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError<E: std::error::Error + 'static> {
    #[error("{kind:?} changes are decided by the server: this action needs a connection")]
    NeedsConnection { kind: AggregateKind },
    #[error("local store: {0}")]
    Store(#[source] E),
}

/// What the user decided about a parked or conflicting write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Retry,
    Discard,
}

/// What one finished send leaves for the caller to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    Retrying,
    Parked,
    /// The token was refused: refresh it, then [`Outbox::auth_restored`].
    Reauth,
    /// A version conflict: fetch `path`, then [`Outbox::reapply`] with the answer.
    Refetch {
        mutation: Box<Mutation>,
        path: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Offline,
    SignInRequired,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub sent: usize,
    pub delivered: usize,
    pub stopped: Option<Stop>,
    /// When a pass stopped for want of a server: the earliest time the engine will try
    /// again (a capabilities probe or a token refresh backing off). Writes that backed off
    /// carry their own `nextAttemptAt`.
    pub retry_at: Option<Millis>,
}

pub struct Outbox<S: OutboxStore> {
    store: S,
    config: Config,
    rng: SplitMix64,
    events: Vec<Event>,
    auth_paused: bool,
    last_success_at: Option<Millis>,
    probe: Probe,
    /// Failed capabilities probes in a row.
    probe_failures: u32,
}

/// What the engine knows of the server's upload paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Unknown,
    Known(Capabilities),
    /// The server answered without saying: per resource until `until`, then ask again.
    Fallback {
        until: Millis,
    },
    /// No answer: nothing goes out until `until`.
    Unreachable {
        until: Millis,
    },
}

/// Per-resource REST, which every server speaks.
const PER_RESOURCE: Capabilities = Capabilities {
    batch: false,
    max_batch: 1,
};

type Result<T, S> = std::result::Result<T, OutboxError<<S as OutboxStore>::Error>>;

impl<S: OutboxStore> Outbox<S> {
    /// Opens over a store, returning writes a crash left `in_flight` to `pending`: the
    /// server deduplicates by `clientMutationId`, so sending them again is safe.
    pub async fn open(store: S, config: Config, seed: u64) -> Result<Self, S> {
        let mut outbox = Self::new(store, config, seed);
        outbox.recover().await?;
        Ok(outbox)
    }

    /// Wraps a store without touching it. Several tabs share one store, so a tab recovers
    /// ([`Outbox::recover`]) only while it alone replays; otherwise it would reset writes
    /// another tab has on the wire.
    pub fn new(store: S, config: Config, seed: u64) -> Self {
        Outbox {
            store,
            config,
            rng: SplitMix64(seed),
            events: Vec::new(),
            auth_paused: false,
            last_success_at: None,
            probe: Probe::Unknown,
            probe_failures: 0,
        }
    }

    /// Crash recovery: writes left `in_flight` go back to `pending`. Returns how many.
    pub async fn recover(&mut self) -> Result<usize, S> {
        self.store
            .reset_in_flight()
            .await
            .map_err(OutboxError::Store)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub async fn stats(&self) -> Result<Stats, S> {
        let mut s = self.store.stats().await.map_err(OutboxError::Store)?;
        s.last_success_at = self.last_success_at;
        Ok(s)
    }

    /// Commits a write locally (with its entity change, atomically) and queues it.
    pub async fn enqueue(
        &mut self,
        now: Millis,
        new: NewMutation,
        change: Option<S::EntityChange>,
    ) -> std::result::Result<Mutation, EnqueueError<S::Error>> {
        let policy = Policy::for_kind(new.kind);
        if !policy.can_queue() {
            return Err(EnqueueError::NeedsConnection { kind: new.kind });
        }
        let replaced = match (&new.coalesce_key, policy) {
            (Some(key), Policy::Lww) => self
                .store
                .take_unsent(&new.lane, key)
                .await
                .map_err(EnqueueError::Store)?,
            _ => None,
        };
        let m = self
            .store
            .append(new, change, now)
            .await
            .map_err(EnqueueError::Store)?;
        if let Some(old) = replaced {
            self.events.push(Event::Coalesced {
                replaced: old.id,
                by: m.id,
            });
        }
        self.events.push(Event::Enqueued {
            id: m.id,
            lane: m.lane.clone(),
        });
        Ok(m)
    }

    /// First half of a send: picks ready writes and marks them `in_flight`.
    pub async fn begin(
        &mut self,
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Vec<Mutation>, S> {
        if self.auth_paused || total == 0 {
            return Ok(Vec::new());
        }
        let ready = self
            .store
            .ready(now, per_lane, total, exclude)
            .await
            .map_err(OutboxError::Store)?
            .writes;
        self.store.claim(&ready).await.map_err(OutboxError::Store)
    }

    /// Second half of a send: applies the server's answer (or its absence).
    pub async fn finish(
        &mut self,
        now: Millis,
        m: Mutation,
        result: std::result::Result<Answer, NetError>,
    ) -> Result<Outcome, S> {
        let verdict = classify(Policy::for_kind(m.kind), &m, &result, now);
        self.apply(now, m, verdict).await
    }

    /// Several answers at once: deliveries are recorded in one store transaction.
    pub async fn finish_many(
        &mut self,
        now: Millis,
        results: Vec<(Mutation, std::result::Result<Answer, NetError>)>,
    ) -> Result<Vec<(Lane, Outcome)>, S> {
        let (outcomes, delivered) = self.judge(now, results).await?;
        self.store
            .complete(&delivered)
            .await
            .map_err(OutboxError::Store)?;
        Ok(outcomes)
    }

    /// Applies every verdict but delivery, and returns the delivered writes (marked `Done`)
    /// for the caller to record, possibly together with its next claim.
    async fn judge(
        &mut self,
        now: Millis,
        results: Vec<(Mutation, std::result::Result<Answer, NetError>)>,
    ) -> Result<(Vec<(Lane, Outcome)>, Vec<Mutation>), S> {
        let mut outcomes = Vec::with_capacity(results.len());
        let mut delivered = Vec::new();
        for (mut m, result) in results {
            let lane = m.lane.clone();
            match classify(Policy::for_kind(m.kind), &m, &result, now) {
                Verdict::Done(receipt) => {
                    self.events.push(Event::Delivered {
                        id: m.id,
                        receipt: receipt.clone(),
                    });
                    m.state = MutationState::Done { receipt };
                    delivered.push(m);
                    outcomes.push((lane, Outcome::Delivered));
                }
                verdict => outcomes.push((lane, self.apply(now, m, verdict).await?)),
            }
        }
        if !delivered.is_empty() {
            self.last_success_at = Some(now);
        }
        Ok((outcomes, delivered))
    }

    /// A write the batch endpoint did not apply because an earlier one of its lane failed:
    /// the server says it never looked at it, so the attempt does not count.
    pub async fn skipped(&mut self, m: Mutation) -> Result<(), S> {
        self.requeue(vec![m], true).await
    }

    /// Back to pending without backoff; they wait behind their lanes' heads.
    async fn requeue(&mut self, mut writes: Vec<Mutation>, never_seen: bool) -> Result<(), S> {
        for m in &mut writes {
            m.state = MutationState::Pending;
            if never_seen {
                m.attempts = m.attempts.saturating_sub(1);
            }
        }
        self.store.put(&writes).await.map_err(OutboxError::Store)
    }

    async fn apply(
        &mut self,
        now: Millis,
        mut m: Mutation,
        verdict: Verdict,
    ) -> Result<Outcome, S> {
        let outcome = match verdict {
            Verdict::Done(receipt) => {
                m.state = MutationState::Done {
                    receipt: receipt.clone(),
                };
                self.store
                    .complete(&[m.clone()])
                    .await
                    .map_err(OutboxError::Store)?;
                self.last_success_at = Some(now);
                self.events.push(Event::Delivered { id: m.id, receipt });
                return Ok(Outcome::Delivered);
            }
            Verdict::Retry { retry_after_ms } => {
                let delay = self
                    .config
                    .backoff
                    .delay(m.attempts, retry_after_ms, &mut self.rng);
                m.state = MutationState::Pending;
                m.next_attempt_at = now.saturating_add(delay);
                self.events.push(Event::RetryScheduled {
                    id: m.id,
                    at: m.next_attempt_at,
                    attempts: m.attempts,
                });
                Outcome::Retrying
            }
            Verdict::Reauth => {
                // The request never counted: it was refused before the server looked at it.
                m.state = MutationState::Pending;
                m.attempts = m.attempts.saturating_sub(1);
                if !self.auth_paused {
                    self.auth_paused = true;
                    self.events.push(Event::AuthRequired);
                }
                Outcome::Reauth
            }
            Verdict::Park { reason, actions } => {
                self.events.push(Event::Parked {
                    id: m.id,
                    reason: reason.clone(),
                });
                m.state = MutationState::Parked { reason, actions };
                Outcome::Parked
            }
            // Stays in flight until reapplied; a crash before that resends the old version and
            // simply meets the same conflict again.
            Verdict::Refetch { .. } => {
                let path = m
                    .versioned
                    .as_ref()
                    .map(|v| v.refetch_path.clone())
                    .unwrap_or_default();
                return Ok(Outcome::Refetch {
                    mutation: Box::new(m),
                    path,
                });
            }
        };
        self.store.put(&[m]).await.map_err(OutboxError::Store)?;
        Ok(outcome)
    }

    /// After a version conflict: reapply on the current version if the action still applies,
    /// otherwise keep it, visibly, as a conflict the user dismisses.
    pub async fn reapply(
        &mut self,
        now: Millis,
        mut m: Mutation,
        fetched: std::result::Result<Answer, NetError>,
    ) -> Result<(), S> {
        let current = match fetched {
            Ok(a) if (200..300).contains(&a.status) => a.body,
            other => {
                let retry_after_ms = other.ok().and_then(|a| a.retry_after_ms);
                self.apply(now, m, Verdict::Retry { retry_after_ms })
                    .await?;
                return Ok(());
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
                self.events.push(Event::Reapplied { id: m.id, version });
            }
            _ => {
                let notice = format!(
                    "This was not applied: it is now {}.",
                    if status.is_empty() { "changed" } else { status }
                );
                self.events.push(Event::Conflict {
                    id: m.id,
                    notice: notice.clone(),
                });
                m.state = MutationState::Conflict {
                    notice,
                    payload: current,
                };
            }
        }
        self.store.put(&[m]).await.map_err(OutboxError::Store)
    }

    /// The token was refreshed: writes may flow again.
    pub fn auth_restored(&mut self) {
        self.auth_paused = false;
    }

    /// The user's decision on a parked or conflicting write.
    pub async fn resolve(
        &mut self,
        now: Millis,
        id: ClientMutationId,
        resolution: Resolution,
    ) -> Result<(), S> {
        let mut m = self
            .store
            .get(id)
            .await
            .map_err(OutboxError::Store)?
            .ok_or(OutboxError::Unknown(id))?;
        match (resolution, &m.state) {
            (Resolution::Retry, MutationState::Parked { .. }) => {
                m.state = MutationState::Pending;
                m.next_attempt_at = now;
                self.store.put(&[m]).await.map_err(OutboxError::Store)
            }
            (
                Resolution::Discard,
                MutationState::Parked { .. } | MutationState::Conflict { .. },
            ) => {
                self.store.remove(id).await.map_err(OutboxError::Store)?;
                self.events.push(Event::Discarded { id });
                Ok(())
            }
            (_, state) => Err(OutboxError::NotResolvable {
                id,
                state: state.name(),
            }),
        }
    }

    /// Replays everything due until the queue is drained, every lane has had its chance, or
    /// the network or the session stops it. Call again on the next trigger.
    pub async fn sync<T: Transport>(
        &mut self,
        transport: &T,
        clock: &impl Fn() -> Millis,
    ) -> Result<SyncReport, S> {
        let mut report = SyncReport::default();
        // No write goes out without a usable token: after a reload this refreshes first.
        if !self.refresh(transport, &mut report).await {
            return Ok(report);
        }
        let batch = match self.config.mode {
            UploadMode::Batch => true,
            UploadMode::PerResource => false,
            UploadMode::Auto => match self.probe(transport, clock(), &mut report).await {
                Some(c) => c.batch,
                None => return Ok(report),
            },
        };
        if batch {
            self.sync_batches(transport, clock, &mut report).await?;
        } else {
            self.sync_each(transport, clock, &mut report).await?;
        }
        Ok(report)
    }

    /// What the server offers, asked once it is known to answer. A probe that gets no answer
    /// backs off like a write; one answered without capabilities (an error status) falls
    /// back to per-resource REST and asks again after the same backoff.
    async fn probe<T: Transport>(
        &mut self,
        transport: &T,
        now: Millis,
        report: &mut SyncReport,
    ) -> Option<Capabilities> {
        match self.probe {
            Probe::Known(c) => return Some(c),
            Probe::Fallback { until } if now < until => return Some(PER_RESOURCE),
            Probe::Unreachable { until } if now < until => {
                report.stopped = Some(Stop::Offline);
                report.retry_at = Some(until);
                return None;
            }
            _ => {}
        }
        let answer = transport.capabilities().await;
        if let Ok(Some(c)) = answer {
            self.probe = Probe::Known(c);
            self.probe_failures = 0;
            return Some(c);
        }
        self.probe_failures = self.probe_failures.saturating_add(1);
        let until = now.saturating_add(self.config.backoff.delay(
            self.probe_failures,
            None,
            &mut self.rng,
        ));
        if answer.is_ok() {
            self.probe = Probe::Fallback { until };
            return Some(PER_RESOURCE);
        }
        self.probe = Probe::Unreachable { until };
        report.stopped = Some(Stop::Offline);
        report.retry_at = Some(until);
        None
    }

    /// Gets a usable token from the transport; false (with the reason in `report`) if none.
    async fn refresh<T: Transport>(&mut self, transport: &T, report: &mut SyncReport) -> bool {
        match transport.authorize().await {
            Ok(()) => {
                self.auth_restored();
                true
            }
            Err(AuthError::SignInRequired) => {
                self.events.push(Event::SignInRequired);
                report.stopped = Some(Stop::SignInRequired);
                false
            }
            Err(AuthError::Unreachable { retry_at }) => {
                report.stopped = Some(Stop::Offline);
                report.retry_at = Some(retry_at);
                false
            }
        }
    }

    /// Per-resource REST: lane heads in parallel, up to `concurrency`, refilled as each ends.
    /// Ready heads are looked up in bulk and answers that arrive together are recorded
    /// together, so the store is not on the critical path of every request.
    async fn sync_each<T: Transport>(
        &mut self,
        transport: &T,
        clock: &impl Fn() -> Millis,
        report: &mut SyncReport,
    ) -> Result<(), S> {
        const LOOKAHEAD: usize = 64;
        // A lane that failed is not tried again in this pass, so a dead network is not hammered.
        let mut tried: HashSet<Lane> = HashSet::new();
        let mut queued: VecDeque<Mutation> = VecDeque::new();
        let mut on_wire: HashSet<Lane> = HashSet::new();
        let mut flights = FuturesUnordered::new();
        // Deliveries not yet recorded: they are stored with the next claim, in one transaction.
        let mut delivered: Vec<Mutation> = Vec::new();
        loop {
            let room = self.config.concurrency.saturating_sub(flights.len());
            let mut take = Vec::new();
            if report.stopped.is_none() && !self.auth_paused && room > 0 {
                if queued.len() < room {
                    // Record deliveries first: a delivered head still marked in flight would
                    // hide the rest of its lane from the scan.
                    self.store
                        .complete(&std::mem::take(&mut delivered))
                        .await
                        .map_err(OutboxError::Store)?;
                    let mut busy = tried.clone();
                    busy.extend(on_wire.iter().cloned());
                    busy.extend(queued.iter().map(|m| m.lane.clone()));
                    let more = self
                        .store
                        .ready(clock(), 1, LOOKAHEAD, &busy)
                        .await
                        .map_err(OutboxError::Store)?;
                    queued.extend(more.writes);
                }
                take = queued.drain(..room.min(queued.len())).collect();
            }
            let claimed = self
                .store
                .settle(&std::mem::take(&mut delivered), &take)
                .await
                .map_err(OutboxError::Store)?;
            for m in claimed {
                report.sent += 1;
                on_wire.insert(m.lane.clone());
                flights.push(async move {
                    let result = transport.send(&m).await;
                    (m, result)
                });
            }
            let Some(first) = flights.next().await else {
                if self.auth_paused
                    && report.stopped.is_none()
                    && self.refresh(transport, report).await
                {
                    continue;
                }
                return Ok(());
            };
            let mut landed = vec![first];
            while let Some(Some(more)) = flights.next().now_or_never() {
                landed.push(more);
            }
            for (m, result) in &landed {
                on_wire.remove(&m.lane);
                if matches!(result, Err(NetError::Offline)) {
                    report.stopped = Some(Stop::Offline);
                }
            }
            let (outcomes, done) = self.judge(clock(), landed).await?;
            delivered = done;
            for (lane, outcome) in outcomes {
                self.follow_up(transport, clock, outcome, lane, &mut tried, report)
                    .await?;
            }
        }
    }

    /// The sync endpoint: many writes per request, lanes kept in order by the server. Batches
    /// take whole runs of disjoint lanes, so two can be on the wire at once without any lane
    /// overtaking itself.
    async fn sync_batches<T: Transport>(
        &mut self,
        transport: &T,
        clock: &impl Fn() -> Millis,
        report: &mut SyncReport,
    ) -> Result<(), S> {
        const BATCHES_ON_WIRE: usize = 2;
        let limit = match self.probe {
            Probe::Known(c) => c.max_batch.min(self.config.max_batch),
            _ => self.config.max_batch,
        }
        .max(1);
        let mut tried: HashSet<Lane> = HashSet::new();
        let mut on_wire: HashSet<Lane> = HashSet::new();
        let mut flights = FuturesUnordered::new();
        loop {
            if report.stopped.is_none() && !self.auth_paused && flights.len() < BATCHES_ON_WIRE {
                let mut busy = tried.clone();
                busy.extend(on_wire.iter().cloned());
                let batch = self.begin(clock(), limit, limit, &busy).await?;
                if !batch.is_empty() {
                    report.sent += batch.len();
                    on_wire.extend(batch.iter().map(|m| m.lane.clone()));
                    flights.push(async move {
                        let result = transport.push(&batch).await;
                        (batch, result)
                    });
                    continue;
                }
            }
            let Some((batch, result)) = flights.next().await else {
                if self.auth_paused
                    && report.stopped.is_none()
                    && self.refresh(transport, report).await
                {
                    continue;
                }
                return Ok(());
            };
            for m in &batch {
                on_wire.remove(&m.lane);
            }
            let outcomes = match result {
                Ok(o) if o.len() == batch.len() => Ok(o),
                Ok(_) => Err(NetError::Network(
                    "the batch answer did not match the request".into(),
                )),
                Err(e) => Err(e),
            };
            let mut answered = Vec::with_capacity(batch.len());
            let mut skipped = Vec::new();
            match outcomes {
                Err(err) => {
                    if err == NetError::Offline {
                        report.stopped = Some(Stop::Offline);
                    }
                    // Only each lane's head backs off; the rest wait behind it. Any of them may
                    // have been committed before the answer was lost, so each keeps its attempt
                    // (an attempted write is never coalesced away).
                    let mut heads = HashSet::new();
                    let mut behind = Vec::new();
                    for m in batch {
                        if heads.insert(m.lane.clone()) {
                            answered.push((m, Err(err.clone())));
                        } else {
                            behind.push(m);
                        }
                    }
                    self.requeue(behind, false).await?;
                }
                Ok(outcomes) => {
                    for (m, outcome) in batch.into_iter().zip(outcomes) {
                        match outcome {
                            BatchOutcome::Skipped => skipped.push(m),
                            BatchOutcome::Answer(a) => answered.push((m, Ok(a))),
                        }
                    }
                }
            }
            self.requeue(skipped, true).await?;
            for (lane, outcome) in self.finish_many(clock(), answered).await? {
                self.follow_up(transport, clock, outcome, lane, &mut tried, report)
                    .await?;
            }
        }
    }

    async fn follow_up<T: Transport>(
        &mut self,
        transport: &T,
        clock: &impl Fn() -> Millis,
        outcome: Outcome,
        lane: Lane,
        tried: &mut HashSet<Lane>,
        report: &mut SyncReport,
    ) -> Result<(), S> {
        match outcome {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Retrying | Outcome::Parked => {
                tried.insert(lane);
            }
            Outcome::Reauth => {}
            Outcome::Refetch { mutation, path } => {
                let fetched = transport.fetch(&path).await;
                self.reapply(clock(), *mutation, fetched).await?;
            }
        }
        Ok(())
    }
}
