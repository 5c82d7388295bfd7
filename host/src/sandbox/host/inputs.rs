//! The host side of the `inputs` interface: the files named on the command line, read and
//! bounded by the host before the run. (Being built: no inputs yet.)

use crate::sandbox::bindings::cutover::policy::inputs;
use crate::sandbox::state::RunState;

impl inputs::Host for RunState {
    async fn files(&mut self) -> Vec<inputs::InputFile> {
        Vec::new()
    }
}
