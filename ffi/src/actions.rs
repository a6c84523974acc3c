//! What a person fills in to take an action: one record for every action of the transition
//! table (`xuncha_core::workflow`), whose [`Offer`](xuncha_core::workflow::Offer) names the
//! inputs its form asks for. Adding an action is a change to the table and its labels, not to
//! this file or to the app. Whether the action is allowed is decided by the core, never here.

use xuncha_core::model::{ActionInput, OpBody};
use xuncha_core::workflow::Action;

/// The inputs of an action's form; those its offer does not name stay empty.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct ActionFields {
    /// The reason (where the offer asks for one), the note, or the comment's text.
    #[uniffi(default)]
    pub text: String,
    /// The responsible unit (`Requirement::Unit`).
    #[uniffi(default)]
    pub unit_id: Option<String>,
    /// The deadline (`Requirement::Deadline`); none: the category's default.
    #[uniffi(default)]
    pub deadline_ms: Option<i64>,
    /// The new deadline asked for or granted (`Requirement::NewDeadline`).
    #[uniffi(default)]
    pub until_ms: Option<i64>,
    /// The original case (`Requirement::DuplicateTarget`).
    #[uniffi(default)]
    pub duplicate_of: Option<String>,
}

impl ActionFields {
    /// The core's operation body for `action` (photos are filled in by the store from the
    /// attached files).
    pub(crate) fn into_body(self, action: Action) -> Result<OpBody, crate::error::XunchaError> {
        let duplicate_of = self
            .duplicate_of
            .as_deref()
            .map(crate::client::parse_id)
            .transpose()?;
        Ok(OpBody::for_action(
            action,
            ActionInput {
                text: self.text,
                unit_id: self.unit_id.filter(|u| !u.trim().is_empty()),
                deadline_ms: self.deadline_ms,
                until_ms: self.until_ms,
                duplicate_of,
            },
        )?)
    }
}
