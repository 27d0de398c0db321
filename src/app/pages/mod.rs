//! One module per routed page.
//!
//! A rule for every `<Transition>` here and in the components: what its closure returns is
//! one element (or one component), never a bare fragment or list. A Transition keeps its
//! children built but detached while its first fallback shows, and their effects still run.
//! With erased components a fragment is a `StaticVec`, and one that grows while detached
//! mounts before a marker with no parent: Leptos panics ("could not find parent element")
//! and the page stops updating. An element rebuilds its children inside itself, attached or
//! not. The chaos e2e test of "Continue by message" found this on the thread page.

mod appointments;
mod beds;
mod documents;
pub(crate) mod home;
mod not_found;
mod sign_out;
mod sync_page;
mod thread;
mod threads;
mod unlock;
mod visits;

pub use appointments::Appointments;
pub use beds::WardHome;
pub use documents::Documents;
pub use home::Home;
pub use not_found::NotFound;
pub use sign_out::SignOut;
pub use sync_page::SyncPage;
pub use thread::Thread;
pub use threads::Threads;
pub use unlock::Unlock;
pub use visits::Visits;
