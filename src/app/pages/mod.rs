//! One module per routed page.

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
