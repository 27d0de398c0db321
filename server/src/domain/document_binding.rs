//! What a document template's placeholders mean: those the server binds from the caller's
//! identity and record (their name, their last visit), never from a request, so nobody can put
//! another name on a sick note; and the label and input kind of those the person chooses.

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::documents::{
    ParameterInput, TemplateParameterDto, MAX_TEXT_PARAMETER_CHARS,
};
use serde_json::{Map, Value};

use crate::auth::Caller;

/// Placeholders the server fills from the caller's record. A request that sends one is
/// refused, whichever template it asks for.
pub const BOUND: [&str; 3] = ["patientName", "visitDate", "summary"];

/// The person-chosen placeholders the server can label. Any other placeholder is free text,
/// labelled by its own name: a new template works before anyone adds it here.
const KNOWN: &[(&str, &str, ParameterInput)] =
    &[("untilDate", "Unfit for work until", ParameterInput::Date)];

/// The summary when the caller has no async visit on record: the document says so rather
/// than leave a gap a reader might take for an omission.
pub const NO_VISIT_SUMMARY: &str = "There is no recent visit on record.";

/// Why a render request's parameters were refused.
#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    #[error("{0} is filled in by the server from your record; do not send it")]
    Bound(String),
    #[error("{0} is not a parameter of this template")]
    Unknown(String),
    #[error("missing parameters: {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("{0} must be a date like 2026-11-24")]
    NotADate(String),
    #[error("{0} must be one line of 1 to {MAX_TEXT_PARAMETER_CHARS} characters")]
    BadText(String),
}

impl ParameterError {
    /// The parameter the refusal is about (the first, when several are missing), so a form
    /// can point at its field.
    pub fn parameter(&self) -> &str {
        match self {
            ParameterError::Bound(name)
            | ParameterError::Unknown(name)
            | ParameterError::NotADate(name)
            | ParameterError::BadText(name) => name,
            ParameterError::Missing(names) => names.first().map_or("", String::as_str),
        }
    }
}

fn is_bound(name: &str) -> bool {
    BOUND.contains(&name)
}

fn input_of(name: &str) -> (String, ParameterInput) {
    KNOWN.iter().find(|(known, _, _)| *known == name).map_or(
        (name.to_owned(), ParameterInput::Text),
        |(_, label, input)| ((*label).to_owned(), *input),
    )
}

/// A template's placeholders as its request form needs them: the fields the person fills in,
/// and the names the server binds.
pub fn describe(placeholders: &[String]) -> (Vec<TemplateParameterDto>, Vec<String>) {
    let (bound, chosen): (Vec<&String>, Vec<&String>) =
        placeholders.iter().partition(|p| is_bound(p));
    let fields = chosen
        .into_iter()
        .map(|name| {
            let (label, input_type) = input_of(name);
            TemplateParameterDto {
                name: name.clone(),
                label,
                input_type,
            }
        })
        .collect();
    (fields, bound.into_iter().cloned().collect())
}

/// The person's values for a template, checked: nothing the server binds, nothing the template
/// does not use, nothing missing, and each value of its kind (trimmed).
pub fn chosen(
    placeholders: &[String],
    supplied: &Map<String, Value>,
) -> Result<Map<String, Value>, ParameterError> {
    if let Some(name) = BOUND.iter().find(|b| supplied.contains_key(**b)) {
        return Err(ParameterError::Bound((*name).to_owned()));
    }
    if let Some(name) = supplied.keys().find(|k| !placeholders.contains(k)) {
        return Err(ParameterError::Unknown(name.clone()));
    }
    let missing: Vec<String> = placeholders
        .iter()
        .filter(|p| !is_bound(p) && !supplied.contains_key(*p))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(ParameterError::Missing(missing));
    }
    let mut values = Map::new();
    for (name, value) in supplied {
        values.insert(name.clone(), Value::String(checked(name, value)?));
    }
    Ok(values)
}

/// One value, as its kind requires. Text is one line: a newline in a person's value could
/// otherwise forge a line of the document (a signature, a second paragraph).
fn checked(name: &str, value: &Value) -> Result<String, ParameterError> {
    let text = value.as_str().map(str::trim).unwrap_or_default();
    match input_of(name).1 {
        ParameterInput::Date => {
            let plain =
                text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
            plain
                .then(|| text.to_owned())
                .ok_or_else(|| ParameterError::NotADate(name.to_owned()))
        }
        ParameterInput::Text => {
            let fits = !text.is_empty()
                && text.chars().count() <= MAX_TEXT_PARAMETER_CHARS
                && !text.chars().any(char::is_control);
            fits.then(|| text.to_owned())
                .ok_or_else(|| ParameterError::BadText(name.to_owned()))
        }
    }
}

