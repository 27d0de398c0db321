//! How a write's state is read back from storage: one flat record, checked into a
//! [`MutationState`].

use serde::Deserialize;

use super::{Action, MutationState, ParkReason, Receipt};

/// A state as it is stored: its tag and whichever fields its variant has. States are read
/// through this flat record because serde's reader for an internally tagged enum buffers
/// every value before it looks at the tag, which cost the app's shell about 6 KB of wasm.
#[derive(Deserialize)]
pub(super) struct StoredState {
    state: String,
    receipt: Option<Receipt>,
    reason: Option<ParkReason>,
    actions: Option<Vec<Action>>,
    payload: Option<serde_json::Value>,
}

/// A stored state that names no known state, or lacks a field its state needs.
#[derive(Debug, thiserror::Error)]
#[error("stored state `{state}` is unknown or lacks `{missing}`")]
pub struct StoredStateError {
    state: String,
    missing: &'static str,
}

impl TryFrom<StoredState> for MutationState {
    type Error = StoredStateError;

    fn try_from(stored: StoredState) -> Result<Self, Self::Error> {
        let StoredState {
            state,
            receipt,
            reason,
            actions,
            payload,
        } = stored;
        let lacks = |missing| StoredStateError {
            state: state.clone(),
            missing,
        };
        Ok(match state.as_str() {
            Self::PENDING => MutationState::Pending,
            Self::IN_FLIGHT => MutationState::InFlight,
            Self::DONE => MutationState::Done {
                receipt: receipt.ok_or_else(|| lacks("receipt"))?,
            },
            Self::PARKED => MutationState::Parked {
                reason: reason.ok_or_else(|| lacks("reason"))?,
                actions: actions.ok_or_else(|| lacks("actions"))?,
            },
            // A conflict whose server state was `null` is still a conflict.
            Self::CONFLICT => MutationState::Conflict {
                payload: payload.unwrap_or_default(),
            },
            _ => return Err(lacks("a known state")),
        })
    }
}
