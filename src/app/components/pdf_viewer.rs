//! The document viewer: a kept PDF opened from the device's sealed copy (no network), shown
//! from a `blob:` URL that lives only while the viewer is open and the copy is within its
//! TTL. "Print" records the audit event first and prints only once it is kept, so no print
//! goes unrecorded.

use std::rc::Rc;

use leptos::prelude::*;
use serde_json::json;

use crate::{
    app::use_host,
    platform::{
        audit::kind,
        documents::{self, CopyError, CopyInfo},
        listen::every,
        session::SignedIn,
        transport::now_ms,
    },
};

/// How often an open copy's expiry is checked, against the wall clock: a timer set for the
/// expiry would count elapsed time and miss a clock moved forward.
const EXPIRY_CHECK_MS: u32 = 1_000;

/// The PDF bytes as a `blob:` URL for this page.
fn blob_url(bytes: &[u8]) -> Result<String, String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/pdf");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| "the browser could not hold the document".to_owned())?;
    web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser could not open the document".to_owned())
}

#[component]
pub fn PdfViewer(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    /// The artifact shown and its name; `None` closes the viewer.
    viewing: RwSignal<Option<(String, String)>>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let host = use_host();
    // The document shown: its `blob:` URL, and the kept copy's record, whose TTL ends it.
    let shown = RwSignal::new(None::<(String, CopyInfo)>);
    let url = move || shown.with(|s| s.as_ref().map(|(u, _)| u.clone()));
    let failure = RwSignal::new(None::<String>);
    let release = |u: &str| {
        if web_sys::Url::revoke_object_url(u).is_err() {
            leptos::logging::warn!("a document's blob URL could not be released");
        }
    };
    let revoke = move || {
        if let Some((u, _)) = shown.try_get_untracked().flatten() {
            release(&u);
        }
    };
    Effect::new(move |_| {
        let Some((artifact, _)) = viewing.get() else {
            return;
        };
        revoke();
        shown.set(None);
        failure.set(None);
        let s = held.get_value();
        leptos::task::spawn_local(async move {
            let read = documents::read_copy(&s, &artifact).await;
            // Only the document still asked for is shown: a slower read of an earlier one is
            // dropped (and its URL never made), as is any read once the viewer is gone.
            let still = viewing
                .try_with_untracked(|v| v.as_ref().is_some_and(|(a, _)| *a == artifact))
                .unwrap_or(false);
            if !still {
                return;
            }
            match read {
                Ok(copy) => match blob_url(&copy.bytes) {
                    Ok(u) => {
                        revoke();
                        shown.set(Some((u, copy.info)));
                    }
                    Err(e) => failure.set(Some(e)),
                },
                Err(err) => {
                    failure.set(Some(err.to_string()));
                    // An expired copy was purged: the list must say so too.
                    s.runtime.status.revision.update(|r| *r += 1);
                }
            }
        });
    });
    on_cleanup(revoke);
    // A copy shown when its TTL runs out is closed there and then, and purged, as a copy
    // opened after it would be.
    every(
        move || {
            let due = shown
                .try_with_untracked(|s| {
                    s.as_ref()
                        .is_some_and(|(_, info)| info.expired(now_ms() as f64))
                })
                .unwrap_or(false);
            if !due {
                return;
            }
            revoke();
            shown.set(None);
            failure.set(Some(CopyError::Expired.to_string()));
            let s = held.get_value();
            leptos::task::spawn_local(async move {
                if let Err(err) = documents::purge_expired(&s).await {
                    leptos::logging::warn!("an expired copy was not purged: {err}");
                }
                s.runtime.status.revision.update(|r| *r += 1);
            });
        },
        EXPIRY_CHECK_MS,
    );
    let close = move |_| {
        revoke();
        shown.set(None);
        viewing.set(None);
    };
    let print = move |_| {
        let (s, Some((artifact, _))) = (held.get_value(), viewing.get_untracked()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let payload = json!({ "documentId": artifact });
            match host
                .record_for(
                    &s.user.tenant_id,
                    &s.user.user_id,
                    kind::PRINTED_FROM_CACHE,
                    payload,
                )
                .await
            {
                Ok(()) => {
                    if web_sys::window().and_then(|w| w.print().ok()).is_none() {
                        problem.set(Some("This browser could not print.".into()));
                    }
                }
                Err(err) => problem.set(Some(format!("Not printed: {err}"))),
            }
        });
    };
    let title = move || viewing.with(|v| v.as_ref().map(|(_, n)| n.clone()).unwrap_or_default());
    view! {
        <div class="pdf-viewer" role="region" aria-label=move || format!("Viewing {}", title())>
            <Show when=move || failure.with(Option::is_some)>
                <p class="error" role="alert">{move || failure.get()}</p>
            </Show>
            {move || url().map(|u| view! {
                // Without the viewer's own toolbar: its print button would print unaudited.
                <iframe class="pdf-frame" src=format!("{u}#toolbar=0") title=format!("{} (PDF)", title())></iframe>
            })}
            <div class="actions">
                <button type="button" prop:disabled=move || shown.with(Option::is_none) on:click=print>"Print"</button>
                <button type="button" class="secondary" on:click=close>"Close"</button>
            </div>
        </div>
    }
}
