//! [`Answer`]: the object a write or a wait answers with, decoded only when asked for.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// What [`Context::apply`](crate::Context::apply), [`Context::patch`](crate::Context::patch)
/// and [`Context::wait`](crate::Context::wait) (and their `_in` and `_dynamic` variants)
/// answer with: the object as the host returned it, as JSON text, decoded into `T` only when
/// [`Answer::object`] is called.
///
/// Most policies throw the answer away (`ctx.wait::<Deployment>(..)?;`), and then the
/// deserializer of `T` — hundreds of kilobytes of wasm for a full k8s-openapi `Deployment` —
/// is never compiled into the module. Call [`Answer::object`] when you read the result.
///
/// ```
/// use cutover_guest_sdk::Answer;
/// use k8s_openapi::api::apps::v1::Deployment;
///
/// let answer: Answer<Deployment> = Answer::from_json(r#"{"metadata":{"name":"web"}}"#, "Deployment shop/web");
/// let web = answer.object()?;
/// assert_eq!(web.metadata.name.as_deref(), Some("web"));
/// assert_eq!(answer.json()?["metadata"]["name"], "web");
/// # Ok::<(), cutover_guest_sdk::Error>(())
/// ```
pub struct Answer<T> {
    json: String,
    what: String,
    object: PhantomData<fn() -> T>,
}

/// Cloned whatever `T` is: an answer holds text, not a `T`.
impl<T> Clone for Answer<T> {
    fn clone(&self) -> Self {
        Answer {
            json: self.json.clone(),
            what: self.what.clone(),
            object: PhantomData,
        }
    }
}

impl<T> Answer<T> {
    /// An answer holding `json`, the text the host returned for `what` (named in decoding
    /// errors). The SDK builds answers; this is for tests.
    ///
    /// ```
    /// let a: cutover_guest_sdk::Answer<serde_json::Value> = cutover_guest_sdk::Answer::from_json("null", "Pod shop/web-1");
    /// assert_eq!(a.raw(), "null");
    /// ```
    pub fn from_json(json: impl Into<String>, what: impl fmt::Display) -> Self {
        Answer {
            json: json.into(),
            what: what.to_string(),
            object: PhantomData,
        }
    }

    /// The JSON text as the host sent it.
    ///
    /// ```
    /// let a: cutover_guest_sdk::Answer<serde_json::Value> = cutover_guest_sdk::Answer::from_json("{}", "x");
    /// assert_eq!(a.raw(), "{}");
    /// ```
    pub fn raw(&self) -> &str {
        &self.json
    }

    /// The answer as a `serde_json::Value` (`Value::Null` for a wait that saw the object
    /// deleted).
    ///
    /// ```
    /// let a: cutover_guest_sdk::Answer<()> = cutover_guest_sdk::Answer::from_json(r#"{"spec":{"replicas":3}}"#, "x");
    /// assert_eq!(a.json()?["spec"]["replicas"], 3);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn json(&self) -> Result<Value, Error> {
        decode(&self.json, &self.what)
    }
}

impl<T: DeserializeOwned> Answer<T> {
    /// The answer decoded into `T`: the object as stored (for a wait, as last seen; `T` is
    /// then an `Option`, `None` once deleted). [`Error::Invalid`] names the object when it
    /// does not decode.
    ///
    /// ```
    /// use cutover_guest_sdk::Answer;
    /// use k8s_openapi::api::core::v1::Pod;
    ///
    /// let gone: Answer<Option<Pod>> = Answer::from_json("null", "Pod shop/web-1");
    /// assert!(gone.object()?.is_none());
    /// let bad: Answer<Pod> = Answer::from_json(r#"{"kind":7}"#, "Pod shop/web-1");
    /// assert!(bad.object().unwrap_err().reason().starts_with("decoding Pod shop/web-1: "));
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn object(&self) -> Result<T, Error> {
        decode(&self.json, &self.what)
    }
}

impl<T> fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("what", &self.what)
            .field("bytes", &self.json.len())
            .finish()
    }
}

/// Decodes what the host returned for `what`, saying which object did not decode.
pub(crate) fn decode<T: DeserializeOwned>(json: &str, what: impl fmt::Display) -> Result<T, Error> {
    serde_json::from_str(json).map_err(|e| Error::invalid(format!("decoding {what}: {e}")))
}
