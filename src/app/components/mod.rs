//! Reusable pieces of the app frame.

mod header;
mod update_prompt;

pub use header::AppHeader;
pub use update_prompt::UpdatePrompt;
