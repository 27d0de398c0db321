//! The engine: a sans-IO state machine in the style of quinn-proto's `Connection`.
//!
//! It decides what goes on the wire and when, and what every answer means; a driver
//! carries transmits out and hands the answers back. The engine reads no clock (callers
//! pass `now`) and awaits nothing but its store.
//!
//! - [`Engine::poll_transmit`]: the next request to send, if any (a write, a batch push, a
//!   refetch, a token step or a capabilities probe), each with a [`TransmitId`];
//! - [`Engine::handle_answer`]: what came back for a transmit, answers and silences alike;
//! - [`Engine::poll_timeout`]: when to call `poll_transmit` again if nothing else happens;
//! - [`Engine::poll_event`]: what the UI should hear about.
//!
//! [`drive`] is the driver the app and the tests use; the simulation drives by hand.

mod answer;
mod courier;
pub mod driver;
mod poll;
mod transmit;

use std::collections::{HashMap, HashSet, VecDeque};

use crate::{
    backoff::{Backoff, SplitMix64},
    events::{Event, Stats},
    model::{AggregateKind, ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation},
    policy::Policy,
    store::OutboxStore,
    transport::Capabilities,
};

pub use courier::Intake;
pub use driver::{drive, Stop, SyncReport};
pub use transmit::{Reply, Transmit, TransmitId, TransmitKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// The batch endpoint when the server offers it, per-resource REST otherwise.
    Auto,
    PerResource,
    Batch,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Writes on the wire at once in per-resource mode (browsers open ~6 per origin).
    pub concurrency: usize,
    /// At most this many writes claimed at once, ahead of sending them (per resource).
    pub lookahead: usize,
    /// Batch pushes on the wire at once; their lanes never overlap.
    pub batches_on_wire: usize,
    pub backoff: Backoff,
    pub mode: UploadMode,
    /// Upper bound on a batch; the server's own limit wins if lower.
    pub max_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 6,
            lookahead: 512,
            batches_on_wire: 2,
            backoff: Backoff::default(),
            mode: UploadMode::Auto,
            max_batch: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError<E: std::error::Error + 'static> {
    #[error("local store: {0}")]
    Store(#[source] E),
    #[error("no queued write {0}")]
    Unknown(ClientMutationId),
    #[error("write {id} is {state}; only a parked write can be retried or amended, and a parked or conflicting one discarded")]
    NotResolvable {
        id: ClientMutationId,
        state: &'static str,
    },
    #[error("no transmit {0:?} is on the wire, or its answer is of another kind")]
    StrayAnswer(TransmitId),
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError<E: std::error::Error + 'static> {
    #[error("{kind:?} changes are decided by the server: this action needs a connection")]
    NeedsConnection { kind: AggregateKind },
    #[error("local store: {0}")]
    Store(#[source] E),
}

/// What the user decided about a parked or conflicting write.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Retry,
    Discard,
    /// Send it again with this body instead, under the same clientMutationId: the user
    /// corrected what the server refused (a refusal leaves nothing behind on the server, so
    /// the key is still free).
    Amend(serde_json::Value),
}

impl Resolution {
    /// The decision's name, for an audit trail: never the amended body.
    pub fn name(&self) -> &'static str {
        match self {
            Resolution::Retry => "retry",
            Resolution::Discard => "discard",
            Resolution::Amend(_) => "amend",
        }
    }
}

/// The session as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// Not yet asked (a new engine, or a 401 since): ask before any write goes out.
    Unknown,
    Asking,
    Ready,
    /// The token step got no answer; ask again then.
    Waiting(Millis),
    /// The server refused the session: nothing goes out until the user signs in.
    SignIn,
}

/// What the engine knows of the server's upload paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Unknown,
    Asking,
    Known(Capabilities),
    /// The server answered without saying: per resource until then, then ask again.
    Fallback(Millis),
}

/// Per-resource REST, which every server speaks.
const PER_RESOURCE: Capabilities = Capabilities {
    batch: false,
    max_batch: 1,
};

