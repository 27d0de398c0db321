//! The caresync sync engine: a sans-IO outbox state machine (filled in by the sync engine issue).
