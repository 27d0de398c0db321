//! What the Sync page says about delivery with the app closed: whether this browser does it,
//! and what the service worker last delivered that way.

use caresync_sync::AggregateKind;
use leptos::prelude::*;

use crate::{
    app::{model::local_time_ms, use_session},
    platform::runtime::BackgroundReport,
};

fn counted(kind: AggregateKind, n: u32) -> String {
    let (one, many) = match kind {
        AggregateKind::Message => ("message", "messages"),
        AggregateKind::ReadReceipt => ("read receipt", "read receipts"),
        AggregateKind::AsyncVisit => ("visit", "visits"),
        AggregateKind::VirtualSession => ("appointment change", "appointment changes"),
        AggregateKind::RenderJob => ("document request", "document requests"),
        AggregateKind::BedStatus => ("bed change", "bed changes"),
        AggregateKind::AuditEvent => ("audit record", "audit records"),
        _ => ("change", "changes"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "3 messages and 1 visit sent in the background at 10:42:05".
pub fn report_words(report: &BackgroundReport) -> String {
    let mut parts: Vec<String> = report
        .delivered
        .iter()
        .map(|(kind, n)| counted(*kind, *n))
        .collect();
    let last = parts.pop().unwrap_or_default();
    let list = if parts.is_empty() {
        last
    } else {
        format!("{} and {last}", parts.join(", "))
    };
    format!(
        "{list} sent in the background at {}",
        local_time_ms(report.at)
    )
}

#[component]
pub fn BackgroundPanel() -> impl IntoView {
    let session = use_session();
    move || {
        let s = session.get()?;
        let report = s.runtime.status.background;
        let how = if s.runtime.carried() {
            "Changes are also sent in the background when the connection returns, even with the app closed."
        } else {
            "Changes are sent when the app is open."
        };
        Some(view! {
            <section class="background-delivery" aria-labelledby="background-title">
                <h2 id="background-title">"Sending with the app closed"</h2>
                <p>{how}</p>
                {move || report.get().map(|r| view! { <p class="background-report">{report_words(&r)}</p> })}
            </section>
        })
    }
}
