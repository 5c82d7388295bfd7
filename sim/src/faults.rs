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
            // apimachinery's NewInternalError: the cause in details.causes.
            ApiFaultStatus::Internal => ApiError::internal("injected by the scenario's faults.api"),
            ApiFaultStatus::Conflict => ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                ),
            ),
            // The priority-and-fairness filter's wording and its `Retry-After: 1` (the header
            // is added by the caller).
            ApiFaultStatus::TooManyRequests => ApiError::too_many_requests(
                "Too many requests, please try again later.",
                RETRY_AFTER_SECONDS,
            ),
            ApiFaultStatus::Timeout => ApiError::new(
                504,
                "Timeout",
                "Timeout: request did not complete within the allotted timeout",
            ),
        }
    }
}

/// How long an injected 429 asks the client to wait, as kube-apiserver's priority and fairness
/// (and max-in-flight) filters do: `Retry-After: 1`.
pub const RETRY_AFTER_SECONDS: u32 = 1;

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

/// The API fault layer: consulted before every request the simulator serves, before anything
/// is read or done (so a retry of a failed request is always safe). Which requests fail is
/// decided by a RNG seeded from the scenario's seed, so the same requests in the same order
/// fail the same way on every run.
///
/// The rules that match a request share one draw: each takes the next `rate` of the range, in
/// order, so two rules matching every request at 0.05 fail 5% of requests with the first
/// rule's status and another 5% with the second's (rates adding up past 1 leave later rules
/// only what is left).
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
    pub fn check(&self, req: &http::request::Parts) -> Option<http::Response<SimBody>> {
        let Ok(Target::Resource(route)) = api::route(req.uri.path()) else {
            return None;
        };
        let query = api::Query::parse(req.uri.query());
        let watch = matches!(query.get("watch"), Some("true" | "1"));
        let verb = match (req.method.as_str(), route.subresource.as_deref()) {
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
        let mut matching = self.rules.iter().filter(|r| {
            (r.verb == "*" || r.verb.eq_ignore_ascii_case(verb))
                && (r.kind == "*" || r.kind.eq_ignore_ascii_case(route.kind.kind))
        });
        let first = matching.next()?;
        let rule = if first.rate >= 1.0 {
            first // certain: no draw, as with a single rule
        } else {
            let draw = self.draw();
            let mut upper = 0.0;
            std::iter::once(first).chain(matching).find(|r| {
                upper += r.rate.clamp(0.0, 1.0);
                draw < upper
            })?
        };
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
            resp = resp.header(http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string());
        }
        Some(
            resp.body(http_body_util::Full::new(Bytes::from(body)).boxed_unsync())
                .expect("static response parts are valid"),
        )
    }

    /// The next number in [0, 1) of the seeded splitmix64 sequence.
    fn draw(&self) -> f64 {
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> http::request::Parts {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap()
            .into_parts()
            .0
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
    fn rules_matching_the_same_request_take_their_own_share() {
        let rule = |status, rate| ApiFaultRule {
            verb: "*".into(),
            kind: "*".into(),
            status,
            rate,
        };
        let faults = ApiFaults::new(
            vec![
                rule(ApiFaultStatus::Internal, 0.05),
                rule(ApiFaultStatus::TooManyRequests, 0.05),
            ],
            11,
        );
        let mut counts = BTreeMap::new();
        for i in 0..20_000 {
            let path = format!("/api/v1/namespaces/default/configmaps/c{i}");
            let code = faults
                .check(&request("GET", &path))
                .map_or(200, |r| r.status().as_u16());
            *counts.entry(code).or_insert(0) += 1;
        }
        // 5% each, within a few standard deviations (about 31 of 20,000).
        for code in [500, 429] {
            let n = counts.get(&code).copied().unwrap_or(0);
            assert!((850..1150).contains(&n), "{n} of 20,000 got {code}");
        }
    }

    #[test]
    fn injected_errors_are_worded_like_the_api_servers() {
        let faults = |status| {
            ApiFaults::new(
                vec![ApiFaultRule {
                    verb: "watch".into(),
                    kind: "pod".into(),
                    status,
                    rate: 1.0,
                }],
                0,
            )
        };
        let watch = request("GET", "/api/v1/namespaces/default/pods?watch=true");
        let body = |resp: http::Response<SimBody>| {
            let bytes = futures::executor::block_on(resp.into_body().collect())
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        };
        let throttled = faults(ApiFaultStatus::TooManyRequests)
            .check(&watch)
            .expect("watches fail too");
        assert_eq!(throttled.status(), 429);
        assert_eq!(throttled.headers()[http::header::RETRY_AFTER], "1");
        let status = body(throttled);
        assert_eq!(status["reason"], "TooManyRequests");
        assert_eq!(status["details"]["retryAfterSeconds"], 1);
        let internal = faults(ApiFaultStatus::Internal).check(&watch).unwrap();
        let status = body(internal);
        assert_eq!(
            (status["code"].as_u64(), status["reason"].as_str()),
            (Some(500), Some("InternalError"))
        );
        assert_eq!(
            status["message"],
            "Internal error occurred: injected by the scenario's faults.api"
        );
        assert_eq!(
            status["details"]["causes"][0]["message"],
            "injected by the scenario's faults.api"
        );
        let list = request("GET", "/api/v1/namespaces/default/pods");
        assert!(faults(ApiFaultStatus::Internal).check(&list).is_none());
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
