//! The threads list: from the device at once, refreshed from the server when online.

use std::rc::Rc;

use leptos::prelude::*;

use crate::{
    app::{
        components::{require_session, revalidate_when_online},
        model::{local_time, ThreadRow},
    },
    platform::{session::SignedIn, writes},
};

#[component]
pub fn Threads() -> impl IntoView {
    require_session(|s| view! { <ThreadList s=s /> })
}

#[component]
fn ThreadList(s: Rc<SignedIn>) -> impl IntoView {
    let revision = s.runtime.status.revision;
    let cache = s.cache.clone();
    let threads = LocalResource::new(move || {
        revision.track();
        let cache = cache.clone();
        async move {
            cache
                .threads()
                .await
                .map(|ts| ts.iter().map(ThreadRow::from).collect::<Vec<_>>())
                .map_err(|e| e.to_string())
        }
    });
    let fresh = StoredValue::new_local(s);
    revalidate_when_online(fresh, "threads", |s| async move {
        writes::revalidate_threads(&s).await
    });
    view! {
        <section class="page" aria-labelledby="threads-title">
            <h1 id="threads-title">"Messages"</h1>
            <Transition fallback=|| view! { <p>"Loading your conversations…"</p> }>
                {move || threads.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("Your conversations could not be read from this device: {err}")}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p>"No conversations yet. They appear here once this device has been online."</p> }.into_any(),
                    Ok(rows) => view! {
                        <ul class="threads">
                            {rows.into_iter().map(|t| view! {
                                <li class="thread" class:archived=t.archived>
                                    <a class="thread-link" href=format!("/threads/{}", t.id)>{t.subject.clone()}</a>
                                    <p class="thread-meta">
                                        {t.archived.then_some(view! { <span class="tag">"Archived"</span> })}
                                        <span>{format!("Last activity {}", local_time(&t.last_activity))}</span>
                                        {(t.unread > 0).then(|| view! { <span class="tag unread">{format!("{} unread", t.unread)}</span> })}
                                    </p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
