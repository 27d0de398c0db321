//! Documents: the user's documents with their state in words, the published templates to
//! request one from (offline too: the request waits in the outbox), and the PDF of a ready
//! document viewed and printed from the device's sealed copy, with no network.

use std::rc::Rc;

use caresync_contract::documents::{ParameterInput, RenderJobDto, TemplateDto};
use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::prelude::*;

use crate::{
    app::{
        components::{require_session, resolve, revalidate_when_online, PdfViewer},
        model::{local_time, local_time_ms, Delivery},
        use_host, use_online,
    },
    platform::{
        documents::{self, CopyInfo, PendingJob},
        session::SignedIn,
    },
};

/// How often the screen asks after documents still being made, while open and online.
const FOLLOW_MS: u32 = 3_000;

type Held = StoredValue<Rc<SignedIn>, LocalStorage>;

/// A job the server listed, with the template's name and the copy kept here, if any.
#[derive(Clone)]
struct Listed {
    job: RenderJobDto,
    name: String,
    copy: Option<CopyInfo>,
}

/// Everything the screen shows, read from the device.
#[derive(Clone)]
struct Shelf {
    templates: Vec<TemplateDto>,
    listed: Vec<Listed>,
    pending: Vec<(PendingJob, Option<Mutation>)>,
}

async fn read_shelf(s: &SignedIn) -> Result<Shelf, String> {
    let templates = documents::templates(s).await.map_err(|e| e.to_string())?;
    documents::purge_expired(s)
        .await
        .map_err(|e| e.to_string())?;
    let (jobs, pending) = documents::jobs(s).await.map_err(|e| e.to_string())?;
    let mut listed = Vec::with_capacity(jobs.len());
    for job in jobs {
        let copy = match job.artifact_id.as_deref() {
            Some(a) => documents::copy_info(s, a)
                .await
                .map_err(|e| e.to_string())?,
            None => None,
        };
        let name = templates
            .iter()
            .find(|t| t.template_id == job.template_id)
            .map_or_else(|| "Document".to_owned(), |t| t.name.clone());
        listed.push(Listed { job, name, copy });
    }
    let local = documents::CREATION
        .with_queued(s, pending, |p| &p.client_mutation_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Shelf {
        templates,
        listed,
        pending: local,
    })
}

#[component]
pub fn Documents() -> impl IntoView {
    require_session(|s| view! { <DocumentShelf s=s /> })
}

