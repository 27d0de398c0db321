//! The checks after a run: from the database, every write exactly once and each lane in
//! order, with exactly one `communication.message.sent` event each; from the JetStream
//! stream, exactly one published event per write.

use std::{collections::HashMap, time::Duration};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use caresync_server::{db::Db, params, relay::STREAM};
use futures_util::StreamExt as _;

use crate::{devices::Lane, LoadError};

const SENT: &str = "communication.message.sent";

/// Checks the rows and the outbox; returns how many writes were checked.
pub async fn database(db: &Db, lanes: &[Lane]) -> Result<usize, LoadError> {
    let rows: Vec<(String, i64)> = db
        .call(|c| {
            c.query_map(
                "SELECT client_mutation_id, sent_at FROM messages WHERE client_mutation_id IS NOT NULL",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await?;
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for (cmid, at) in rows {
        stored.entry(cmid).or_default().push(at);
    }
    let payloads: Vec<String> = db
        .call(|c| {
            c.query_map(
                "SELECT payload FROM event_outbox WHERE subject = ?1",
                params![SENT],
                |r| r.get(0),
            )
        })
        .await?;
    let events = count_by_mutation(payloads.iter().map(String::as_bytes))?;
    let mut checked = 0;
    for (device, lane) in lanes.iter().enumerate() {
        let mut last = i64::MIN;
        for cmid in lane {
            let at = match stored.get(cmid).map(Vec::as_slice) {
                Some([at]) => *at,
                other => return Err(check(format!("write {cmid} stored {other:?}, not once"))),
            };
            // Ties are allowed: two instances can commit in the same millisecond.
            if at < last {
                return Err(check(format!(
                    "device {device}: {cmid} committed before the write queued ahead of it"
                )));
            }
            last = at;
            match events.get(cmid) {
                Some(1) => {}
                n => return Err(check(format!("write {cmid} recorded {n:?} events, not 1"))),
            }
            checked += 1;
        }
    }
    Ok(checked)
}

/// Waits until the relay has published every recorded event.
pub async fn drained(db: &Db, within: Duration) -> Result<(), LoadError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left: i64 = db
            .call(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL",
                    params![],
                    |r| r.get(0),
                )
            })
            .await?;
        if left == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(check(format!(
                "{left} events still unpublished after {within:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads every `communication.message.sent` in the stream: each write's event exactly once,
/// and each lane's events in the lane's order.
pub async fn stream(nats_url: &str, lanes: &[Lane]) -> Result<usize, LoadError> {
    let client = async_nats::connect(nats_url)
        .await
        .map_err(|e| LoadError::Nats(e.to_string()))?;
    let js = jetstream::new(client);
    let stream = js.get_stream(STREAM).await.map_err(nats)?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: SENT.to_owned(),
            ..Default::default()
        })
        .await
        .map_err(nats)?;
    let mut messages = consumer.messages().await.map_err(nats)?;
    let mut payloads = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next()).await;
        let message = match next {
            Ok(Some(message)) => message.map_err(nats)?,
            Ok(None) => break,
            Err(_) => return Err(check("the stream stopped before its end".into())),
        };
        let pending = message.info().map_err(nats)?.pending;
        payloads.push(message.payload.clone());
        if pending == 0 {
            break;
        }
    }
    let events = count_by_mutation(payloads.iter().map(|p| p.as_ref()))?;
    let expected: usize = lanes.iter().map(Vec::len).sum();
    for cmid in lanes.iter().flatten() {
        match events.get(cmid) {
            Some(1) => {}
            n => {
                return Err(check(format!(
                    "the stream has {n:?} events for {cmid}, not 1"
                )))
            }
        }
    }
    if payloads.len() != expected {
        return Err(check(format!(
            "the stream has {} events for {expected} writes",
            payloads.len()
        )));
    }
    in_lane_order(&payloads, lanes)?;
    Ok(payloads.len())
}

/// Each lane's events come in the lane's order: a later write's event never before an
/// earlier one's.
fn in_lane_order(payloads: &[impl AsRef<[u8]>], lanes: &[Lane]) -> Result<(), LoadError> {
    let mut position = HashMap::with_capacity(payloads.len());
    for (at, payload) in payloads.iter().enumerate() {
        let event: serde_json::Value = serde_json::from_slice(payload.as_ref())
            .map_err(|e| check(format!("an event is not JSON: {e}")))?;
        if let Some(cmid) = event["clientMutationId"].as_str() {
            position.insert(cmid.to_owned(), at);
        }
    }
    for (device, lane) in lanes.iter().enumerate() {
        let places: Vec<Option<&usize>> = lane.iter().map(|c| position.get(c)).collect();
        if places.windows(2).any(|w| w[0] >= w[1]) {
            return Err(check(format!(
                "device {device}: its events are out of lane order in the stream"
            )));
        }
    }
    Ok(())
}

fn count_by_mutation<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
) -> Result<HashMap<String, usize>, LoadError> {
    let mut counts = HashMap::new();
    for payload in payloads {
        let event: serde_json::Value = serde_json::from_slice(payload)
            .map_err(|e| check(format!("an event is not JSON: {e}")))?;
        let cmid = event["clientMutationId"]
            .as_str()
            .ok_or_else(|| check(format!("an event without clientMutationId: {event}")))?;
        *counts.entry(cmid.to_owned()).or_insert(0) += 1;
    }
    Ok(counts)
}

fn check(message: String) -> LoadError {
    LoadError::Check(message)
}

fn nats(err: impl std::fmt::Display) -> LoadError {
    LoadError::Nats(err.to_string())
}
