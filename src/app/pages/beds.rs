//! Beds: the ward board for kiosk tablets. The user's wards, rooms and beds from the kept
//! snapshot (offline for up to 24 h), each bed's status and housekeeping in words and icons,
//! and a button per bed to change them, offline too: the change shows at once as "Not yet
//! sent" and the server's winning state replaces it.

use std::rc::Rc;

use caresync_contract::facility::{BedDto, SnapshotDto};
use caresync_sync::{AggregateKind, Mutation, MutationState, Resolution};
use leptos::prelude::*;

use crate::{
    app::{
        components::{follow_live, resolve, revalidate_when_online, BedReviews},
        model::{local_time, local_time_ms, Delivery},
        pages::home::SignIn,
        use_host,
    },
    platform::{
        session::SignedIn,
        transport::now_ms,
        ward::{self, BedChange, BedField, KeptSnapshot},
    },
};

type Held = StoredValue<Rc<SignedIn>, LocalStorage>;

/// A status as an icon beside its words (never colour alone).
fn icon(value: &str) -> &'static str {
    match value {
        "available" => "✓",
        "occupied" => "●",
        "reserved" => "◆",
        "out_of_service" => "⊘",
        "dirty" => "✗",
        "in_progress" => "…",
        _ => "✓",
    }
}

/// The ward app's home: the board for the signed-in user, the sign-in form otherwise.
#[component]
pub fn WardHome() -> impl IntoView {
    let session = crate::app::use_session();
    move || match session.get() {
        Some(s) => view! { <Board s=s /> }.into_any(),
        None => view! { <SignIn /> }.into_any(),
    }
}

