//! The host side of the `rollout` interface: what the operator asked the run to do, and the
//! pause that ends a run with its revision paused. (Being built.)

use crate::sandbox::bindings::cutover::policy::rollout;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::state::RunState;

impl rollout::Host for RunState {
    async fn requested(&mut self) -> rollout::Request {
        rollout::Request::Start
    }

    async fn pause(&mut self, _status: String) -> Result<(), Error> {
        Err(Error::Unavailable(
            "this host cannot pause a run yet".into(),
        ))
    }
}
