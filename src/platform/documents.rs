//! Documents on the device: the published templates (kept, and revalidated with
//! `If-None-Match`), the user's render jobs and those requested here (queued append-only
//! under one clientMutationId), and the PDF of each ready job, kept sealed with a TTL that is
//! checked on every read. A signed link is fetched, used at once and never kept.

use caresync_contract::documents::{ArtifactLinkDto, RenderJobDto, RenderJobIn, TemplateDto};
use caresync_sync::order::{by_text, Direction};
use caresync_sync::{AggregateKind, NewMutation};
use serde::{Deserialize, Serialize};

use super::{
    device_class,
    idb::StoreError,
    outbox_store::EntityChange,
    session::SignedIn,
    transport::now_ms,
    writes::{get_json, iso_now, Creation, FetchError},
};

const TEMPLATES: &str = "/v1/documents/templates";
const JOBS: &str = "/v1/documents/render-jobs";
const ARTIFACTS: &str = "/v1/documents/artifacts";

const TEMPLATE: &str = "doc-template:";
const TEMPLATES_TAG: &str = "doc-templates-etag";
const JOB: &str = "doc-job:";
pub const PENDING: &str = "doc-pending:";

/// A render request is created offline in a lane of its own, with its pending record.
pub const CREATION: Creation<'static> = Creation {
    kind: AggregateKind::RenderJob,
    lane: "document",
    path: JOBS,
    record: PENDING,
};
/// A copy's when and until, apart from its bytes, so a sweep opens no PDF.
const COPY: &str = "doc-copy:";
const PDF: &str = "doc-pdf:";

/// The TTL when the tenant's config has not been read on this device.
pub const DEFAULT_TTL_SECS: u64 = 7 * 24 * 3600;

/// Why a kept PDF cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("This copy has expired: connect to download it again")]
    Expired,
    #[error("This document is not saved on this device yet: connect to download it")]
    Missing,
    #[error("The server sent something that is not a PDF")]
    NotPdf,
    #[error("The download link was refused (status {0})")]
    Refused(u16),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> Self {
        CopyError::Fetch(FetchError::Local(e.to_string()))
    }
}

/// A render request made on this device and not yet listed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingJob {
    pub client_mutation_id: String,
    pub template_id: String,
    pub template_name: String,
    pub requested_at: String,
}

/// When a kept copy was fetched and until when it may be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyInfo {
    pub artifact_id: String,
    pub fetched_at: f64,
    pub expires_at: f64,
    pub size: usize,
}

impl CopyInfo {
    pub fn expired(&self, now: f64) -> bool {
        now >= self.expires_at
    }
}

fn local(e: StoreError) -> FetchError {
    FetchError::Local(e.to_string())
}

pub async fn templates(s: &SignedIn) -> Result<Vec<TemplateDto>, FetchError> {
    let mut list: Vec<TemplateDto> = s.cache.all(TEMPLATE).await.map_err(local)?;
    by_text(&mut list, Direction::Ascending, |t| &t.name);
    Ok(list)
}

/// Stale-while-revalidate with the list's validator: an unchanged list costs a `304`.
/// Answers whether the kept list changed.
pub async fn revalidate_templates(s: &SignedIn) -> Result<bool, FetchError> {
    let tag: Option<String> = s.cache.entity(TEMPLATES_TAG).await.map_err(local)?;
    let answer = s
        .runtime
        .transport()
        .get_if_none_match(TEMPLATES, tag.as_deref())
        .await
        .map_err(FetchError::from)?;
    match answer.status {
        304 => return Ok(false),
        200 => {}
        status => return Err(FetchError::Status(status)),
    }
    let list: Vec<TemplateDto> = serde_json::from_value(answer.body)
        .map_err(|e| FetchError::Local(format!("the templates could not be read: {e}")))?;
    let records: Vec<(String, TemplateDto)> = list
        .into_iter()
        .map(|t| (format!("{TEMPLATE}{}", t.template_id), t))
        .collect();
    s.cache
        .replace_all(TEMPLATE, &records)
        .await
        .map_err(local)?;
    s.cache
        .put_entity(TEMPLATES_TAG, answer.etag.as_ref())
        .await
        .map_err(local)?;
    Ok(true)
}

/// The render request and its pending record, committed together by the runtime.
pub fn request(
    s: &SignedIn,
    template: &TemplateDto,
    parameters: serde_json::Map<String, serde_json::Value>,
) -> (NewMutation, EntityChange) {
    let id = uuid::Uuid::now_v7();
    let body = RenderJobIn {
        client_mutation_id: id.to_string(),
        template_id: template.template_id.clone(),
        parameters,
    };
    let pending = PendingJob {
        client_mutation_id: id.to_string(),
        template_id: template.template_id.clone(),
        template_name: template.name.clone(),
        requested_at: iso_now(),
    };
    CREATION.write(
        s,
        id,
        serde_json::to_value(&body).unwrap_or_default(),
        serde_json::to_value(&pending).unwrap_or_default(),
    )
}

