//! Visits: store-and-forward consultations. The list shows the user's visits as the server
//! last listed them and those submitted here since, each with its state in words; "New
//! visit" opens the form, whose draft (complaint and photos) survives a reload.

use std::rc::Rc;

use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::{ev, prelude::*};
use wasm_bindgen::JsCast as _;

use crate::{
    app::{
        components::{require_session, resolve, revalidate_when_online},
        model::{local_time, Delivery},
        use_host, use_online,
    },
    platform::{
        photos,
        session::SignedIn,
        visits::{self, PendingVisit, VisitDraft},
    },
};

fn pending_words(queued: Option<&Mutation>, online: bool) -> String {
    match queued.map(|m| &m.state) {
        None => "Submitted".into(),
        Some(MutationState::Parked { reason, .. }) => {
            format!("Not sent: {}", Delivery::from_park(reason))
        }
        Some(MutationState::InFlight) => "Sending…".into(),
        Some(_) if online => "Sending…".into(),
        Some(_) => "Waiting for network".into(),
    }
}

/// The photos of a queued visit, from the write itself (nothing is stored twice), as
/// previews.
fn queued_photos(m: &Mutation) -> Vec<String> {
    m.request
        .body
        .get("attachments")
        .and_then(|a| a.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    let kind = a.get("contentType")?.as_str()?;
                    let data = a.get("dataBase64")?.as_str()?;
                    Some(format!("data:{kind};base64,{data}"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[component]
pub fn Visits() -> impl IntoView {
    require_session(|s| view! { <VisitList s=s /> })
}

#[component]
fn VisitList(s: Rc<SignedIn>) -> impl IntoView {
    let revision = s.runtime.status.revision;
    let held = StoredValue::new_local(s);
    let writing = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let rows = LocalResource::new(move || {
        revision.track();
        let s = held.get_value();
        async move {
            let (listed, pending) = visits::visits(&s).await.map_err(|e| e.to_string())?;
            let local = visits::CREATION
                .with_queued(&s, pending, |p| &p.client_mutation_id)
                .await
                .map_err(|e| e.to_string())?;
            let draft = visits::draft(&s).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((listed, local, draft))
        }
    });
    revalidate_when_online(
        held,
        "visits",
        |s| async move { visits::revalidate(&s).await },
    );
    view! {
        <section class="page" aria-labelledby="visits-title">
            <h1 id="visits-title">"Visits"</h1>
            <Show when=move || !writing.get() fallback=move || view! { <NewVisit held=held writing=writing /> }>
                <button type="button" on:click=move |_| writing.set(true)>"New visit"</button>
            </Show>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            <Transition fallback=|| view! { <p>"Loading your visits…"</p> }>
                {move || rows.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("Your visits could not be read from this device: {err}")}</p> }.into_any(),
                    Ok((listed, local, draft)) => view! {
                        <ul class="visits">
                            {(!draft.is_empty() && !writing.get_untracked()).then(|| view! {
                                <li class="visit"><p><strong>"Draft"</strong></p><p class="message-body">{draft.chief_complaint.clone()}</p></li>
                            })}
                            {local.into_iter().map(|(p, queued)| view! {
                                <QueuedVisit held=held visit=p queued=queued problem=problem />
                            }).collect_view()}
                            {listed.into_iter().map(|v| view! {
                                <li class="visit">
                                    <p><strong>{format!("Submitted {}", local_time(&v.created_at))}</strong>" · "{format!("{} photos", v.attachments.len())}</p>
                                    <p class="message-body">{v.chief_complaint}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// A visit submitted here and not yet listed by the server: its state in words, its photos
/// (from the write itself, nothing stored twice), and, when the server refused it, what the
/// user can do: remove the photo it named and send again, retry, or discard.
#[component]
fn QueuedVisit(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    visit: PendingVisit,
    queued: Option<Mutation>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let online = use_online();
    let host = use_host();
    let thumbs = queued.as_ref().map(queued_photos).unwrap_or_default();
    let count = if queued.is_some() {
        thumbs.len()
    } else {
        visit.photos
    };
    let (refused, actions) = match queued.as_ref().map(|m| &m.state) {
        Some(MutationState::Parked { reason, actions }) => (reason.attachment, actions.clone()),
        _ => (None, Vec::new()),
    };
    let words = pending_words(queued.as_ref(), online.get_untracked());
    let write = StoredValue::new(queued);
    let decide = move |resolution: Resolution| {
        if let Some(m) = write.get_value() {
            resolve(host, held.get_value(), &m, resolution, problem);
        }
    };
    let remove_and_retry = move |_| {
        let amended = write
            .get_value()
            .zip(refused)
            .and_then(|(m, i)| visits::without_photo(&m, i));
        match amended {
            Some(body) => decide(Resolution::Amend(body)),
            None => problem.set(Some("That photo is no longer part of this visit.".into())),
        }
    };
    view! {
        <li class="visit">
            <p><strong>{words}</strong>" · "{format!("{count} photos")}</p>
            <p class="message-body">{visit.chief_complaint}</p>
            <ul class="photos">
                {thumbs.into_iter().enumerate().map(|(i, url)| {
                    let alt = if refused == Some(i) {
                        format!("Photo {} of this visit, refused by the server", i + 1)
                    } else {
                        format!("Photo {} of this visit", i + 1)
                    };
                    view! { <li class="photo"><img src=url alt=alt width="96" /></li> }
                }).collect_view()}
            </ul>
            <Show when=move || !actions.is_empty()>
                <div class="actions">
                    {refused.is_some().then(|| view! {
                        <button type="button" on:click=remove_and_retry>"Remove photo and retry"</button>
                    })}
                    <button type="button" class="secondary" on:click=move |_| decide(Resolution::Retry)>"Retry"</button>
                    <button type="button" class="secondary" on:click=move |_| decide(Resolution::Discard)>"Discard"</button>
                </div>
            </Show>
        </li>
    }
}

/// The form: its draft is read once and saved on every change.
#[component]
fn NewVisit(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    writing: RwSignal<bool>,
) -> impl IntoView {
    let draft = RwSignal::new(VisitDraft::default());
    let loaded = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let preparing = RwSignal::new(0usize);
    leptos::task::spawn_local(async move {
        match visits::draft(&held.get_value()).await {
            Ok(d) => draft.set(d),
            Err(err) => problem.set(Some(format!("The draft could not be read: {err}"))),
        }
        loaded.set(true);
    });
    let save = move || {
        let (s, d) = (held.get_value(), draft.get_untracked());
        leptos::task::spawn_local(async move {
            if let Err(err) = visits::save_draft(&s, &d).await {
                problem.set(Some(format!(
                    "The draft could not be saved on this device: {err}"
                )));
            }
        });
    };
    let add_photos = move |ev: ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(files) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        input.set_value("");
        for file in files {
            preparing.update(|n| *n += 1);
            leptos::task::spawn_local(async move {
                match photos::prepare(&file).await {
                    Ok(photo) => {
                        draft.update(|d| d.photos.push(photo));
                        save();
                    }
                    Err(err) => problem.set(Some(format!("{}: {err}", file.name()))),
                }
                preparing.update(|n| *n -= 1);
            });
        }
    };
    let submit = move |_| {
        let (s, d) = (held.get_value(), draft.get_untracked());
        let (new, change) = visits::submission(&s, &d);
        leptos::task::spawn_local(async move {
            match s.runtime.enqueue(new, Some(change)).await {
                Ok(_) => {
                    if let Err(err) = visits::save_draft(&s, &VisitDraft::default()).await {
                        leptos::logging::warn!("the submitted draft stays: {err}");
                    }
                    writing.set(false);
                }
                Err(err) => problem.set(Some(format!(
                    "The visit could not be saved on this device: {err}"
                ))),
            }
        });
    };
    view! {
        <form class="new-visit" on:submit=|ev| ev.prevent_default()>
            <label for="complaint">"Chief complaint"</label>
            <textarea id="complaint" rows="4" prop:disabled=move || !loaded.get()
                prop:value=move || draft.with(|d| d.chief_complaint.clone())
                on:input=move |ev| { draft.update(|d| d.chief_complaint = event_target_value(&ev)); save(); }></textarea>
            <label for="photos">"Photos"</label>
            <input id="photos" type="file" accept="image/*" multiple on:change=add_photos />
            <Show when=move || { preparing.get() > 0 }>
                <p role="status">"Preparing photos…"</p>
            </Show>
            <ul class="photos">
                {move || draft.with(|d| d.photos.iter().cloned().enumerate().collect::<Vec<_>>()).into_iter().map(|(i, p)| view! {
                    <li class="photo">
                        <img src=p.data_url() alt=format!("Photo {}: {}", i + 1, p.file_name) width="96" />
                        <span>{format!("{} KB", p.size.div_ceil(1024))}</span>
                        <button type="button" class="secondary" on:click=move |_| {
                            draft.update(|d| { if i < d.photos.len() { d.photos.remove(i); } });
                            save();
                        }>"Remove photo"</button>
                    </li>
                }).collect_view()}
            </ul>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            <div class="actions">
                <button type="button" on:click=submit
                    prop:disabled=move || { preparing.get() > 0 || draft.with(|d| d.chief_complaint.trim().is_empty()) }>"Submit visit"</button>
                <button type="button" class="secondary" on:click=move |_| writing.set(false)>"Close"</button>
            </div>
        </form>
    }
}
