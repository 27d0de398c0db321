//! Store-and-forward visits on the device: the draft (a chief complaint and photos, sealed
//! in the drafts store and saved as the user types), its submission as one local commit
//! (the pending visit and its outbox entry together, under one clientMutationId), and the
//! user's visits as the server last listed them.

use caresync_contract::virtual_care::{AsyncVisitDto, AsyncVisitIn, AttachmentIn};
use caresync_sync::order::{by_text, Direction};
use caresync_sync::{AggregateKind, Mutation, NewMutation};
use serde::{Deserialize, Serialize};

use super::{
    outbox_store::EntityChange,
    photos::Photo,
    session::SignedIn,
    writes::{get_json, iso_now, refreshed, Creation, FetchError},
};

const VISITS: &str = "/api/v1/virtual-care/async-visits";
const DRAFT: &str = "visit-draft";
const SUBMITTED: &str = "visit:";
pub const PENDING: &str = "visit-pending:";

/// A visit is created offline in a lane of its own, with its pending record.
pub const CREATION: Creation<'static> = Creation {
    kind: AggregateKind::AsyncVisit,
    lane: "visit",
    path: VISITS,
    record: PENDING,
};

/// What the user is writing, kept across reloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitDraft {
    pub chief_complaint: String,
    pub photos: Vec<Photo>,
}

impl VisitDraft {
    pub fn is_empty(&self) -> bool {
        self.chief_complaint.trim().is_empty() && self.photos.is_empty()
    }
}

/// A visit submitted on this device and not yet listed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingVisit {
    pub client_mutation_id: String,
    pub chief_complaint: String,
    pub photos: usize,
    pub submitted_at: String,
}

pub async fn draft(s: &SignedIn) -> Result<VisitDraft, FetchError> {
    s.cache
        .draft_value(DRAFT)
        .await
        .map(Option::unwrap_or_default)
        .map_err(|e| FetchError::Local(e.to_string()))
}

pub async fn save_draft(s: &SignedIn, draft: &VisitDraft) -> Result<(), FetchError> {
    let value = (!draft.is_empty()).then_some(draft);
    s.cache
        .save_draft_value(DRAFT, value)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))
}

/// The visit write and its pending record: committed together by the runtime.
pub fn submission(s: &SignedIn, draft: &VisitDraft) -> (NewMutation, EntityChange) {
    let id = uuid::Uuid::now_v7();
    let body = AsyncVisitIn {
        client_mutation_id: id.to_string(),
        chief_complaint: draft.chief_complaint.trim().to_owned(),
        attachments: draft
            .photos
            .iter()
            .map(|p| AttachmentIn {
                file_name: p.file_name.clone(),
                content_type: p.content_type.clone(),
                data_base64: p.data_base64.clone(),
            })
            .collect(),
    };
    let pending = PendingVisit {
        client_mutation_id: id.to_string(),
        chief_complaint: body.chief_complaint.clone(),
        photos: draft.photos.len(),
        submitted_at: iso_now(),
    };
    CREATION.write(
        s,
        id,
        serde_json::to_value(&body).unwrap_or_default(),
        serde_json::to_value(&pending).unwrap_or_default(),
    )
}

/// The visits the server listed last time, and those submitted here since.
pub async fn visits(s: &SignedIn) -> Result<(Vec<AsyncVisitDto>, Vec<PendingVisit>), FetchError> {
    let local = |e: super::idb::StoreError| FetchError::Local(e.to_string());
    let mut listed: Vec<AsyncVisitDto> = s.cache.all(SUBMITTED).await.map_err(local)?;
    by_text(&mut listed, Direction::Descending, |v| &v.created_at);
    let ids: Vec<&str> = listed
        .iter()
        .map(|v| v.client_mutation_id.as_str())
        .collect();
    let pending = CREATION
        .unlisted(s, &ids, |p: &PendingVisit| &p.client_mutation_id)
        .await?;
    Ok((listed, pending))
}

/// Stale-while-revalidate: the list is on screen from the cache; this refreshes it.
pub async fn revalidate(s: &SignedIn) -> Result<(), FetchError> {
    let visits: Vec<AsyncVisitDto> = get_json(s, VISITS).await?;
    let records: Vec<(String, AsyncVisitDto)> = visits
        .into_iter()
        .map(|v| (format!("{SUBMITTED}{}", v.async_visit_id), v))
        .collect();
    s.cache
        .replace_all(SUBMITTED, &records)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    refreshed(s).await
}

/// The body of a refused visit without its photo at `index` ("Remove photo and retry"), or
/// `None` if it has no such photo.
pub fn without_photo(m: &Mutation, index: usize) -> Option<serde_json::Value> {
    let mut body = m.request.body.clone();
    let photos = body.get_mut("attachments")?.as_array_mut()?;
    (index < photos.len()).then(|| photos.remove(index))?;
    Some(body)
}
