//! Store-and-forward visits (seed 000 §2): a patient's complaint with up to four photos,
//! deduplicated by clientMutationId so a retried submit gets the original back. Sessions
//! live in [`super::sessions`].

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use base64::Engine as _;
use caresync_contract::{
    auth::Role,
    virtual_care::{
        AsyncVisitDto, AsyncVisitIn, AttachmentDto, AttachmentIn, MAX_ATTACHMENTS,
        MAX_ATTACHMENT_BYTES,
    },
    ErrorCode,
};

use crate::{
    auth::Caller,
    domain::{dedupe, error::require_uuid, DomainError},
    time::{iso, now_ms},
};

/// Why one photo is refused. Each maps to a code the app can park the visit on, with the
/// photo's index and name so it can offer "Remove photo and retry" for that one.
#[derive(Debug, thiserror::Error)]
enum PhotoRefusal {
    #[error("fileName must be 1 to 200 characters")]
    BadName,
    #[error("contentType must be image/png or image/jpeg, not {0:?}")]
    UnsupportedType(String),
    #[error("dataBase64 is not base64")]
    NotBase64,
    #[error("an image may be at most {} KiB; this one is {size} bytes", MAX_ATTACHMENT_BYTES / 1024)]
    TooLarge { size: usize },
    #[error("the data is not a {0} image")]
    NotThatImage(String),
}

impl PhotoRefusal {
    fn into_domain(self, index: usize, file_name: &str) -> DomainError {
        let message = format!("Photo {}: {self}.", index + 1);
        let err = match &self {
            PhotoRefusal::BadName | PhotoRefusal::NotBase64 => DomainError::invalid(message),
            PhotoRefusal::TooLarge { .. } => {
                DomainError::too_large(ErrorCode::PayloadTooLarge, message)
            }
            PhotoRefusal::UnsupportedType(_) | PhotoRefusal::NotThatImage(_) => {
                DomainError::unsupported(ErrorCode::UnsupportedAttachment, message)
            }
        };
        let mut err = err
            .with("attachmentIndex", index)
            .with("fileName", file_name);
        if let PhotoRefusal::TooLarge { size } = self {
            err = err
                .with("size", size)
                .with("maxBytes", MAX_ATTACHMENT_BYTES);
        }
        err
    }
}

/// Checks an attachment is the image it says it is (by its first bytes), within the limit.
fn decode_image(a: &AttachmentIn) -> Result<Vec<u8>, PhotoRefusal> {
    if a.file_name.trim().is_empty() || a.file_name.chars().count() > 200 {
        return Err(PhotoRefusal::BadName);
    }
    let signature: &[u8] = match a.content_type.as_str() {
        "image/png" => b"\x89PNG\r\n\x1a\n",
        "image/jpeg" => &[0xFF, 0xD8, 0xFF],
        other => return Err(PhotoRefusal::UnsupportedType(other.to_owned())),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.data_base64.as_bytes())
        .map_err(|_| PhotoRefusal::NotBase64)?;
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(PhotoRefusal::TooLarge { size: bytes.len() });
    }
    if !bytes.starts_with(signature) {
        return Err(PhotoRefusal::NotThatImage(a.content_type.clone()));
    }
    Ok(bytes)
}

type VisitRow = (String, String, String, String, i64);

