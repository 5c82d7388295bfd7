//! The host side of the `inputs` interface: the positional inputs' files, read and bounded
//! before the run (`crate::input_files`), handed over as they are.

use crate::sandbox::bindings::cutover::policy::inputs;
use crate::sandbox::state::RunState;

impl inputs::Host for RunState {
    async fn files(&mut self) -> Vec<inputs::InputFile> {
        self.inputs
            .iter()
            .map(|f| inputs::InputFile {
                path: f.path.clone(),
                input: f.input,
                contents: f.contents.clone(),
            })
            .collect()
    }
}
