//! The undo journal of a revision: what each mutating call will change, and how to undo it.

// Placeholder until the journal lands.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry(pub serde_json::Value);
