//! Document service (seed 002): published templates with an ETag, render jobs deduplicated
//! by clientMutationId and rendered in the background, and artifacts behind signed,
//! expiring links.

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    params,
};
use caresync_contract::{
    documents::{
        ArtifactLinkDto, RenderJobDto, RenderJobIn, TemplateDto, ARTIFACT_URL_TTL_SECONDS,
    },
    ErrorCode,
};

use super::document_binding::{self as binding, ParameterError};
use crate::{
    auth::{Caller, Keys},
    db::DbError,
    domain::{
        dedupe::{self, Deduped},
        error::require_uuid,
        DomainError,
    },
    time::{iso, now_ms},
};

/// The `{{name}}` placeholders of a template body, in order of first use.
fn placeholders(body: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + end].trim().to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[start + end + 2..];
    }
    names
}

fn fill(body: &str, parameters: &serde_json::Map<String, serde_json::Value>) -> String {
    placeholders(body)
        .iter()
        .fold(body.to_owned(), |text, name| {
            let value = match parameters.get(name) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            text.replace(&format!("{{{{{name}}}}}"), &value)
        })
}

pub fn templates(conn: &Connection, caller: &Caller) -> Result<Vec<TemplateDto>, DomainError> {
    let mut stmt = conn.prepare("SELECT id, name, version, body FROM templates WHERE tenant_id = ?1 AND published = 1 ORDER BY name")?;
    let rows = stmt.query_map([&caller.tenant], |r| {
        let body: String = r.get(3)?;
        let (parameters, bound) = binding::describe(&placeholders(&body));
        Ok(TemplateDto {
            template_id: r.get(0)?,
            name: r.get(1)?,
            version: r.get(2)?,
            parameters,
            bound,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A refused parameter is the request's fault, naming the parameter for the form.
impl From<ParameterError> for DomainError {
    fn from(err: ParameterError) -> Self {
        let parameter = err.parameter().to_owned();
        DomainError::invalid(err.to_string()).with("parameter", parameter)
    }
}

const JOB_COLUMNS: &str = "id, client_mutation_id, template_id, template_version, status, created_at, completed_at, artifact_id";

fn job_row(r: &Row<'_>) -> crate::db::Result<RenderJobDto> {
    Ok(RenderJobDto {
        render_job_id: r.get(0)?,
        client_mutation_id: r.get(1)?,
        template_id: r.get(2)?,
        template_version: r.get(3)?,
        status: r.get(4)?,
        created_at: iso(r.get(5)?),
        completed_at: r.get::<Option<i64>>(6)?.map(iso),
        artifact_id: r.get(7)?,
    })
}

fn job_by_mutation(
    conn: &Connection,
    caller: &Caller,
    cmid: &str,
) -> Result<Option<RenderJobDto>, DomainError> {
    Ok(conn
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM render_jobs WHERE tenant_id = ?1 AND client_mutation_id = ?2"),
            params![caller.tenant, cmid],
            job_row,
        )
        .optional()?)
}

/// `POST /v1/documents/render-jobs`: queued; a replay returns the existing job as it is now.
pub fn create_job(
    conn: &Connection,
    caller: &Caller,
    job: RenderJobIn,
) -> Result<RenderJobDto, DomainError> {
    require_uuid("clientMutationId", &job.client_mutation_id)?;
    // Another requester's job is refused, not shown: it may print someone else's record.
    if dedupe::claim(conn, caller, Deduped::RenderJobs, &job.client_mutation_id)? {
        if let Some(existing) = job_by_mutation(conn, caller, &job.client_mutation_id)? {
            return Ok(existing);
        }
    }
    let template: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, body FROM templates WHERE id = ?1 AND tenant_id = ?2 AND published = 1",
            params![job.template_id, caller.tenant],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((version, body)) = template else {
        return Err(DomainError::not_found("No such published template."));
    };
    let names = placeholders(&body);
    let mut parameters = binding::chosen(&names, &job.parameters)?;
    // Bound here, at request time, and stored with the job rather than looked up when it
    // renders: a replay (same clientMutationId) is answered above with the job as first
    // taken, a render that runs later (or again) prints what the record said when the person
    // asked, and the row shows exactly what went into the PDF.
    parameters.extend(binding::bind(conn, caller, &names, now_ms())?);
    let job_id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO render_jobs (id, tenant_id, requester_id, client_mutation_id, template_id, template_version, parameters, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8)",
        params![
            job_id,
            caller.tenant,
            caller.user,
            job.client_mutation_id,
            job.template_id,
            version,
            serde_json::Value::Object(parameters).to_string(),
            now_ms()
        ],
    )?;
    crate::events::record(
        conn,
        &caller.tenant,
        crate::events::Subject::RenderJobQueued,
        serde_json::json!({"jobId": job_id, "requesterId": caller.user, "templateId": job.template_id,
                           "templateVersion": version, "status": "queued",
                           "clientMutationId": job.client_mutation_id}),
    )?;
    job_by_mutation(conn, caller, &job.client_mutation_id)?
        .ok_or_else(|| DomainError::not_found("The job vanished."))
}

pub fn job(conn: &Connection, caller: &Caller, id: &str) -> Result<RenderJobDto, DomainError> {
    conn.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM render_jobs WHERE id = ?1 AND tenant_id = ?2 AND requester_id = ?3"),
        params![id, caller.tenant, caller.user],
        job_row,
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such render job."))
}

/// The most render jobs one listing answers with; older ones drop off the end.
pub const MAX_LISTED_JOBS: i64 = 500;

/// `GET /v1/documents/render-jobs`: the caller's own jobs, newest first. Scoped to tenant and
/// requester both: a job names what a person asked to have written about them.
pub fn jobs(conn: &Connection, caller: &Caller) -> Result<Vec<RenderJobDto>, DomainError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM render_jobs WHERE tenant_id = ?1 AND requester_id = ?2 \
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![caller.tenant, caller.user, MAX_LISTED_JOBS],
        job_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The background renderer: turns queued jobs into PDFs. Returns how many it finished.
pub fn render_queued(conn: &mut Connection) -> Result<usize, DbError> {
    let queued: Vec<(String, String, String, String, String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT j.id, j.tenant_id, j.requester_id, j.parameters, t.name, t.body FROM render_jobs j \
             JOIN templates t ON t.id = j.template_id WHERE j.status = 'queued' ORDER BY j.created_at LIMIT 10",
        )?;
        let rows = stmt.query_map(params![], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let tx = conn.transaction()?;
    for (job, tenant, owner, parameters, name, body) in &queued {
        // Stored by `create_job` from a parsed body, so this holds; should it not, the job
        // renders without parameters and the cause is in the log.
        let parameters: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(parameters).unwrap_or_else(|err| {
                tracing::error!(%err, job, "stored render parameters do not parse");
                serde_json::Map::new()
            });
        match crate::pdf::render(name, &fill(body, &parameters)) {
            Ok(pdf) => store_artifact(&tx, job, tenant, owner, &pdf)?,
            Err(err) => {
                // Rendering the same job again would fail the same way: it fails once, and
                // the client sees `failed` rather than `queued` for ever.
                tracing::error!(%err, job, "could not render a document");
                let failed = tx.execute(
                    "UPDATE render_jobs SET status = 'failed', completed_at = ?1 \
                     WHERE id = ?2 AND status = 'queued'",
                    params![now_ms(), job],
                )?;
                if failed == 1 {
                    completed(&tx, job, tenant, owner, "failed", None)?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(queued.len())
}

fn store_artifact(
    tx: &Connection,
    job: &str,
    tenant: &str,
    owner: &str,
    pdf: &[u8],
) -> crate::db::Result<()> {
    let artifact = uuid::Uuid::now_v7().to_string();
    let now = now_ms();
    // Another instance may have rendered the job meanwhile: the first to finish keeps it.
    let claimed = tx.execute(
        "UPDATE render_jobs SET status = 'done', completed_at = ?1, artifact_id = ?2 \
         WHERE id = ?3 AND status = 'queued'",
        params![now, artifact, job],
    )?;
    if claimed == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO artifacts (id, tenant_id, owner_id, job_id, pdf, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![artifact, tenant, owner, job, pdf, now],
    )?;
    completed(tx, job, tenant, owner, "done", Some(&artifact))
}

fn completed(
    tx: &Connection,
    job: &str,
    tenant: &str,
    owner: &str,
    status: &str,
    artifact: Option<&str>,
) -> crate::db::Result<()> {
    crate::events::record(
        tx,
        tenant,
        crate::events::Subject::RenderJobCompleted,
        serde_json::json!({"jobId": job, "requesterId": owner, "status": status,
                           "artifactId": artifact}),
    )
    .map(drop)
}

/// `GET /v1/documents/artifacts/{id}`: a short-lived link that needs no token, so a PDF
/// viewer (or a print dialog) can open it; it names no patient, only the artifact.
pub fn link(
    conn: &Connection,
    caller: &Caller,
    keys: &Keys,
    id: &str,
) -> Result<ArtifactLinkDto, DomainError> {
    let owned: bool = conn
        .query_row(
            "SELECT 1 FROM artifacts WHERE id = ?1 AND tenant_id = ?2 AND owner_id = ?3",
            params![id, caller.tenant, caller.user],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if !owned {
        return Err(DomainError::not_found("No such artifact."));
    }
    let expires = now_ms() + ARTIFACT_URL_TTL_SECONDS * 1000;
    let signature = keys.sign_url(id, expires);
    Ok(ArtifactLinkDto {
        artifact_id: id.to_owned(),
        url: format!("/v1/documents/artifacts/{id}/pdf?expires={expires}&signature={signature}"),
        expires_at: iso(expires),
    })
}

/// The PDF behind a signed link.
pub fn pdf(
    conn: &Connection,
    keys: &Keys,
    id: &str,
    expires: i64,
    signature: &str,
) -> Result<Vec<u8>, DomainError> {
    if !keys.verify_url(id, expires, signature) {
        return Err(DomainError::forbidden_as(
            ErrorCode::Forbidden,
            "This link is invalid or has expired; ask for a new one.",
        ));
    }
    conn.query_row("SELECT pdf FROM artifacts WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such artifact."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        let body = "Dear {{patientName}}, until {{untilDate}}. Again {{patientName}}.";
        assert_eq!(placeholders(body), vec!["patientName", "untilDate"]);
        let mut p = serde_json::Map::new();
        p.insert("patientName".into(), "Alex".into());
        p.insert("untilDate".into(), "Friday".into());
        assert_eq!(fill(body, &p), "Dear Alex, until Friday. Again Alex.");
    }
}