/// The values the server binds for the template's bound placeholders, from the caller's
/// record as it is at `now` (milliseconds).
pub fn bind(
    conn: &Connection,
    caller: &Caller,
    placeholders: &[String],
    now: i64,
) -> crate::db::Result<Map<String, Value>> {
    let mut values = Map::new();
    for name in placeholders.iter().filter(|p| is_bound(p)) {
        let value = match name.as_str() {
            "patientName" => display_name(conn, caller)?,
            "visitDate" => plain_date(last_visit_at(conn, caller, now)?.unwrap_or(now)),
            "summary" => last_complaint(conn, caller)?.unwrap_or_else(|| NO_VISIT_SUMMARY.into()),
            // `BOUND` and this match list the same names; an unmatched one stays unfilled.
            _ => continue,
        };
        values.insert(name.clone(), Value::String(value));
    }
    Ok(values)
}

fn display_name(conn: &Connection, caller: &Caller) -> crate::db::Result<String> {
    conn.query_row(
        "SELECT display_name FROM users WHERE id = ?1 AND tenant_id = ?2",
        params![caller.user, caller.tenant],
        |r| r.get(0),
    )
}

/// When the caller's most recent visit was: an async visit's submission, or a video visit
/// that took place (admitted: active or ended; not one that was only booked, cancelled or
/// failed to connect), whichever is later and not in the future.
fn last_visit_at(conn: &Connection, caller: &Caller, now: i64) -> crate::db::Result<Option<i64>> {
    conn.query_row(
        "SELECT MAX(at) FROM ( \
           SELECT created_at AS at FROM async_visits WHERE tenant_id = ?1 AND patient_id = ?2 \
           UNION ALL \
           SELECT scheduled_at FROM sessions WHERE tenant_id = ?1 AND patient_id = ?2 \
             AND status IN ('active', 'ended') \
         ) AS visits WHERE at <= ?3",
        params![caller.tenant, caller.user, now],
        |r| r.get(0),
    )
}

fn last_complaint(conn: &Connection, caller: &Caller) -> crate::db::Result<Option<String>> {
    conn.query_row(
        "SELECT chief_complaint FROM async_visits WHERE tenant_id = ?1 AND patient_id = ?2 \
         ORDER BY created_at DESC, id DESC LIMIT 1",
        params![caller.tenant, caller.user],
        |r| r.get(0),
    )
    .optional()
}

/// A plain date, `YYYY-MM-DD`, in UTC: the server does not know the patient's time zone, and
/// a date that moves with the reader's clock would not be a record.
fn plain_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn known_fields_are_labelled_unknown_ones_are_text_and_bound_ones_named() {
        let (fields, bound) = describe(&names(&["patientName", "untilDate", "employer"]));
        assert_eq!(bound, vec!["patientName"]);
        let wire = serde_json::to_value(&fields).expect("fields serialise");
        assert_eq!(
            wire,
            json!([{"name": "untilDate", "label": "Unfit for work until", "inputType": "date"},
                   {"name": "employer", "label": "employer", "inputType": "text"}])
        );
    }

    #[test]
    fn a_request_is_refused_for_a_bound_unknown_missing_or_malformed_value() {
        let sick = names(&["patientName", "untilDate"]);
        let refusal = |params: Value| chosen(&sick, &map(params)).err().map(|e| e.to_string());
        let bound = refusal(json!({"patientName": "Someone Else", "untilDate": "2026-12-01"}));
        assert!(bound.is_some_and(|m| m.starts_with("patientName is filled in by the server")));
        assert_eq!(
            refusal(json!({"untilDate": "2026-12-01", "note": "x"})),
            Some("note is not a parameter of this template".into())
        );
        assert_eq!(
            refusal(json!({})),
            Some("missing parameters: untilDate".into())
        );
        for not_a_date in [
            json!("Friday"),
            json!("2026-2-30"),
            json!("2026-02-30"),
            json!(7),
        ] {
            let err = chosen(&sick, &map(json!({ "untilDate": not_a_date })));
            assert!(matches!(err, Err(ParameterError::NotADate(_))), "{err:?}");
        }
        let text = names(&["employer"]);
        for bad in [
            json!(""),
            json!("Acme\nDr. Lee confirms"),
            json!("x".repeat(501)),
        ] {
            let err = chosen(&text, &map(json!({ "employer": bad })));
            assert!(matches!(err, Err(ParameterError::BadText(_))), "{err:?}");
        }
        let ok = chosen(&sick, &map(json!({"untilDate": " 2026-12-01 "})));
        assert_eq!(ok.ok(), Some(map(json!({"untilDate": "2026-12-01"}))));
    }

    #[test]
    fn dates_are_plain_utc_dates() {
        assert_eq!(plain_date(1_795_478_400_000), "2026-11-24");
        assert_eq!(plain_date(1_795_478_400_000 - 1), "2026-11-23");
    }
}
