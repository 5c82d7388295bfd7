//! Fault injection: image fates for the kubelet stand-in, API errors at a seeded rate, and the
//! errors' `Status` bodies worded like the real API server's.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::api::{self, SimBody, Target};
use crate::controllers::{Faults, PodFate};
use crate::error::ApiError;

/// Pod fates by image substring (scenario `faults.images`), on top of the image convention of
/// [`PodFate::of_image`]: a container whose image contains a key gets that key's fate; the pod
/// gets its worst container's fate.
#[derive(Debug, Default, Clone)]
pub struct ImageFaults {
    /// Image substring → fate.
    pub images: BTreeMap<String, PodFate>,
}

impl ImageFaults {
    fn fate_of_image(&self, image: &str) -> PodFate {
        self.images
            .iter()
            .filter(|(needle, _)| image.contains(needle.as_str()))
            .map(|(_, fate)| *fate)
            .chain([PodFate::of_image(image)])
            .max_by_key(|f| severity(*f))
            .unwrap_or(PodFate::Ready)
    }
}

fn severity(fate: PodFate) -> u8 {
    match fate {
        PodFate::Ready => 0,
        PodFate::NeverReady => 1,
        PodFate::CrashLoop => 2,
        PodFate::ImagePullBackOff => 3,
    }
}

impl Faults for ImageFaults {
    fn pod_fate(&self, pod: &Value) -> PodFate {
        pod.pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str())
            .map(|image| self.fate_of_image(image))
            .max_by_key(|f| severity(*f))
            .unwrap_or(PodFate::Ready)
    }
}

/// The error an API fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFaultStatus {
    /// 500 InternalError.
    Internal,
    /// 409 Conflict, as for a stale resourceVersion.
    Conflict,
    /// 429 TooManyRequests (API priority and fairness rejecting the request).
    TooManyRequests,
    /// 504 Timeout, as the server answers a request that ran past its deadline.
    Timeout,
}

impl ApiFaultStatus {
    /// `500`, `409`, `429`, `504` (or `504-timeout`, `timeout`).
    pub fn parse(text: &str) -> Option<ApiFaultStatus> {
        Some(match text.trim() {
            "500" => ApiFaultStatus::Internal,
            "409" => ApiFaultStatus::Conflict,
            "429" => ApiFaultStatus::TooManyRequests,
            "504" | "504-timeout" | "timeout" => ApiFaultStatus::Timeout,
            _ => return None,
        })
    }

    fn error(self, resource: &str, name: &str) -> ApiError {
        match self {
            ApiFaultStatus::Internal => ApiError::new(
                500,
                "InternalError",
                "Internal error occurred: injected by the scenario's faults.api",
            ),
            ApiFaultStatus::Conflict => ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                ),
            ),
            ApiFaultStatus::TooManyRequests => ApiError::new(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
            ),
            ApiFaultStatus::Timeout => ApiError::new(
                504,
                "Timeout",
                "Timeout: request did not complete within the allotted timeout",
            ),
        }
    }
}

/// One API fault rule: requests of `verb` on `kind` fail with `status` at `rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFaultRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `evict`, or `*`.
    pub verb: String,
    /// The kind (`Deployment`), or `*`.
    pub kind: String,
    /// What the request gets instead of its answer.
    pub status: ApiFaultStatus,
    /// The probability, 0.0 to 1.0, that a matching request fails.
    pub rate: f64,
}

/// The API fault layer: consulted before every request the simulator serves. Which requests
/// fail is decided by a RNG seeded from the scenario's seed, so the same requests in the same
/// order fail the same way on every run.
#[derive(Debug)]
pub struct ApiFaults {
    rules: Vec<ApiFaultRule>,
    rng: Mutex<u64>,
}

impl ApiFaults {
    /// A layer with these rules and seed.
    pub fn new(rules: Vec<ApiFaultRule>, seed: u64) -> ApiFaults {
        ApiFaults {
            rules,
            rng: Mutex::new(seed ^ 0x6a09_e667_f3bc_c909),
        }
    }

