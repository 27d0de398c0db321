//! The user's decision on a parked or conflicting write, made the same way from every
//! screen: handed to the engine, audited, and a failure said in words.

use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::prelude::*;

use crate::{app::SessionHost, platform::audit::kind};

/// The user's decision on a blocked write, audited (kind, decision and the server's code;
/// never the content); a failure is said in words, not swallowed.
pub fn resolve(
    host: SessionHost,
    s: std::rc::Rc<crate::platform::session::SignedIn>,
    m: &Mutation,
    resolution: Resolution,
    problem: RwSignal<Option<String>>,
) {
    let id = m.id;
    let code = match &m.state {
        MutationState::Parked { reason, .. } => reason.code.as_str().to_owned(),
        MutationState::Conflict { .. } => "CONFLICT".to_owned(),
        _ => String::new(),
    };
    let payload = serde_json::json!({
        "kind": m.kind,
        "resolution": resolution.name(),
        "code": code,
    });
    leptos::task::spawn_local(async move {
        match s.runtime.resolve(id, resolution).await {
            Ok(_) => {
                problem.set(None);
                // A discarded write's sealed copy (shared devices) goes with it.
                if let Some(device) = host.device.get_untracked() {
                    device.prune_escrow(&s).await;
                }
                host.audit_for(&s.user.tenant_id, &s.user.user_id, kind::RESOLVED, payload)
                    .await;
            }
            Err(err) => problem.set(Some(format!(
                "This change could not be updated on this device: {err}"
            ))),
        }
    });
}
