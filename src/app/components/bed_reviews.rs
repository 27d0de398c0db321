//! "Review": bed changes the server held because they were made more than an hour before
//! they arrived, for those who may decide (providers and ward managers). Accepting applies a
//! change only if nothing newer has won since; the server says which.

use std::rc::Rc;

use caresync_contract::facility::{BedReviewDto, ReviewDecisionResult};
use leptos::prelude::*;
use serde_json::json;

use crate::{
    app::{model::local_time, use_online},
    platform::{
        session::SignedIn,
        ward,
        writes::{get_json, FetchError},
    },
};

type Held = StoredValue<Rc<SignedIn>, LocalStorage>;

const REVIEWS: &str = "/internal/edge/reviews";

async fn decide(s: &SignedIn, id: &str, verb: &str) -> Result<ReviewDecisionResult, FetchError> {
    let answer = s
        .runtime
        .transport()
        .post(&format!("{REVIEWS}/{id}/{verb}"), &json!({}))
        .await
        .map_err(FetchError::from)?;
    if answer.status != 200 {
        let said = answer.body.get("message").and_then(|m| m.as_str());
        return Err(said.map_or(FetchError::Status(answer.status), |m| {
            FetchError::Local(m.to_owned())
        }));
    }
    let result: ReviewDecisionResult =
        serde_json::from_value(answer.body).map_err(|e| FetchError::Local(e.to_string()))?;
    // The bed as it now stands goes onto the board at once.
    ward::apply(s, &result.bed).await?;
    Ok(result)
}

/// `said` holds the last decision's answer: it outlives this list, which is drawn anew each
/// time the board changes.
#[component]
pub fn BedReviews(held: Held, said: RwSignal<Option<String>>) -> impl IntoView {
    let online = use_online();
    let reviews = LocalResource::new(move || {
        let (s, online) = (held.get_value(), online.get());
        said.track();
        async move {
            if !online {
                return Ok(None);
            }
            get_json::<Vec<BedReviewDto>>(&s, REVIEWS)
                .await
                .map(Some)
                .map_err(|e| e.to_string())
        }
    });
    let act = move |id: String, verb: &'static str| {
        let s = held.get_value();
        leptos::task::spawn_local(async move {
            let words = match decide(&s, &id, verb).await {
                Ok(r) => r.message,
                Err(err) => format!("Not decided: {err}"),
            };
            said.set(Some(words));
            s.runtime.status.revision.update(|r| *r += 1);
        });
    };
    view! {
        <section class="reviews" aria-labelledby="reviews-title">
            <h2 id="reviews-title">"Review"</h2>
            <Show when=move || said.with(Option::is_some)>
                <p class="notice" role="status">{move || said.get()}</p>
            </Show>
            <Transition fallback=|| view! { <p>"Loading held changes…"</p> }>
                {move || reviews.get().map(|found| match found {
                    Ok(None) => view! { <p>"Reviewing needs a connection."</p> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{format!("Held changes could not be read: {err}")}</p> }.into_any(),
                    Ok(Some(list)) if list.is_empty() => view! { <p>"No changes are waiting for review."</p> }.into_any(),
                    Ok(Some(list)) => view! {
                        <ul class="review-list">
                            {list.into_iter().map(|r| {
                                let (a, b) = (r.review_id.clone(), r.review_id.clone());
                                view! {
                                    <li class="review">
                                        <p><strong>{format!("Bed {}: {}", r.bed_label, ward::words(&r.value))}</strong>
                                            {format!(" · changed {} by {}", local_time(&r.updated_at), r.submitted_by_name)}</p>
                                        <p>{format!("Now {} since {}", ward::words(&r.current_value), local_time(&r.current_updated_at))}</p>
                                        <div class="actions">
                                            <button type="button" class="choice" on:click=move |_| act(a.clone(), "accept")>{format!("Accept change to Bed {}", r.bed_label)}</button>
                                            <button type="button" class="choice secondary" on:click=move |_| act(b.clone(), "reject")>{format!("Reject change to Bed {}", r.bed_label)}</button>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