    /// The error response for this request, if a rule fires for it.
    pub fn check(&self, req: &http::Request<Bytes>) -> Option<http::Response<SimBody>> {
        let Ok(Target::Resource(route)) = api::route(req.uri().path()) else {
            return None;
        };
        let query = api::Query::parse(req.uri().query());
        let watch = matches!(query.get("watch"), Some("true" | "1"));
        let verb = match (req.method().as_str(), route.subresource.as_deref()) {
            ("POST", Some("eviction")) => "evict",
            ("GET", _) if watch => "watch",
            ("GET", _) if route.name.is_some() => "get",
            ("GET", _) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", _) => "delete",
            _ => return None,
        };
        let rule = self.rules.iter().find(|r| {
            (r.verb == "*" || r.verb.eq_ignore_ascii_case(verb))
                && (r.kind == "*" || r.kind.eq_ignore_ascii_case(route.kind.kind))
        })?;
        if !self.roll(rule.rate) {
            return None;
        }
        let resource = if route.kind.group.is_empty() {
            route.kind.plural.to_string()
        } else {
            format!("{}.{}", route.kind.plural, route.kind.group)
        };
        let err = rule
            .status
            .error(&resource, route.name.as_deref().unwrap_or(""));
        let body = serde_json::to_vec(&err.to_status()).expect("JSON values serialise");
        let mut resp = http::Response::builder()
            .status(err.code)
            .header(http::header::CONTENT_TYPE, "application/json");
        if err.code == 429 {
            resp = resp.header(http::header::RETRY_AFTER, "1");
        }
        Some(
            resp.body(http_body_util::Full::new(Bytes::from(body)).boxed_unsync())
                .expect("static response parts are valid"),
        )
    }

    /// True with probability `rate`, from the seeded splitmix64 sequence.
    fn roll(&self, rate: f64) -> bool {
        if rate >= 1.0 {
            return true;
        }
        if rate <= 0.0 {
            return false;
        }
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> http::Request<Bytes> {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(Bytes::new())
            .unwrap()
    }

    #[test]
    fn rules_match_verb_and_kind() {
        let faults = ApiFaults::new(
            vec![ApiFaultRule {
                verb: "patch".into(),
                kind: "Deployment".into(),
                status: ApiFaultStatus::Internal,
                rate: 1.0,
            }],
            1,
        );
        let hit = faults
            .check(&request(
                "PATCH",
                "/apis/apps/v1/namespaces/default/deployments/web",
            ))
            .expect("a patch of a Deployment fails");
        assert_eq!(hit.status(), 500);
        assert!(
            faults
                .check(&request(
                    "GET",
                    "/apis/apps/v1/namespaces/default/deployments/web"
                ))
                .is_none()
        );
        assert!(
            faults
                .check(&request("PATCH", "/api/v1/nodes/node-1"))
                .is_none()
        );
    }

    #[test]
    fn a_rate_fails_about_that_share_and_repeats_with_the_seed() {
        let rule = ApiFaultRule {
            verb: "*".into(),
            kind: "*".into(),
            status: ApiFaultStatus::Conflict,
            rate: 0.3,
        };
        let run = |seed| {
            let faults = ApiFaults::new(vec![rule.clone()], seed);
            (0..1000)
                .map(|_| {
                    faults
                        .check(&request("DELETE", "/api/v1/nodes/n"))
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        let failed = first.iter().filter(|f| **f).count();
        assert!((200..400).contains(&failed), "{failed} of 1000 failed");
    }

    #[test]
    fn image_faults_add_to_the_convention() {
        let faults = ImageFaults {
            images: [("web:v2".to_string(), PodFate::CrashLoop)].into(),
        };
        let pod = |image: &str| serde_json::json!({"spec": {"containers": [{"image": image}]}});
        assert_eq!(faults.pod_fate(&pod("repo/web:v2")), PodFate::CrashLoop);
        assert_eq!(faults.pod_fate(&pod("web:v1")), PodFate::Ready);
        assert_eq!(
            faults.pod_fate(&pod("no-such-image")),
            PodFate::ImagePullBackOff
        );
    }
}
