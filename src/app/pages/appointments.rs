//! Appointments: the user's virtual sessions from the device at once, refreshed from the
//! server when online, each with its state in words. Cancelling (and the provider's admit,
//! end and reschedule) works offline, queued under the optimistic lock; joining needs a
//! connection and says so.

use std::rc::Rc;

use caresync_contract::virtual_care::SessionDto;
use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::{
    app::{
        components::{require_session, resolve, revalidate_when_online},
        model::local_time,
        use_host, use_online,
    },
    platform::{
        session::SignedIn,
        virtual_care::{self, session_action, session_lane, SessionAct},
    },
};

/// A session's state in the user's words.
fn state_words(status: &str) -> &'static str {
    match status {
        "scheduled" => "Scheduled",
        "waiting" => "Waiting room open",
        "active" => "In progress",
        "ended" => "Ended",
        "cancelled" => "Cancelled",
        "failed" => "Failed",
        _ => "Unknown state",
    }
}

/// What became of an action queued on this session, in words.
fn queued_words(m: &Mutation, online: bool) -> String {
    let past = m
        .request
        .path
        .rsplit('/')
        .next()
        .map(|a| match a {
            "cancel" => "cancelled",
            "admit" => "admitted",
            "end" => "ended",
            _ => "rescheduled",
        })
        .unwrap_or("changed");
    match &m.state {
        MutationState::Conflict { payload } => {
            let now = payload
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("changed");
            format!("Not {past}: the appointment is already {now}")
        }
        MutationState::Parked { reason, .. } => {
            format!(
                "Not {past}: {}",
                crate::app::model::Delivery::from_park(reason)
            )
        }
        _ if online => format!("Being {past}…"),
        _ => format!("To be {past}: waiting for network"),
    }
}

#[component]
pub fn Appointments() -> impl IntoView {
    require_session(|s| view! { <AppointmentList s=s /> })
}

