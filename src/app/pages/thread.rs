//! One conversation: messages in order, the user's own with their state in words, the
//! offline banner, and the composer.

use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    app::{
        components::{require_session, revalidate_when_online, Composer, MessageItem},
        model::{local_time_ms, Link, MessageRow},
        use_online,
    },
    platform::{session::SignedIn, transport::Reach, writes},
};

async fn mark_read(s: &SignedIn, id: &str) {
    if let Ok(messages) = s.cache.messages(id).await {
        writes::mark_read(s, id, &messages).await;
    }
}

#[component]
pub fn Thread() -> impl IntoView {
    let params = use_params_map();
    require_session(move |s| {
        let id = params.read().get("id").unwrap_or_default();
        view! { <ThreadView s=s id=id /> }
    })
}

/// What the view renders, read from the device in one go.
#[derive(Clone)]
struct Loaded {
    subject: String,
    archived: bool,
    rows: Vec<MessageRow>,
}

#[component]
fn ThreadView(s: Rc<SignedIn>, id: String) -> impl IntoView {
    let online = use_online();
    let status = s.runtime.status;
    let loader = StoredValue::new_local(s.clone());
    let thread_id = id.clone();
    let host = crate::app::use_host();
    let data = LocalResource::new(move || {
        status.revision.track();
        let device = host.device.get();
        if let Some(d) = device.as_ref() {
            d.sealed.status.revision.track();
        }
        let link = match (online.get(), status.sign_in.get(), status.reach.get()) {
            (_, true, _) => Link::SignIn,
            (false, _, _) | (true, false, Reach::Failed(_)) => Link::Down,
            (true, false, Reach::Troubled { .. } | Reach::TimedOut(_)) => Link::Retry,
            _ => Link::Up,
        };
        let (s, id) = (loader.get_value(), thread_id.clone());
        async move {
            let thread = s.cache.thread(&id).await.map_err(|e| e.to_string())?;
            let server = s.cache.messages(&id).await.map_err(|e| e.to_string())?;
            let pending = s.cache.pending(&id).await.map_err(|e| e.to_string())?;
            let queued = s
                .runtime
                .store()
                .lane(caresync_sync::Lane::thread(&id).as_str())
                .await
                .map_err(|e| e.to_string())?;
            let mut rows = MessageRow::list(server, pending, &queued, link, &s.user.user_id);
            // Written here, then handed over sealed at a lock: not in this outbox any more,
            // not on the server yet.
            if let Some(device) = device {
                let sealed = device.sealed_ids(&s.user.tenant_id, &s.user.user_id).await;
                for row in rows.iter_mut().filter(|r| r.mine && r.sent_at.is_none()) {
                    if sealed.contains(&row.key) {
                        row.delivery = crate::app::model::Delivery::Sealed;
                    }
                }
            }
            Ok::<_, String>(thread.map(|t| Loaded {
                subject: t.subject,
                archived: t.status == caresync_contract::comms::ThreadStatus::Archived,
                rows,
            }))
        }
    });
    // What others wrote is marked read when the thread opens (from the device's copy, so
    // offline too) and after each refresh from the server, which runs whenever the browser
    // is online and is tried again while it fails.
    let (opened, opened_id) = (s.clone(), id.clone());
    leptos::task::spawn_local(async move { mark_read(&opened, &opened_id).await });
    let fresh = StoredValue::new_local(s.clone());
    let thread_id = id.clone();
    revalidate_when_online(fresh, "thread", move |s| {
        let id = thread_id.clone();
        async move {
            writes::revalidate_thread(&s, &id).await?;
            mark_read(&s, &id).await;
            Ok(())
        }
    });
    let banner = move || {
        (!online.get()).then(|| {
            let text = match status.last_sync.get() {
                Some(at) => format!("Offline - latest messages at {}", local_time_ms(at)),
                None => "Offline - these messages have not been synced yet".to_owned(),
            };
            view! { <p class="offline-banner">{text}</p> }
        })
    };
    let composer_s = s.clone();
    let composer_id = id.clone();
    let items_s = StoredValue::new_local(s.clone());
    let items_id = id.clone();
    view! {
        <section class="page thread-page" aria-labelledby="thread-title">
            <p><a class="back" href="/threads">"Back to messages"</a></p>
            <Transition fallback=|| view! { <p>"Loading the conversation…"</p> }>
                {move || data.get().map(|found| match found {
                    Err(err) => view! { <p class="error" role="alert">{format!("This conversation could not be read from this device: {err}")}</p> }.into_any(),
                    // Each branch is one element (the Transition rule in pages/mod.rs).
                    Ok(None) => view! {
                        <div>
                            <h1 id="thread-title">"Conversation"</h1>
                            <p>"This conversation is not on this device yet. It appears once you are online."</p>
                        </div>
                    }.into_any(),
                    Ok(Some(loaded)) => {
                        let (s, id) = (items_s.get_value(), items_id.clone());
                        view! {
                            <div>
                            <h1 id="thread-title">{loaded.subject.clone()}</h1>
                            {loaded.archived.then_some(view! {
                                <p class="note">"This conversation is archived. Messages you send are kept until it is reopened."</p>
                            })}
                            {banner}
                            <ol class="messages" aria-label="Messages">
                                {loaded.rows.into_iter().map(|row| view! { <MessageItem s=s.clone() thread=id.clone() row=row /> }).collect_view()}
                            </ol>
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
            <Composer s=composer_s thread=composer_id />
        </section>
    }
}
