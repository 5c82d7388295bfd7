//! The host side of the `revisions` interface: not stored by this version of cutover (the
//! releases work replaces this module); calls are counted and capability-checked like any other.

use super::call::{CallError, Done, authorize};
use crate::capabilities::Call;
use crate::sandbox::bindings::cutover::policy::revisions;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::state::RunState;

impl revisions::Host for RunState {
    async fn record(&mut self, _manifests: String, _description: String) -> Result<(), Error> {
        self.unavailable("record").await
    }

    async fn list_revisions(&mut self) -> Result<Vec<revisions::Revision>, Error> {
        self.unavailable("list-revisions").await
    }

    async fn get_revision(&mut self, _number: u32) -> Result<revisions::Revision, Error> {
        self.unavailable("get-revision").await
    }
}

impl RunState {
    async fn unavailable<T>(&mut self, operation: &'static str) -> Result<T, Error> {
        let grants = self.grants.clone();
        let label = "the release history".to_string();
        self.perform(operation, label, None, false, async move {
            let call = Call {
                interface: "revisions",
                operation,
                api_version: None,
                kind: None,
                namespace: None,
            };
            authorize(&grants, &call)?;
            Err::<Done<T>, _>(CallError::Refused(Error::Unavailable(
                "release history is not stored by this version of cutover".into(),
            )))
        })
        .await
    }
}
