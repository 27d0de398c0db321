//! Reusable pieces of the app frame and its pages.

mod background;
mod bed_reviews;
mod composer;
mod connection;
mod credentials;
mod header;
mod idle_lock;
mod live_beds;
mod message;
mod pdf_viewer;
mod resolve;
mod sealed_panel;
mod sign_in_again;
mod signed_in;
mod update_prompt;

pub use background::BackgroundPanel;
pub use bed_reviews::BedReviews;
pub use composer::Composer;
pub use connection::{ConnectionPanel, StoragePanel};
pub use credentials::{CredentialFields, SignInButton};
pub use header::AppHeader;
pub use idle_lock::IdleLock;
pub use live_beds::follow_live;
pub use message::MessageItem;
pub use pdf_viewer::PdfViewer;
pub use resolve::resolve;
pub use sealed_panel::SealedPanel;
pub use sign_in_again::{SignInAgain, SignInAgainForm};
pub use signed_in::{require_session, revalidate_when_online};
pub use update_prompt::UpdatePrompt;
