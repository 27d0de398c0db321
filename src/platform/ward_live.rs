//! Live bed changes while the board is open and online: the server's Server-Sent Events
//! stream of the user's node, opened with a single-use ticket (an `EventSource` cannot send a
//! bearer token, and the token never goes in a URL). The board folds each change into the
//! kept snapshot; a stream that breaks is reopened with a new ticket from the last change
//! seen, and a gap the server cannot replay (`reset`) means a full pull.

use std::rc::Rc;

use caresync_contract::facility::BedDto;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::{closure::Closure, JsCast as _};

use super::{session::SignedIn, writes::FetchError};

const TICKET: &str = "/internal/edge/stream-ticket";
const STREAM: &str = "/internal/edge/stream";

/// What the stream says, in the board's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Open, caught up to this change.
    Ready(u64),
    /// A committed change: the bed as it now stands.
    Bed(u64, Box<BedDto>),
    /// The gap since the last change seen cannot be replayed: pull the snapshot again.
    Reset(u64),
    /// The connection failed or ended: reopen with a new ticket.
    Broken,
}

#[derive(Deserialize)]
struct Ticket {
    ticket: String,
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

#[derive(Deserialize)]
struct BedChanged {
    seq: u64,
    bed: BedDto,
}

fn parse(kind: &str, data: &str) -> Option<LiveEvent> {
    match kind {
        "bed" => super::json::decode_str::<BedChanged>(data)
            .ok()
            .map(|c| LiveEvent::Bed(c.seq, Box::new(c.bed))),
        "ready" => super::json::decode_str::<Seq>(data)
            .ok()
            .map(|s| LiveEvent::Ready(s.seq)),
        "reset" => super::json::decode_str::<Seq>(data)
            .ok()
            .map(|s| LiveEvent::Reset(s.seq)),
        _ => None,
    }
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// An open stream; dropping it closes the connection.
pub struct Live {
    source: web_sys::EventSource,
    _listeners: Vec<Listener>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Opens the stream after change `after` (none: from now), telling `on` what it hears.
pub async fn open(
    s: &SignedIn,
    after: Option<u64>,
    on: Rc<dyn Fn(LiveEvent)>,
) -> Result<Live, FetchError> {
    let answer = s
        .runtime
        .transport()
        .post(TICKET, &json!({}))
        .await
        .map_err(FetchError::from)?;
    if answer.status != 200 {
        return Err(FetchError::Status(answer.status));
    }
    let ticket: Ticket = serde_json::from_value(answer.body)
        .map_err(|e| FetchError::Local(format!("the stream ticket could not be read: {e}")))?;
    let mut path = format!("{STREAM}?ticket={}", ticket.ticket);
    if let Some(seq) = after {
        path.push_str(&format!("&lastEventId={seq}"));
    }
    let url = s.runtime.transport().url(&path);
    let source = web_sys::EventSource::new(&url)
        .map_err(|_| FetchError::Local("the browser could not open the live stream".into()))?;
    let mut listeners = Vec::new();
    for kind in ["bed", "ready", "reset"] {
        let on = on.clone();
        let listener: Listener = Closure::new(move |ev: web_sys::Event| {
            let data = ev
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string());
            if let Some(event) = data.and_then(|d| parse(kind, &d)) {
                on(event);
            }
        });
        source
            .add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref())
            .map_err(|_| FetchError::Local("the live stream could not be listened to".into()))?;
        listeners.push(listener);
    }
    // A single-use ticket cannot be reused by the browser's own reconnect: close, and let the
    // board open a new stream.
    let broken_source = source.clone();
    let broken: Listener = Closure::new(move |_: web_sys::Event| {
        broken_source.close();
        on(LiveEvent::Broken);
    });
    source.set_onerror(Some(broken.as_ref().unchecked_ref()));
    listeners.push(broken);
    Ok(Live {
        source,
        _listeners: listeners,
    })
}