/// A request on the wire, and what it carries.
#[derive(Debug)]
enum Flight {
    Send(Mutation),
    Push(Vec<Mutation>),
    Refetch(Mutation),
    /// Asked in this sign-in epoch: an answer from before a new sign-in is stale.
    Authorize(u64),
    Probe,
}

pub struct Engine<S: OutboxStore> {
    store: S,
    config: Config,
    rng: SplitMix64,
    events: VecDeque<Event>,
    next_id: u64,
    flights: HashMap<TransmitId, Flight>,
    /// Lanes with a write or a refetch on the wire: nothing else of theirs goes out.
    on_wire: HashSet<Lane>,
    /// Lanes whose earlier writes wait in another queue (a shared device's sealed outbox):
    /// nothing of theirs goes out from here until that queue has let go of them.
    held: HashSet<Lane>,
    /// Claimed writes not yet handed out (per resource).
    claimed: VecDeque<Mutation>,
    /// Deliveries not yet recorded: stored with the next claim, in one transaction.
    delivered: Vec<Mutation>,
    /// Version conflicts whose aggregate is to be fetched before reapplying.
    refetches: VecDeque<Mutation>,
    auth: Auth,
    /// Bumped by every sign-in, so a token answer from before it cannot undo it.
    sign_ins: u64,
    probe: Probe,
    probe_failures: u32,
    /// Requests that got no answer in a row, and until when nothing goes out.
    silences: u32,
    quiet_until: Millis,
    /// When the next lane head becomes due, as of the last look at the store.
    next_due: Option<Millis>,
    last_success_at: Option<Millis>,
    delivered_total: u64,
}

/// Counts and states only: never a body, so it can go to a log.
impl<S: OutboxStore> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("auth", &self.auth)
            .field("probe", &self.probe)
            .field("flights", &self.flights.len())
            .field("on_wire", &self.on_wire.len())
            .field("claimed", &self.claimed.len())
            .field("delivered_unrecorded", &self.delivered.len())
            .field("refetches", &self.refetches.len())
            .field("quiet_until", &self.quiet_until)
            .field("next_due", &self.next_due)
            .finish()
    }
}

type Result<T, S> = std::result::Result<T, EngineError<<S as OutboxStore>::Error>>;

impl<S: OutboxStore> Engine<S> {
    /// Opens over a store, returning writes a crash left `in_flight` to `pending`: the
    /// server deduplicates by `clientMutationId`, so sending them again is safe.
    pub async fn open(store: S, config: Config, seed: u64) -> Result<Self, S> {
        let mut engine = Self::new(store, config, seed);
        engine.recover().await?;
        Ok(engine)
    }

    /// Wraps a store without touching it: several tabs share one store, so a tab recovers
    /// ([`Engine::recover`]) only once it alone may transmit.
    pub fn new(store: S, config: Config, seed: u64) -> Self {
        let probe = match config.mode {
            UploadMode::Auto => Probe::Unknown,
            UploadMode::PerResource => Probe::Known(PER_RESOURCE),
            UploadMode::Batch => Probe::Known(Capabilities {
                batch: true,
                max_batch: config.max_batch,
            }),
        };
        Engine {
            store,
            config,
            rng: SplitMix64(seed),
            events: VecDeque::new(),
            next_id: 0,
            flights: HashMap::new(),
            on_wire: HashSet::new(),
            held: HashSet::new(),
            claimed: VecDeque::new(),
            delivered: Vec::new(),
            refetches: VecDeque::new(),
            auth: Auth::Unknown,
            sign_ins: 0,
            probe,
            probe_failures: 0,
            silences: 0,
            quiet_until: 0,
            next_due: Some(0),
            last_success_at: None,
            delivered_total: 0,
        }
    }

    /// Crash recovery: writes left `in_flight` go back to `pending`. Returns how many.
    /// Call only while nothing of this store is on the wire (in the browser: holding the
    /// replay lock), or writes another tab is sending would be reset under it.
    pub async fn recover(&mut self) -> Result<usize, S> {
        self.claimed.clear();
        self.next_due = Some(0);
        self.store.compact().await.map_err(EngineError::Store)?;
        self.store
            .reset_in_flight()
            .await
            .map_err(EngineError::Store)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }

