//! Reading a Server-Sent Events answer as it arrives, with a real HTTP client.

use std::time::Duration;

use serde_json::Value;

use super::TestServer;

/// One event: its `event:` name, `id:` and the JSON of its `data:`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

pub struct SseStream {
    res: reqwest::Response,
    buf: String,
    pub content_type: String,
}

impl SseStream {
    /// Opens `path` (with a bearer token if given); the error is the refusal's status and body.
    pub async fn open(
        srv: &TestServer,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, Value)> {
        let mut req = srv.http.get(format!("{}{path}", srv.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        if status != 200 {
            let text = res.text().await.unwrap_or_default();
            return Err((
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ));
        }
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            res,
            buf: String::new(),
            content_type,
        })
    }

    /// The next event within `within`; None if none came or the stream ended. Comments
    /// (keep-alives) are passed over.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next event named `kind`, passing over others.
    pub async fn next_of(&mut self, kind: &str, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.event == kind {
                return Some(event);
            }
        }
    }

    /// Whether the server ends the stream within `within` (events before the end are dropped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) | Ok(Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut data) = (String::from("message"), None, Vec::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = value.to_owned(),
            "id" => id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    let text = data.join("\n");
    Some(SseEvent {
        event,
        id,
        data: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}