/// The caller's visit with this clientMutationId, if they have one. The id is unique per
/// tenant: another patient's use of it is refused rather than answered with their visit.
fn visit_by_mutation(
    conn: &Connection,
    caller: &Caller,
    cmid: &str,
) -> Result<Option<AsyncVisitDto>, DomainError> {
    let found: Option<(VisitRow, String)> = conn
        .query_row(
            "SELECT id, client_mutation_id, chief_complaint, status, created_at, patient_id \
             FROM async_visits WHERE tenant_id = ?1 AND client_mutation_id = ?2",
            params![caller.tenant, cmid],
            |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    match found {
        None => Ok(None),
        Some((row, patient)) if patient == caller.user => visit_dto(conn, row).map(Some),
        Some(_) => Err(dedupe::mutation_id_conflict()),
    }
}

fn visit_dto(
    conn: &Connection,
    (id, cmid, complaint, status, at): VisitRow,
) -> Result<AsyncVisitDto, DomainError> {
    let mut stmt = conn.prepare("SELECT id, file_name, content_type, length(bytes) FROM visit_attachments WHERE visit_id = ?1 ORDER BY id")?;
    let attachments = stmt
        .query_map([&id], |r| {
            Ok(AttachmentDto {
                attachment_id: r.get(0)?,
                file_name: r.get(1)?,
                content_type: r.get(2)?,
                size: r.get::<i64>(3)? as usize,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(AsyncVisitDto {
        async_visit_id: id,
        client_mutation_id: cmid,
        chief_complaint: complaint,
        attachments,
        status,
        created_at: iso(at),
    })
}

/// `POST /api/v1/virtual-care/async-visits`: the first submission wins; a retry gets it back.
pub fn submit_visit(
    conn: &Connection,
    caller: &Caller,
    visit: AsyncVisitIn,
) -> Result<AsyncVisitDto, DomainError> {
    require_uuid("clientMutationId", &visit.client_mutation_id)?;
    if caller.role != Role::Patient {
        return Err(DomainError::forbidden_as(
            ErrorCode::Forbidden,
            "Async visits are submitted by patients.",
        ));
    }
    let complaint = visit.chief_complaint.trim();
    if complaint.is_empty() || complaint.chars().count() > 4_000 {
        return Err(DomainError::invalid(
            "chiefComplaint must be 1 to 4000 characters",
        ));
    }
    if visit.attachments.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments"
        )));
    }
    // Before the photos are checked: a retry of a visit already taken is answered as it was,
    // whatever the rules were then.
    if let Some(existing) = visit_by_mutation(conn, caller, &visit.client_mutation_id)? {
        return Ok(existing);
    }
    let mut images = Vec::with_capacity(visit.attachments.len());
    for (index, a) in visit.attachments.iter().enumerate() {
        images.push(decode_image(a).map_err(|why| why.into_domain(index, &a.file_name))?);
    }
    let id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO async_visits (id, tenant_id, patient_id, client_mutation_id, chief_complaint, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'submitted', ?6)",
        params![id, caller.tenant, caller.user, visit.client_mutation_id, complaint, now_ms()],
    )?;
    for (a, bytes) in visit.attachments.iter().zip(images) {
        conn.execute(
            "INSERT INTO visit_attachments (id, visit_id, file_name, content_type, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid::Uuid::now_v7().to_string(), id, a.file_name, a.content_type, bytes],
        )?;
    }
    crate::events::record(
        conn,
        &caller.tenant,
        crate::events::Subject::AsyncVisitSubmitted,
        serde_json::json!({"visitId": id, "patientId": caller.user, "status": "submitted",
                           "clientMutationId": visit.client_mutation_id,
                           "attachments": visit.attachments.len()}),
    )?;
    visit_by_mutation(conn, caller, &visit.client_mutation_id)?
        .ok_or_else(|| DomainError::not_found("The visit vanished."))
}

/// The caller's own visits, newest first.
pub fn list_visits(conn: &Connection, caller: &Caller) -> Result<Vec<AsyncVisitDto>, DomainError> {
    let mut stmt = conn.prepare(
        "SELECT id, client_mutation_id, chief_complaint, status, created_at FROM async_visits \
         WHERE tenant_id = ?1 AND patient_id = ?2 ORDER BY created_at DESC, id DESC",
    )?;
    let rows: Vec<VisitRow> = stmt
        .query_map(params![caller.tenant, caller.user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(|row| visit_dto(conn, row)).collect()
}

/// An attachment's bytes, for the visit's own patient only.
pub fn attachment(
    conn: &Connection,
    caller: &Caller,
    visit: &str,
    attachment: &str,
) -> Result<(String, Vec<u8>), DomainError> {
    conn.query_row(
        "SELECT a.content_type, a.bytes FROM visit_attachments a JOIN async_visits v ON v.id = a.visit_id \
         WHERE a.id = ?1 AND v.id = ?2 AND v.tenant_id = ?3 AND v.patient_id = ?4",
        params![attachment, visit, caller.tenant, caller.user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such attachment."))
}
