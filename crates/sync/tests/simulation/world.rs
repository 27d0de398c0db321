//! The simulated user: the writes they make (messages, read receipts, session cancels on a
//! version they may have seen long ago) and what happened to them.

use std::{
    cell::Cell,
    collections::{HashMap, HashSet},
    rc::Rc,
};

use caresync_sync::{
    backoff::{RandomSource, SplitMix64},
    model::Versioned,
    AggregateKind, ClientMutationId, Lane, Millis, NewMutation, Request,
};
use serde_json::json;

use crate::model_server::ModelServer;

/// What the simulated user did, to judge the end state against.
pub struct World {
    pub rng: SplitMix64,
    pub now: Rc<Cell<Millis>>,
    pub created: Vec<(ClientMutationId, Lane)>,
    pub discarded: HashSet<ClientMutationId>,
    pub coalesced: HashSet<ClientMutationId>,
    pub known_version: HashMap<String, i64>,
    pub read_clock: u64,
}

impl World {
    pub fn pick(&mut self, n: u64) -> u64 {
        self.rng.up_to(n - 1)
    }

    pub fn new_id(&mut self) -> ClientMutationId {
        let mut bytes = [0u8; 10];
        for b in &mut bytes {
            *b = self.rng.next_u64() as u8;
        }
        uuid::Builder::from_unix_timestamp_millis(self.now.get(), &bytes).into_uuid()
    }

    pub fn new_write(&mut self, server: &ModelServer) -> NewMutation {
        let id = self.new_id();
        let base = |kind, lane: String, path: String, body| NewMutation {
            id,
            tenant: "north-clinic".into(),
            actor: "patient1".into(),
            kind,
            lane: Lane::new(lane),
            request: Request {
                method: "POST".into(),
                path,
                body,
            },
            coalesce_key: None,
            versioned: None,
        };
        match self.pick(10) {
            0..=5 => {
                let t = self.pick(3);
                base(
                    AggregateKind::Message,
                    format!("thread:{t}"),
                    format!("/threads/{t}/messages"),
                    json!({"clientMutationId": id, "body": format!("hello {id}")}),
                )
            }
            6..=7 => {
                let msg = format!("m{}", self.pick(3));
                self.read_clock += 1 + self.pick(5);
                let mut w = base(
                    AggregateKind::ReadReceipt,
                    format!("read:{msg}"),
                    "/read".into(),
                    json!({"clientMutationId": id, "messageIds": [msg], "readAt": self.read_clock}),
                );
                w.coalesce_key = Some(format!("read:{msg}"));
                w
            }
            _ => {
                let s = format!("s{}", self.pick(2));
                // The client acts on the version it last saw, which may be stale.
                let version = *self
                    .known_version
                    .entry(s.clone())
                    .or_insert_with(|| server.state.borrow().sessions[&s].version);
                let mut w = base(
                    AggregateKind::VirtualSession,
                    format!("session:{s}"),
                    format!("/sessions/{s}/cancel"),
                    json!({"clientMutationId": id, "version": version}),
                );
                w.versioned = Some(Versioned {
                    refetch_path: format!("/sessions/{s}"),
                    applies_in: vec!["scheduled".into(), "waiting".into()],
                });
                w
            }
        }
    }
}
