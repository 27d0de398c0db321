//! The outbox relay: publishes recorded domain events to NATS JetStream in order, each with
//! its event id as `Nats-Msg-Id`, and marks them published once JetStream acknowledged them.
//! A relay that stops between the ack and the mark publishes those events again on its next
//! pass; JetStream's duplicate window drops the repeats, so the stream holds each once.

use std::time::Duration;

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, context::PublishAckFuture, stream},
    HeaderMap,
};

use crate::{
    db::{Db, DbError},
    events::{self, Pending},
    params,
};

/// The JetStream stream every event goes to.
pub const STREAM: &str = "CARESYNC";
/// How many events one pass publishes at most.
const BATCH: i64 = 200;
/// The advisory lock one relay pass holds on PostgreSQL (any fixed number).
const RELAY_LOCK: i64 = 0x7265_6c61_795f_6f6e;
/// How long JetStream remembers a `Nats-Msg-Id`: longer than any relay restart takes.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot connect to NATS: {0}")]
    Connect(#[from] async_nats::ConnectError),
    #[error("JetStream stream {STREAM}: {0}")]
    Stream(String),
    #[error("publishing event {id}: {cause}")]
    Publish { id: String, cause: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A connection to JetStream with the stream in place.
#[derive(Clone)]
pub struct Relay {
    js: jetstream::Context,
}

impl Relay {
    /// Connects and creates the stream if it is missing.
    pub async fn connect(url: &str) -> Result<Self, RelayError> {
        let client = async_nats::connect(url).await?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: events::STREAM_SUBJECTS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| RelayError::Stream(e.to_string()))?;
        Ok(Relay { js })
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Publishes `batch` in order and waits for each ack; returns the ids acknowledged, a
    /// prefix of the batch (the rest go again on the next pass).
    pub async fn publish(&self, batch: &[Pending]) -> Result<Vec<String>, RelayError> {
        // Sent back to back on one connection, so they are stored in this order.
        let mut acks: Vec<(&str, PublishAckFuture)> = Vec::with_capacity(batch.len());
        for event in batch {
            let mut headers = HeaderMap::new();
            headers.insert(NATS_MESSAGE_ID, event.id.as_str());
            let ack = self
                .js
                .publish_with_headers(event.subject.clone(), headers, event.payload.clone().into())
                .await
                .map_err(|e| publish_error(&event.id, e))?;
            acks.push((&event.id, ack));
        }
        let mut acked = Vec::with_capacity(acks.len());
        for (id, ack) in acks {
            match ack.await {
                Ok(_) => acked.push(id.to_owned()),
                Err(err) => {
                    tracing::warn!(%err, id, "JetStream did not acknowledge an event; will retry");
                    break;
                }
            }
        }
        Ok(acked)
    }

    /// One pass: reads unpublished events, publishes them, marks those acknowledged.
    /// Returns how many were published.
    pub async fn pass(&self, db: &Db) -> Result<usize, RelayError> {
        if db.is_postgres() {
            return self.pass_alone(db).await;
        }
        let batch = db.call(|c| events::pending(c, BATCH)).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let acked = self.publish(&batch).await?;
        let n = acked.len();
        db.call(move |c| events::mark_published(c, &acked)).await?;
        Ok(n)
    }
}

impl Relay {
    /// On PostgreSQL every instance runs a relay: one pass at a time, across instances, holds
    /// a transaction-scoped advisory lock while it reads, publishes and marks, so the stream
    /// gets each batch in outbox order and the relays do not send the same events side by
    /// side. (Duplicates would still be dropped by `Nats-Msg-Id`.)
    async fn pass_alone(&self, db: &Db) -> Result<usize, RelayError> {
        let relay = self.clone();
        let runtime = tokio::runtime::Handle::current();
        db.call(move |c| {
            let tx = c.transaction()?;
            let ours: bool = tx.query_row(
                "SELECT pg_try_advisory_xact_lock(?1)",
                params![RELAY_LOCK],
                |r| r.get(0),
            )?;
            if !ours {
                return Ok(Ok(0));
            }
            let batch = events::pending(&tx, BATCH)?;
            let acked = match runtime.block_on(relay.publish(&batch)) {
                Ok(acked) => acked,
                Err(err) => return Ok(Err(err)),
            };
            let n = events::mark_published(&tx, &acked)?;
            tx.commit()?;
            Ok(Ok(n))
        })
        .await?
    }
}

fn publish_error(id: &str, err: impl std::fmt::Display) -> RelayError {
    RelayError::Publish {
        id: id.to_owned(),
        cause: err.to_string(),
    }
}

/// Runs the relay for the life of the server: connects (again after any failure, backing
/// off to 10 s), then publishes whatever has committed, polling every 100 ms when idle.
pub fn spawn(db: Db, url: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match run(&db, &url).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(%err, "event relay stopped; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    })
}

async fn run(db: &Db, url: &str) -> Result<(), RelayError> {
    let relay = Relay::connect(url).await?;
    tracing::info!(url, stream = STREAM, "event relay connected");
    loop {
        if relay.pass(db).await? == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