#[component]
fn Board(s: Rc<SignedIn>) -> impl IntoView {
    let status = s.runtime.status;
    let held = StoredValue::new_local(s);
    let problem = RwSignal::new(None::<String>);
    let decided = RwSignal::new(None::<String>);
    let board = LocalResource::new(move || {
        status.revision.track();
        let s = held.get_value();
        async move { ward::board(&s).await.map_err(|e| e.to_string()) }
    });
    revalidate_when_online(held, "ward board", |s| async move {
        ward::pull_if_due(&s).await
    });
    follow_live(held);
    // A board left open online keeps its registry fresh (its 5-minute TTL), so it never
    // locks itself after 24 h.
    let online = crate::app::use_online();
    crate::platform::listen::every(
        move || {
            if online.get_untracked() {
                let s = held.get_value();
                leptos::task::spawn_local(async move {
                    if let Err(err) = ward::pull_if_due(&s).await {
                        leptos::logging::warn!("the bed registry was not refreshed: {err}");
                    }
                });
            }
        },
        60_000,
    );
    // Every change the server refused, with its reason; one refused for a stale reference
    // also has the registry refetched at once.
    let refused = Memo::new(move |_| {
        status.blocked.with(|b| {
            b.iter()
                .filter(|m| m.kind == AggregateKind::BedStatus)
                .filter(|m| matches!(m.state, MutationState::Parked { .. }))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let stale = Memo::new(move |_| refused.with(|r| r.iter().any(is_stale)));
    // The refused beds' labels; a Memo, so a board refresh that names them the same does
    // not rebuild the notices (and move focus off "Dismiss").
    let names = Memo::new(move |_| {
        let board = board.get();
        let known = board.as_ref().and_then(|b| b.as_ref().ok());
        refused.with(|r| {
            r.iter()
                .filter_map(|m| Some((bed_of(m).to_owned(), label_of(bed_of(m), known?)?)))
                .collect::<Vec<(String, String)>>()
        })
    });
    Effect::new(move |_| {
        if stale.get() {
            let s = held.get_value();
            leptos::task::spawn_local(async move {
                if let Err(err) = ward::pull(&s).await {
                    leptos::logging::warn!("the bed registry was not refetched: {err}");
                }
            });
        }
    });
    view! {
        <section class="page board" aria-labelledby="beds-title">
            <h1 id="beds-title">"Beds"</h1>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            {move || {
                let names = names.get();
                refused.get().into_iter().map(|m| {
                    let bed = names.iter().find(|(id, _)| id == bed_of(&m)).map_or_else(|| "a bed".to_owned(), |(_, l)| format!("bed {l}"));
                    view! { <RefusedChange held=held m=m bed=bed problem=problem /> }
                }).collect_view()
            }}
            <Transition fallback=|| view! { <p>"Loading the ward board…"</p> }>
                {move || board.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("The ward board could not be read from this device: {err}")}</p> }.into_any(),
                    Ok((None, _)) => view! { <p>"The ward board appears here once this device has been online."</p> }.into_any(),
                    Ok((Some(kept), changes)) => {
                        let reviewer = may_review(&held.get_value(), &kept);
                        view! {
                            <div>
                                <Wards held=held kept=kept changes=changes problem=problem />
                                {reviewer.then(|| view! { <BedReviews held=held said=decided /> })}
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Providers, and ward staff who manage a ward of this registry, decide held changes.
fn may_review(s: &SignedIn, kept: &KeptSnapshot) -> bool {
    use caresync_contract::auth::Role;
    s.user.role == Some(Role::Provider)
        || kept
            .snapshot
            .memberships
            .iter()
            .any(|m| m.user_id == s.user.user_id && m.role == "ward_manager")
}

fn is_stale(m: &Mutation) -> bool {
    matches!(&m.state, MutationState::Parked { reason, .. }
        if reason.code.is(caresync_contract::ErrorCode::StaleReference))
}

/// The bed a refused change was for (its id, from the request's path).
fn bed_of(m: &Mutation) -> &str {
    m.request.path.split('/').nth(5).unwrap_or_default()
}

/// A bed's label: from the change as this device kept it, else from the registry. A bed
/// neither knows goes unnamed ("a bed"), never by its id.
fn label_of(id: &str, (kept, changes): &(Option<KeptSnapshot>, Vec<BedChange>)) -> Option<String> {
    changes
        .iter()
        .find(|c| c.bed_id == id)
        .and_then(|c| c.label.clone())
        .or_else(|| {
            kept.as_ref()?
                .snapshot
                .beds
                .iter()
                .find(|b| b.bed_id == id)
                .map(|b| b.label.clone())
        })
}

/// A change the server refused: the bed or its location is gone, or the step is not allowed
/// from where the bed now is (the housekeeping state machine, after the merge).
#[component]
fn RefusedChange(
    held: Held,
    m: Mutation,
    /// The bed in words ("bed A1-2").
    bed: String,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let host = use_host();
    let why = match &m.state {
        _ if is_stale(&m) => "the bed or its location no longer exists in the registry.".to_owned(),
        // The server's own words name the step and where the bed is now.
        MutationState::Parked { reason, .. } if !reason.message.trim().is_empty() => {
            reason.message.trim().to_owned()
        }
        MutationState::Parked { reason, .. } => format!("{}.", Delivery::from_park(reason)),
        _ => String::new(),
    };
    let m = StoredValue::new(m);
    view! {
        <p class="notice" role="status">
            {format!("A change to {bed} was not sent: {why}")}
            <button type="button" class="secondary" on:click=move |_| resolve(host, held.get_value(), &m.get_value(), Resolution::Discard, problem)>"Dismiss"</button>
        </p>
    }
}

#[component]
fn Wards(
    held: Held,
    kept: KeptSnapshot,
    changes: Vec<BedChange>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let now = now_ms() as f64;
    let out_of_date = kept.out_of_date(now);
    let snapshot = kept.snapshot;
    let wards: Vec<_> = snapshot
        .nodes
        .iter()
        .filter(|n| snapshot.locations.iter().any(|l| l.node_id == n.node_id))
        .cloned()
        .collect();
    let changes = StoredValue::new(changes);
    let snap = StoredValue::new(snapshot.clone());
    view! {
        <p class="hint">{format!("Registry as of {}", local_time_ms(kept.fetched_at as u64))}</p>
        {out_of_date.then(|| view! {
            <p class="offline-banner" role="status">"Bed registry out of date: connect to refresh"</p>
        })}
        {wards.into_iter().map(|w| view! {
            <section class="ward" aria-labelledby=format!("ward-{}", w.node_id)>
                <h2 id=format!("ward-{}", w.node_id)>{w.name.clone()}</h2>
                {rooms(&snap.get_value(), &w.node_id).into_iter().map(|(room, beds)| view! {
                    <h3>{room}</h3>
                    <ul class="beds">
                        {beds.into_iter().map(|b| {
                            let mine = changes.with_value(|c| c.iter().filter(|c| c.bed_id == b.bed_id).cloned().collect::<Vec<_>>());
                            let place = ward::Place { bed: b.bed_id.clone(), location: b.location_id.clone(), node: w.node_id.clone(), label: b.label.clone() };
                            view! { <BedItem held=held bed=b place=place changes=mine locked=out_of_date problem=problem /> }
                        }).collect_view()}
                    </ul>
                }).collect_view()}
            </section>
        }).collect_view()}
    }
}

/// Each room of a ward with its beds, in order.
fn rooms(snapshot: &SnapshotDto, node: &str) -> Vec<(String, Vec<BedDto>)> {
    snapshot
        .locations
        .iter()
        .filter(|l| l.node_id == node)
        .map(|l| {
            let beds = snapshot
                .beds
                .iter()
                .filter(|b| b.location_id == l.location_id)
                .cloned()
                .collect();
            (l.name.clone(), beds)
        })
        .collect()
}

#[component]
fn BedItem(
    held: Held,
    bed: BedDto,
    place: ward::Place,
    changes: Vec<BedChange>,
    locked: bool,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let shown = |field: BedField, server: &str, at: &str| -> (String, String, Option<BedChange>) {
        match changes.iter().find(|c| c.field == field) {
            // Held for review: the bed stays as the server has it; the note says why.
            Some(c) if c.outcome.is_some() => (server.to_owned(), at.to_owned(), Some(c.clone())),
            Some(c) => (c.value.clone(), c.updated_at.clone(), Some(c.clone())),
            None => (server.to_owned(), at.to_owned(), None),
        }
    };
    let (status, status_at, status_change) =
        shown(BedField::Status, &bed.status, &bed.status_updated_at);
    let (clean, clean_at, clean_change) = shown(
        BedField::Housekeeping,
        &bed.housekeeping_status,
        &bed.housekeeping_updated_at,
    );
    let place = StoredValue::new(place);
    let choose = move |field: BedField, value: &'static str| {
        let s = held.get_value();
        let (new, change) = ward::change(&s, &place.get_value(), field, value);
        open.set(false);
        leptos::task::spawn_local(async move {
            if let Err(err) = s.runtime.enqueue(new, Some(change)).await {
                problem.set(Some(format!(
                    "The change could not be saved on this device: {err}"
                )));
            }
        });
    };
    let label = format!("Bed {}", bed.label);
    let choices = move |field: BedField, current: &str| {
        BedField::choices(field, current)
            .into_iter()
            .map(|v| {
                view! {
                    <button type="button" class="choice" on:click=move |_| choose(field, v)>
                        <span aria-hidden="true">{icon(v)}" "</span>{ward::words(v)}
                    </button>
                }
            })
            .collect_view()
    };
    let current = StoredValue::new((status.clone(), clean.clone()));
    view! {
        <li class="bed">
            <button type="button" class="bed-button" aria-expanded=move || open.get().to_string()
                prop:disabled=locked on:click=move |_| open.update(|o| *o = !*o)>{label.clone()}</button>
            <p class="bed-state">
                <span aria-hidden="true">{icon(&status)}" "</span><strong>{ward::words(&status)}</strong>
                {format!(" · since {}", local_time(&status_at))}
                <ChangeNote change=status_change held=held />
            </p>
            <p class="bed-state">
                <span aria-hidden="true">{icon(&clean)}" "</span><span>{ward::words(&clean)}</span>
                {format!(" · since {}", local_time(&clean_at))}
                <ChangeNote change=clean_change held=held />
            </p>
            {locked.then(|| view! { <p class="hint">"Changes need a registry less than 24 hours old."</p> })}
            <Show when=move || open.get()>
                <div class="choices" role="group" aria-label=format!("Change {label}")>
                    {move || current.with_value(|(st, cl)| (choices(BedField::Status, st), choices(BedField::Housekeeping, cl)))}
                </div>
            </Show>
        </li>
    }
}

/// What became of this device's change to a field, in words.
#[component]
fn ChangeNote(change: Option<BedChange>, held: Held) -> impl IntoView {
    let Some(c) = change else {
        return ().into_any();
    };
    match c.outcome.as_deref() {
        Some("manual_review") => {
            let c = StoredValue::new(c);
            let dismiss = move |_| {
                let s = held.get_value();
                leptos::task::spawn_local(async move {
                    if let Err(err) = ward::dismiss(&s, &c.get_value()).await {
                        leptos::logging::warn!("a held change could not be dismissed: {err}");
                    }
                    s.runtime.status.revision.update(|r| *r += 1);
                });
            };
            view! {
                <span class="notice">" · Held for review: changed more than an hour ago "</span>
                <button type="button" class="secondary" on:click=dismiss>"Dismiss"</button>
            }
            .into_any()
        }
        _ => view! { <span class="notice">" · Not yet sent"</span> }.into_any(),
    }
}
