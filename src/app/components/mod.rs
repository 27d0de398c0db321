//! Reusable pieces of the app frame and its pages.

mod composer;
mod header;
mod message;
mod update_prompt;

pub use composer::Composer;
pub use header::AppHeader;
pub use message::MessageItem;
pub use update_prompt::UpdatePrompt;
