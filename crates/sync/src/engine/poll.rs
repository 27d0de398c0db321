//! Choosing the next transmit: the token step and the probe come first, then refetches,
//! then writes (lane heads in parallel per resource, or disjoint lane runs in batches).

use super::{Auth, Engine, EngineError, Flight, Probe, Result, Transmit, PER_RESOURCE};
use crate::{model::Millis, store::OutboxStore};

/// How writes go up next.
enum Path {
    /// Batches of at most this many writes.
    Batch(usize),
    PerResource,
    /// A probe is on the wire: its answer decides.
    AwaitProbe,
    /// Ask the server first.
    Probe,
}

impl<S: OutboxStore> Engine<S> {
    /// The next request to put on the wire, if any. Call until it returns `None`, then again
    /// after each answer and at [`Engine::poll_timeout`].
    pub async fn poll_transmit(&mut self, now: Millis) -> Result<Option<Transmit>, S> {
        if let Some(step) = self.gatekeeper(now) {
            return Ok(step);
        }
        if let Some(m) = self.refetches.pop_front() {
            return Ok(Some(self.transmit(Flight::Refetch(m))));
        }
        // Claimed per resource before the server said it takes batches: they go as they are.
        if let Some(send) = self.hand_out() {
            return Ok(Some(send));
        }
        let batch = match self.upload_path(now) {
            Path::Batch(limit) => Some(limit),
            Path::PerResource => None,
            Path::AwaitProbe => return Ok(None),
            Path::Probe => {
                self.probe = Probe::Asking;
                return Ok(Some(self.transmit(Flight::Probe)));
            }
        };
        // A delivered head not yet recorded still reads as in flight and hides the rest of
        // its lane: when nothing else goes out, record it and look once more.
        for _ in 0..2 {
            let next = match batch {
                Some(limit) => self.next_push(now, limit).await?,
                None => self.next_send(now).await?,
            };
            if next.is_some() {
                return Ok(next);
            }
            // While requests are on the wire, the next claim records deliveries with it.
            if !self.flights.is_empty() || !self.flush().await? {
                break;
            }
            self.next_due = Some(now);
        }
        Ok(None)
    }

    /// The session and the network come before any write: `Some` is the answer to give.
    fn gatekeeper(&mut self, now: Millis) -> Option<Option<Transmit>> {
        match self.auth {
            Auth::SignIn | Auth::Asking => return Some(None),
            Auth::Waiting(at) if now < at => return Some(None),
            Auth::Unknown | Auth::Waiting(_) => {
                self.auth = Auth::Asking;
                return Some(Some(self.transmit(Flight::Authorize(self.sign_ins))));
            }
            Auth::Ready => {}
        }
        (now < self.quiet_until).then_some(None)
    }

    fn upload_path(&self, now: Millis) -> Path {
        let known = match self.probe {
            Probe::Known(c) => c,
            Probe::Fallback(until) if now < until => PER_RESOURCE,
            Probe::Asking => return Path::AwaitProbe,
            Probe::Unknown | Probe::Fallback(_) => return Path::Probe,
        };
        if known.batch {
            Path::Batch(known.max_batch.min(self.config.max_batch).max(1))
        } else {
            Path::PerResource
        }
    }

    /// Per resource: lane runs claimed in bulk (with the deliveries not yet recorded, in
    /// one store step), handed out one write per lane at a time as the wire has room.
    async fn next_send(&mut self, now: Millis) -> Result<Option<Transmit>, S> {
        if let Some(send) = self.hand_out() {
            return Ok(Some(send));
        }
        // Claimed writes wait for their lanes: the next answer frees one.
        if self.claimed.is_empty() {
            self.claim_sends(now).await?;
        }
        Ok(self.hand_out())
    }

    /// The oldest claimed write whose lane has nothing on the wire, if there is room.
    fn hand_out(&mut self) -> Option<Transmit> {
        if self.sending() >= self.config.concurrency {
            return None;
        }
        let at = self
            .claimed
            .iter()
            .position(|m| !self.on_wire.contains(&m.lane))?;
        let m = self.claimed.remove(at)?;
        self.on_wire.insert(m.lane.clone());
        Some(self.transmit(Flight::Send(m)))
    }

    fn sending(&self) -> usize {
        self.flights
            .values()
            .filter(|f| matches!(f, Flight::Send(_)))
            .count()
    }

    /// Claims runs of up to `RUN` writes per lane, `lookahead` writes in all, for lanes that
    /// have nothing claimed or on the wire, recording the deliveries not yet recorded in the
    /// same store step: most sends then need no store transaction of their own. Claimed
    /// writes wait in memory: a crash finds them pending again, a silence or a refusal of
    /// their lane's head puts them back.
    async fn claim_sends(&mut self, now: Millis) -> Result<(), S> {
        const RUN: usize = 32;
        if self.next_due.is_none_or(|due| due > now) {
            return Ok(());
        }
        let delivered = std::mem::take(&mut self.delivered);
        let ready = self
            .store
            .claim_ready(
                &delivered,
                now,
                RUN,
                self.config.lookahead.max(1),
                &self.busy(),
            )
            .await
            .map_err(EngineError::Store)?;
        if ready.writes.is_empty() {
            self.next_due = ready.next_due;
            return Ok(());
        }
        self.claimed.extend(ready.writes);
        // More may be due than was claimed: look again next time.
        self.next_due = Some(now);
        Ok(())
    }

    /// Lanes with a write on the wire or claimed for it, or held for another queue: a claim
    /// leaves them alone.
    fn busy(&self) -> std::collections::HashSet<crate::model::Lane> {
        let mut busy = self.on_wire.clone();
        busy.extend(self.claimed.iter().map(|m| m.lane.clone()));
        busy.extend(self.held.iter().cloned());
        busy
    }

    /// Batches: whole runs of lanes that are not on the wire, so two pushes in flight never
    /// carry the same lane and no lane overtakes itself.
    async fn next_push(&mut self, now: Millis, limit: usize) -> Result<Option<Transmit>, S> {
        let pushing = self
            .flights
            .values()
            .filter(|f| matches!(f, Flight::Push(_)))
            .count();
        if pushing >= self.config.batches_on_wire.max(1)
            || self.next_due.is_none_or(|due| due > now)
        {
            return Ok(None);
        }
        let delivered = std::mem::take(&mut self.delivered);
        let ready = self
            .store
            .claim_ready(&delivered, now, limit, limit, &self.busy())
            .await
            .map_err(EngineError::Store)?;
        let batch = ready.writes;
        if batch.is_empty() {
            self.next_due = ready.next_due;
            return Ok(None);
        }
        self.next_due = Some(now);
        self.on_wire.extend(batch.iter().map(|m| m.lane.clone()));
        Ok(Some(self.transmit(Flight::Push(batch))))
    }

    /// Records deliveries still held back (nothing more is going out to carry them); true if
    /// there were any.
    pub(super) async fn flush(&mut self) -> Result<bool, S> {
        if self.delivered.is_empty() {
            return Ok(false);
        }
        let delivered = std::mem::take(&mut self.delivered);
        self.store
            .complete(&delivered)
            .await
            .map_err(EngineError::Store)?;
        Ok(true)
    }
}