    /// The next thing the UI should hear about.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// How many writes this engine has seen delivered.
    pub fn delivered_total(&self) -> u64 {
        self.delivered_total
    }

    /// Holds `lanes` (replacing the last holds): their writes wait here until released, so
    /// earlier writes of the same lanes sent from elsewhere keep their place in line.
    pub fn hold_lanes(&mut self, lanes: HashSet<Lane>) {
        if lanes != self.held {
            self.held = lanes;
            // A lane let go may be due already: look again at the next poll.
            self.next_due = Some(0);
        }
    }

    /// Anything on the wire, or anything claimed for it.
    pub fn is_busy(&self) -> bool {
        !self.flights.is_empty() || !self.claimed.is_empty() || !self.refetches.is_empty()
    }

    /// Why nothing can go out now, if that is the case.
    pub fn stopped(&self, now: Millis) -> Option<Stop> {
        match self.auth {
            Auth::SignIn => Some(Stop::SignInRequired),
            Auth::Waiting(at) if now < at => Some(Stop::Offline),
            _ if now < self.quiet_until => Some(Stop::Offline),
            _ => None,
        }
    }

    /// When to call [`Engine::poll_transmit`] again if nothing else happens: a write or a
    /// lane becoming due, a token step or probe backing off, a silence ending. `None` while
    /// the session waits for the user, or while an answer is awaited that will say.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self.auth {
            Auth::SignIn | Auth::Asking => return None,
            Auth::Waiting(at) => return Some(at),
            Auth::Unknown | Auth::Ready => {}
        }
        if self.probe == Probe::Asking {
            return None;
        }
        if self.quiet_until > 0 {
            return Some(self.quiet_until.max(self.next_due.unwrap_or(0)));
        }
        self.next_due
    }

    /// The user signed in again after a refusal: ask for the token before anything else.
    pub fn signed_in(&mut self) {
        self.sign_ins += 1;
        self.auth = Auth::Unknown;
        self.next_due = Some(0);
    }

    pub async fn stats(&self) -> Result<Stats, S> {
        let mut s = self.store.stats().await.map_err(EngineError::Store)?;
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
            self.events.push_back(Event::Coalesced {
                replaced: old.id,
                by: m.id,
            });
        }
        self.events.push_back(Event::Enqueued {
            id: m.id,
            lane: m.lane.clone(),
        });
        self.next_due = Some(now);
        Ok(m)
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
            .map_err(EngineError::Store)?
            .ok_or(EngineError::Unknown(id))?;
        match (resolution, &m.state) {
            (again @ (Resolution::Retry | Resolution::Amend(_)), MutationState::Parked { .. }) => {
                if let Resolution::Amend(body) = again {
                    m.request.body = body;
                }
                m.state = MutationState::Pending;
                m.next_attempt_at = now;
                self.next_due = Some(now);
                self.store.put(&[m]).await.map_err(EngineError::Store)
            }
            (
                Resolution::Discard,
                MutationState::Parked { .. } | MutationState::Conflict { .. },
            ) => {
                self.store.remove(id).await.map_err(EngineError::Store)?;
                self.next_due = Some(now);
                self.events.push_back(Event::Discarded { id });
                Ok(())
            }
            (_, state) => Err(EngineError::NotResolvable {
                id,
                state: state.name(),
            }),
        }
    }

    fn transmit(&mut self, flight: Flight) -> Transmit {
        self.next_id += 1;
        let id = TransmitId(self.next_id);
        let kind = match &flight {
            Flight::Send(m) => TransmitKind::Send(m.clone()),
            Flight::Push(batch) => TransmitKind::Push(batch.clone()),
            Flight::Refetch(m) => TransmitKind::Refetch {
                path: m
                    .versioned
                    .as_ref()
                    .map(|v| v.refetch_path.clone())
                    .unwrap_or_default(),
            },
            Flight::Authorize(_) => TransmitKind::Authorize,
            Flight::Probe => TransmitKind::Probe,
        };
        self.flights.insert(id, flight);
        Transmit { id, kind }
    }
}