#[component]
fn AppointmentList(s: Rc<SignedIn>) -> impl IntoView {
    let revision = s.runtime.status.revision;
    let held = StoredValue::new_local(s);
    let problem = RwSignal::new(None::<String>);
    let rows = LocalResource::new(move || {
        revision.track();
        let s = held.get_value();
        async move {
            let sessions = virtual_care::cached_sessions(&s)
                .await
                .map_err(|e| e.to_string())?;
            let mut rows = Vec::with_capacity(sessions.len());
            for x in sessions {
                let queued = s
                    .runtime
                    .store()
                    .lane(session_lane(&x.session_id).as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                rows.push((x, queued));
            }
            Ok::<_, String>(rows)
        }
    });
    revalidate_when_online(held, "appointments", |s| async move {
        virtual_care::revalidate_sessions(&s).await
    });
    view! {
        <section class="page" aria-labelledby="appointments-title">
            <h1 id="appointments-title">"Appointments"</h1>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            <Transition fallback=|| view! { <p>"Loading your appointments…"</p> }>
                {move || rows.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("Your appointments could not be read from this device: {err}")}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p>"No appointments yet. They appear here once this device has been online."</p> }.into_any(),
                    Ok(rows) => view! {
                        <ul class="appointments">
                            {rows.into_iter().map(|(x, queued)| view! {
                                <Appointment held=held session=x queued=queued problem=problem />
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Queues `act`, or says why it could not be queued.
fn queue(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    x: &SessionDto,
    act: SessionAct,
    problem: RwSignal<Option<String>>,
) {
    let s = held.get_value();
    let new = session_action(&s, x, &act);
    leptos::task::spawn_local(async move {
        problem.set(
            s.runtime
                .enqueue(new, None)
                .await
                .err()
                .map(|e| format!("This could not be saved on this device: {e}")),
        );
    });
}

#[component]
fn Appointment(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    session: SessionDto,
    queued: Vec<Mutation>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let online = use_online();
    let navigate = use_navigate();
    let me = held.with_value(|s| s.user.user_id.clone());
    let provider = session.provider_id == me;
    let x = StoredValue::new(session.clone());
    let busy = !queued.is_empty();
    let notices: Vec<(Mutation, String)> = queued
        .iter()
        .map(|m| (m.clone(), queued_words(m, online.get_untracked())))
        .collect();
    let new_time = RwSignal::new(String::new());
    let status = session.status.clone();
    let other = if provider {
        session.patient_name.clone()
    } else {
        session.provider_name.clone()
    };
    let join_url = session.join_url.clone();
    let act = move |a: SessionAct| queue(held, &x.get_value(), a, problem);
    // One opening at a time: the button is disabled while the server answers, so a second
    // tap cannot open it twice.
    let opening = RwSignal::new(false);
    let open_thread = move |_| {
        opening.set(true);
        let (s, id, navigate) = (held.get_value(), x.get_value().session_id, navigate.clone());
        leptos::task::spawn_local(async move {
            match virtual_care::continue_by_message(&s, &id).await {
                Ok(thread) => navigate(&format!("/threads/{thread}"), Default::default()),
                Err(err) => {
                    problem.set(Some(format!("The conversation could not be opened: {err}")))
                }
            }
            // The row may be gone by now (the page was left): nothing to release then.
            opening.try_set(false);
        });
    };
    let host = use_host();
    let dismiss = move |m: Mutation| {
        resolve(host, held.get_value(), &m, Resolution::Discard, problem);
    };
    view! {
        <li class="appointment">
            <h2>{format!("With {other} · {}", local_time(&session.scheduled_at))}</h2>
            <p><strong>{state_words(&status)}</strong></p>
            {notices.into_iter().map(|(m, words)| view! {
                <p class="notice" role="status">{words}
                    {m.state.is_blocking().then(|| view! {
                        <button type="button" class="secondary" on:click=move |_| dismiss(m.clone())>"Dismiss"</button>
                    })}
                </p>
            }).collect_view()}
            <div class="actions">
                {match (status.as_str(), provider) {
                    ("scheduled", false) => view! {
                        <button type="button" prop:disabled=busy on:click=move |_| act(SessionAct::Cancel)>"Cancel appointment"</button>
                    }.into_any(),
                    ("scheduled", true) => view! {
                        <label for=format!("at-{}", session.session_id)>"New time"</label>
                        <input id=format!("at-{}", session.session_id) type="datetime-local"
                            prop:value=new_time on:input=move |ev| new_time.set(event_target_value(&ev)) />
                        <button type="button" prop:disabled=move || busy || new_time.with(String::is_empty)
                            on:click=move |_| {
                                let at = js_sys::Date::new(&new_time.get_untracked().into());
                                if !at.get_time().is_nan() {
                                    act(SessionAct::Reschedule(String::from(at.to_iso_string())));
                                }
                            }>"Reschedule"</button>
                        <button type="button" class="secondary" prop:disabled=busy on:click=move |_| act(SessionAct::Cancel)>"Cancel appointment"</button>
                    }.into_any(),
                    ("waiting", true) => view! {
                        <button type="button" prop:disabled=busy on:click=move |_| act(SessionAct::Admit)>"Admit"</button>
                        <Join url=join_url.clone() />
                    }.into_any(),
                    ("active", true) => view! {
                        <button type="button" prop:disabled=busy on:click=move |_| act(SessionAct::End)>"End"</button>
                        <Join url=join_url.clone() />
                    }.into_any(),
                    ("waiting", false) => view! {
                        <Join url=join_url.clone() />
                        <button type="button" class="secondary" prop:disabled=busy on:click=move |_| act(SessionAct::Cancel)>"Cancel appointment"</button>
                    }.into_any(),
                    ("active", false) => view! { <Join url=join_url.clone() /> }.into_any(),
                    ("failed", false) => view! {
                        <button type="button" prop:disabled=move || !online.get() || opening.get() on:click=open_thread>"Continue by message"</button>
                        <Show when=move || opening.get()>
                            <span class="hint" role="status">"Opening the conversation…"</span>
                        </Show>
                    }.into_any(),
                    _ => ().into_any(),
                }}
            </div>
        </li>
    }
}

/// "Join": live video is not offline. Enabled only online; offline the reason is said.
#[component]
fn Join(url: Option<String>) -> impl IntoView {
    let online = use_online();
    let Some(url) = url else {
        return ().into_any();
    };
    let open = move |_| {
        if let Some(w) = web_sys::window() {
            if w.open_with_url_and_target(&url, "_blank").is_err() {
                leptos::logging::warn!("the join link could not be opened");
            }
        }
    };
    view! {
        <button type="button" prop:disabled=move || !online.get() on:click=open>"Join"</button>
        <Show when=move || !online.get()>
            <span class="hint">"Joining needs a connection"</span>
        </Show>
    }
    .into_any()
}