#[component]
fn DocumentShelf(s: Rc<SignedIn>) -> impl IntoView {
    let online = use_online();
    let revision = s.runtime.status.revision;
    let held = StoredValue::new_local(s);
    let problem = RwSignal::new(None::<String>);
    let viewing = RwSignal::new(None::<(String, String)>);
    let draft = RwSignal::new(None::<Draft>);
    let shelf = LocalResource::new(move || {
        revision.track();
        let s = held.get_value();
        async move { read_shelf(&s).await }
    });
    let follow = move || {
        let s = held.get_value();
        async move {
            // Each read on its own: what one brought is shown even when the other failed
            // (it is tried again, and a template list then answers 304, unchanged).
            let templates = documents::revalidate_templates(&s).await;
            let jobs = documents::revalidate_jobs(&s).await;
            // Redrawn only when something changed (an open request form is kept: `Draft`).
            if matches!(templates, Ok(true)) || jobs.as_ref().is_ok_and(|j| j.changed) {
                s.runtime.status.revision.update(|r| *r += 1);
            }
            templates.and(jobs).map(drop)
        }
    };
    revalidate_when_online(held, "documents", move |_| follow());
    // Followed while open and online, only while something is still on its way.
    let busy = move || {
        shelf.with(|found| {
            found
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .is_some_and(|s| {
                    // A request on its way or delivered and not yet listed (not one refused
                    // and waiting for the user), or a job the server is still making.
                    s.pending.iter().any(|(_, q)| {
                        q.as_ref()
                            .is_none_or(|m| !matches!(m.state, MutationState::Parked { .. }))
                    }) || s.listed.iter().any(|l| l.job.status == "queued")
                })
        })
    };
    crate::platform::listen::every(
        move || {
            if online.get_untracked() && busy() {
                leptos::task::spawn_local(async move {
                    if let Err(err) = follow().await {
                        leptos::logging::warn!("documents not followed: {err}");
                    }
                });
            }
        },
        FOLLOW_MS,
    );
    view! {
        <section class="page" aria-labelledby="documents-title">
            <h1 id="documents-title">"Documents"</h1>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            <Show when=move || viewing.with(Option::is_some)>
                <PdfViewer held=held viewing=viewing problem=problem />
            </Show>
            <Transition fallback=|| view! { <p>"Loading your documents…"</p> }>
                {move || shelf.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("Your documents could not be read from this device: {err}")}</p> }.into_any(),
                    Ok(shelf) => view! { <ShelfView held=held shelf=shelf problem=problem viewing=viewing draft=draft /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ShelfView(
    held: Held,
    shelf: Shelf,
    problem: RwSignal<Option<String>>,
    viewing: RwSignal<Option<(String, String)>>,
    draft: RwSignal<Option<Draft>>,
) -> impl IntoView {
    let empty = shelf.listed.is_empty() && shelf.pending.is_empty();
    view! {
        <h2>"Your documents"</h2>
        {empty.then(|| view! { <p>"No documents yet. Request one below."</p> })}
        <ul class="documents">
            {shelf.pending.into_iter().map(|(p, queued)| view! {
                <QueuedDocument held=held pending=p queued=queued problem=problem />
            }).collect_view()}
            {shelf.listed.into_iter().map(|l| view! {
                <ListedDocument listed=l viewing=viewing />
            }).collect_view()}
        </ul>
        <h2>"Request a document"</h2>
        {shelf.templates.is_empty().then(|| view! {
            <p>"The templates appear here once this device has been online."</p>
        })}
        <ul class="templates">
            {shelf.templates.into_iter().map(|t| view! {
                <TemplateItem held=held template=t problem=problem draft=draft />
            }).collect_view()}
        </ul>
    }
}

/// A request made here that the server has not listed yet.
#[component]
fn QueuedDocument(
    held: Held,
    pending: PendingJob,
    queued: Option<Mutation>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let online = use_online();
    let host = use_host();
    let words = match queued.as_ref().map(|m| &m.state) {
        Some(MutationState::Parked { reason, .. }) => {
            format!("Not sent: {}", Delivery::from_park(reason))
        }
        Some(_) if online.get_untracked() => "Queued · sending…".to_owned(),
        Some(_) => "Queued · waiting for network".to_owned(),
        None => "Queued".to_owned(),
    };
    let parked = queued
        .as_ref()
        .is_some_and(|m| matches!(m.state, MutationState::Parked { .. }));
    let write = StoredValue::new(queued);
    let decide = move |r: Resolution| {
        if let Some(m) = write.get_value() {
            resolve(host, held.get_value(), &m, r, problem);
        }
    };
    view! {
        <li class="document">
            <h3>{pending.template_name}</h3>
            <p><strong>{words}</strong>" · requested "{local_time(&pending.requested_at)}</p>
            {parked.then(|| view! {
                <div class="actions">
                    <button type="button" on:click=move |_| decide(Resolution::Retry)>"Retry"</button>
                    <button type="button" class="secondary" on:click=move |_| decide(Resolution::Discard)>"Discard"</button>
                </div>
            })}
        </li>
    }
}

/// A job the server knows, in words; a ready one can be viewed and printed from its copy.
#[component]
fn ListedDocument(listed: Listed, viewing: RwSignal<Option<(String, String)>>) -> impl IntoView {
    let Listed { job, name, copy } = listed;
    let state = match job.status.as_str() {
        "queued" => "Rendering".to_owned(),
        "done" => "Ready".to_owned(),
        "failed" => "Failed: the document could not be made".to_owned(),
        other => format!("Unknown state: {other}"),
    };
    let kept = match (&copy, job.artifact_id.is_some()) {
        (Some(c), _) => Some(format!(
            "Saved on this device until {}",
            local_time_ms(c.expires_at as u64)
        )),
        (None, true) => Some("Not saved on this device yet: it downloads when online".into()),
        (None, false) => None,
    };
    let open = job
        .artifact_id
        .clone()
        .map(|artifact| (artifact, name.clone()));
    view! {
        <li class="document">
            <h3>{name.clone()}</h3>
            <p><strong>{state}</strong>" · requested "{local_time(&job.created_at)}</p>
            {kept.map(|k| view! { <p class="hint">{k}</p> })}
            {open.map(|o| view! {
                <div class="actions">
                    <button type="button" on:click=move |_| viewing.set(Some(o.clone()))>"View"</button>
                </div>
            })}
        </li>
    }
}

fn input_type(kind: ParameterInput) -> &'static str {
    match kind {
        ParameterInput::Text => "text",
        ParameterInput::Date => "date",
    }
}

/// The request form open on the screen: its template and what has been typed. Held by the
/// shelf, not the template's item, so a redraw of the list (a read that brought news) keeps
/// the form open and the words in it.
type Draft = (String, serde_json::Map<String, serde_json::Value>);

/// A template: "Request" queues it at once, or first asks for the values the person chooses.
#[component]
fn TemplateItem(
    held: Held,
    template: TemplateDto,
    problem: RwSignal<Option<String>>,
    draft: RwSignal<Option<Draft>>,
) -> impl IntoView {
    let id = template.template_id.clone();
    let mine = StoredValue::new(id.clone());
    let asking = move || {
        draft.with(|d| {
            d.as_ref()
                .is_some_and(|(open, _)| mine.with_value(|m| m == open))
        })
    };
    let typed = move |name: &str| {
        draft.with(|d| {
            d.as_ref()
                .and_then(|(_, m)| m.get(name)?.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
    };
    let t = StoredValue::new(template.clone());
    let fields = template.parameters.clone();
    let needs_values = !fields.is_empty();
    let queue = move || {
        let (s, t) = (held.get_value(), t.get_value());
        let values =
            draft.with_untracked(|d| d.as_ref().map(|(_, m)| m.clone()).unwrap_or_default());
        let (new, change) = documents::request(&s, &t, values);
        leptos::task::spawn_local(async move {
            match s.runtime.enqueue(new, Some(change)).await {
                Ok(_) => draft.set(None),
                Err(err) => problem.set(Some(format!(
                    "The request could not be saved on this device: {err}"
                ))),
            }
        });
    };
    let complete = move || {
        t.with_value(|t| {
            t.parameters
                .iter()
                .all(|p| !typed(&p.name).trim().is_empty())
        })
    };
    view! {
        <li class="template">
            <h3>{template.name.clone()}</h3>
            <Show when=move || !asking()>
                <button type="button" aria-label=format!("Request {}", t.with_value(|t| t.name.clone()))
                    on:click=move |_| if needs_values {
                        draft.set(Some((mine.get_value(), serde_json::Map::new())))
                    } else { queue() }>"Request"</button>
            </Show>
            <Show when=asking>
                <form class="document-form" on:submit=move |ev| { ev.prevent_default(); if complete() { queue() } }>
                    {fields.clone().into_iter().map(|f| {
                        let input_id = format!("{}-{}", id, f.name);
                        let name = StoredValue::new(f.name.clone());
                        view! {
                            <label for=input_id.clone()>{f.label.clone()}</label>
                            <input id=input_id type=input_type(f.input_type) required
                                prop:value=move || name.with_value(|n| typed(n))
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    draft.update(|d| if let Some((_, m)) = d {
                                        m.insert(name.get_value(), v.into());
                                    });
                                } />
                        }
                    }).collect_view()}
                    <div class="actions">
                        <button type="submit" prop:disabled=move || !complete()>"Request document"</button>
                        <button type="button" class="secondary" on:click=move |_| draft.set(None)>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </li>
    }
}
