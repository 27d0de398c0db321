//! The verdict on a run's domain events: exactly one `communication.message.sent` per write
//! in the server's outbox, and, when the servers publish to NATS, exactly one per write in
//! the JetStream stream, each device's in the order it wrote them.

use std::{collections::HashMap, time::Duration};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use futures::StreamExt as _;

use crate::LoadError;

const SENT: &str = "communication.message.sent";
/// The servers' stream (`caresync_server::relay::STREAM`).
const STREAM: &str = "CARESYNC";

/// The run's messages: each message id with the (device, seq) its body names.
pub type Messages = HashMap<String, (usize, usize)>;

/// How the events of a run compare with its writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EventVerdict {
    pub writes: usize,
    /// Writes whose event is not there, and events beyond the first of a write.
    pub missing: usize,
    pub duplicates: usize,
    /// Events of a device that came before an earlier write's (the stream only).
    pub out_of_order: usize,
}

impl EventVerdict {
    pub fn holds(&self) -> bool {
        self.missing == 0 && self.duplicates == 0 && self.out_of_order == 0
    }
}

/// Judges event payloads (in their order) against the run's messages: `messages` maps a
/// message id to the (device, seq) its body names.
pub fn judge(messages: &Messages, payloads: &[Vec<u8>]) -> EventVerdict {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<usize, usize> = HashMap::new();
    let mut verdict = EventVerdict {
        writes: messages.len(),
        ..EventVerdict::default()
    };
    for payload in payloads {
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(payload) else {
            continue;
        };
        let Some((id, &(device, seq))) = event["messageId"]
            .as_str()
            .and_then(|id| messages.get_key_value(id))
        else {
            continue;
        };
        *seen.entry(id.as_str()).or_default() += 1;
        if last.insert(device, seq).is_some_and(|before| before >= seq) {
            verdict.out_of_order += 1;
        }
    }
    verdict.duplicates = seen.values().map(|n| n - 1).sum();
    verdict.missing = messages.len() - seen.len();
    verdict
}

/// The run's messages on PostgreSQL, by id, and the outbox's `message.sent` payloads, once
/// the relay (if `drain`) has published them all.
pub async fn from_postgres(
    url: &str,
    run: &str,
    drain: bool,
) -> Result<(Messages, Vec<Vec<u8>>), LoadError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT id, body FROM messages WHERE body LIKE $1",
            &[&format!("load:{run}:%")],
        )
        .await?;
    let mut messages = HashMap::with_capacity(rows.len());
    for row in rows {
        let (id, body): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(place) = crate::check::place(run, &body) {
            messages.insert(id, place);
        }
    }
    for _ in 0..1200 {
        let left: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL",
                &[],
            )
            .await?
            .try_get(0)?;
        if !drain || left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let payloads = client
        .query(
            "SELECT payload FROM event_outbox WHERE subject = $1 ORDER BY seq",
            &[&SENT],
        )
        .await?
        .into_iter()
        .map(|row| row.try_get::<_, String>(0).map(String::into_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    drop(client);
    driver
        .await
        .map_err(|e| LoadError::Stuck(e.to_string()))??;
    Ok((messages, payloads))
}

/// The run's messages and outbox on the embedded SQLite.
pub fn from_sqlite(
    path: &std::path::Path,
    run: &str,
) -> Result<(Messages, Vec<Vec<u8>>), LoadError> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement = conn.prepare("SELECT id, body FROM messages WHERE body LIKE ?1")?;
    let mut messages = HashMap::new();
    for row in statement.query_map([format!("load:{run}:%")], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, body) = row?;
        if let Some(place) = crate::check::place(run, &body) {
            messages.insert(id, place);
        }
    }
    let mut statement =
        conn.prepare("SELECT payload FROM event_outbox WHERE subject = ?1 ORDER BY seq")?;
    let payloads = statement
        .query_map([SENT], |r| r.get::<_, String>(0).map(String::into_bytes))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((messages, payloads))
}

/// Every `message.sent` in the stream, in stream order.
pub async fn from_stream(nats_url: &str) -> Result<Vec<Vec<u8>>, LoadError> {
    let nats = |e: &dyn std::fmt::Display| LoadError::Nats(e.to_string());
    let client = async_nats::connect(nats_url).await.map_err(|e| nats(&e))?;
    let js = jetstream::new(client);
    let stream = js.get_stream(STREAM).await.map_err(|e| nats(&e))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: SENT.to_owned(),
            ..Default::default()
        })
        .await
        .map_err(|e| nats(&e))?;
    let mut messages = consumer.messages().await.map_err(|e| nats(&e))?;
    let mut payloads = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next()).await;
        let message = match next {
            Ok(Some(message)) => message.map_err(|e| nats(&e))?,
            Ok(None) | Err(_) => break,
        };
        let pending = message.info().map_err(|e| nats(&e))?.pending;
        payloads.push(message.payload.to_vec());
        if pending == 0 {
            break;
        }
    }
    Ok(payloads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Vec<u8> {
        serde_json::json!({"messageId": id})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_missing_a_repeated_and_a_reordered_event_are_each_found() {
        let messages: HashMap<String, (usize, usize)> = [
            ("a".to_owned(), (0, 0)),
            ("b".to_owned(), (0, 1)),
            ("c".to_owned(), (1, 0)),
        ]
        .into();
        let clean = judge(&messages, &[event("a"), event("c"), event("b")]);
        assert!(clean.holds(), "{clean:?}");
        let bad = judge(&messages, &[event("b"), event("a"), event("b"), event("x")]);
        assert_eq!(
            (bad.missing, bad.duplicates, bad.out_of_order),
            (1, 1, 1),
            "c is missing, b repeats, a comes after b"
        );
        assert!(!bad.holds());
    }
}