/// The jobs the server listed last, newest first, and the requests made here since.
pub async fn jobs(s: &SignedIn) -> Result<(Vec<RenderJobDto>, Vec<PendingJob>), FetchError> {
    let mut listed: Vec<RenderJobDto> = s.cache.all(JOB).await.map_err(local)?;
    by_text(&mut listed, Direction::Descending, |d| &d.created_at);
    let ids: Vec<&str> = listed
        .iter()
        .map(|j| j.client_mutation_id.as_str())
        .collect();
    let pending = CREATION
        .unlisted(s, &ids, |p: &PendingJob| &p.client_mutation_id)
        .await?;
    Ok((listed, pending))
}

/// What a refresh of the job list found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    /// A job is still being made: look again.
    pub rendering: bool,
    /// The kept list or copies changed: the screen reads them again.
    pub changed: bool,
}

/// Refreshes the job list, then downloads each ready document not yet kept (or expired).
pub async fn revalidate_jobs(s: &SignedIn) -> Result<Followed, FetchError> {
    let list: Vec<RenderJobDto> = get_json(s, JOBS).await?;
    let mut kept: Vec<RenderJobDto> = s.cache.all(JOB).await.map_err(local)?;
    by_text(&mut kept, Direction::Descending, |d| &d.created_at);
    let mut changed = kept != list;
    let records: Vec<(String, RenderJobDto)> = list
        .iter()
        .map(|j| (format!("{JOB}{}", j.render_job_id), j.clone()))
        .collect();
    s.cache.replace_all(JOB, &records).await.map_err(local)?;
    let now = now_ms() as f64;
    for artifact in list.iter().filter_map(|j| j.artifact_id.as_deref()) {
        let kept = copy_info(s, artifact).await.map_err(local)?;
        if kept.is_none_or(|c| c.expired(now)) {
            match download(s, artifact).await {
                Ok(_) => changed = true,
                Err(err) => {
                    leptos::logging::warn!("a ready document could not be downloaded: {err}")
                }
            }
        }
    }
    Ok(Followed {
        rendering: list.iter().any(|j| j.status == "queued"),
        changed,
    })
}

pub async fn copy_info(s: &SignedIn, artifact: &str) -> Result<Option<CopyInfo>, StoreError> {
    s.cache.entity(&format!("{COPY}{artifact}")).await
}

/// Fetches a fresh signed link and the PDF behind it, and keeps the PDF sealed until the
/// tenant's TTL runs out. The link itself is used once and dropped.
pub async fn download(s: &SignedIn, artifact: &str) -> Result<CopyInfo, CopyError> {
    let link: ArtifactLinkDto = get_json(s, &format!("{ARTIFACTS}/{artifact}")).await?;
    let url = s.runtime.transport().url(&link.url);
    let (status, bytes) = s
        .runtime
        .transport()
        .get_bytes(&url)
        .await
        .map_err(|_| CopyError::Fetch(FetchError::Offline))?;
    if status != 200 {
        return Err(CopyError::Refused(status));
    }
    if !bytes.starts_with(b"%PDF-") {
        return Err(CopyError::NotPdf);
    }
    let ttl = device_class::fetch(&s.user.tenant_id)
        .await
        .map_or(DEFAULT_TTL_SECS, |c| c.document_cache_ttl_seconds);
    let now = now_ms() as f64;
    let info = CopyInfo {
        artifact_id: artifact.to_owned(),
        fetched_at: now,
        expires_at: now + ttl as f64 * 1000.0,
        size: bytes.len(),
    };
    s.cache
        .put_with_bytes(
            (&format!("{COPY}{artifact}"), &info),
            (&format!("{PDF}{artifact}"), &bytes),
        )
        .await?;
    Ok(info)
}

/// A kept PDF read for showing, with its record: it stops being shown when that expires.
pub struct OpenCopy {
    pub bytes: Vec<u8>,
    pub info: CopyInfo,
}

/// The kept PDF, if it is still within its TTL; an expired copy is purged, never shown.
pub async fn read_copy(s: &SignedIn, artifact: &str) -> Result<OpenCopy, CopyError> {
    let info = copy_info(s, artifact).await?.ok_or(CopyError::Missing)?;
    if info.expired(now_ms() as f64) {
        purge(s, artifact).await?;
        return Err(CopyError::Expired);
    }
    let bytes = s
        .cache
        .bytes(&format!("{PDF}{artifact}"))
        .await?
        .ok_or(CopyError::Missing)?;
    Ok(OpenCopy { bytes, info })
}

async fn purge(s: &SignedIn, artifact: &str) -> Result<(), StoreError> {
    s.cache
        .remove_entities(&[format!("{PDF}{artifact}"), format!("{COPY}{artifact}")])
        .await
}

/// Purges every kept copy past its TTL (on opening the screen), reading no PDF.
pub async fn purge_expired(s: &SignedIn) -> Result<usize, StoreError> {
    let now = now_ms() as f64;
    let infos: Vec<CopyInfo> = s.cache.all(COPY).await?;
    let mut purged = 0;
    for info in infos.iter().filter(|i| i.expired(now)) {
        purge(s, &info.artifact_id).await?;
        purged += 1;
    }
    Ok(purged)
}
