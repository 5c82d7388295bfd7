//! The files the operator named on the command line after the policy (`cutover run atomic
//! ./chart`), as the host read them: a policy never opens a file itself.

use crate::host::inputs as wit;
use crate::{Context, Error};

/// One file of the run's positional inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// The path relative to the input given (`Chart.yaml`, `templates/service.yaml`), with `/`
    /// separators; a single file given by name is its file name; standard input is `-`.
    pub path: String,
    /// Which positional input it came from: 0 for the first, 1 for the next, ...
    pub input: u32,
    /// The file's bytes.
    pub contents: Vec<u8>,
}

impl InputFile {
    /// The contents as UTF-8 text, or an `invalid` error naming the file.
    ///
    /// ```
    /// let file = cutover_guest_sdk::InputFile { path: "a.yaml".into(), input: 0, contents: b"x: 1".to_vec() };
    /// assert_eq!(file.text()?, "x: 1");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.contents)
            .map_err(|e| Error::invalid(format!("input {} is not UTF-8 text: {e}", self.path)))
    }
}

impl Context {
    /// Every file of the run's positional inputs, in the order given, each folder's files
    /// sorted by path (at most 16 MiB and 10,000 files: the host refuses more before the run).
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new().input("Chart.yaml", "name: web");
    /// let ctx = fake.context(&M, serde_json::json!({}))?;
    /// let files = ctx.inputs()?;
    /// assert_eq!(files[0].path, "Chart.yaml");
    /// assert_eq!(files[0].text()?, "name: web");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn inputs(&self) -> Result<Vec<InputFile>, Error> {
        Ok(wit::files()?
            .into_iter()
            .map(|f| InputFile {
                path: f.path,
                input: f.input,
                contents: f.contents,
            })
            .collect())
    }
}
