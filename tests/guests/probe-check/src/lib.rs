//! Test guest `probe-check`: an HTTP check of `url` (with `json-path` and `max-bytes` when
//! given) and, when `query` is set, a Prometheus query to `prometheus`; each outcome is one
//! part of the result, `http=<status> value=<json> | http-error=<kind>: <reason>` and
//! `prometheus=<value>,... | prometheus-error=<kind>: <reason>`, so that a test reads exactly
//! what the policy got. It never fails: the verdict is the test's.

use std::time::Duration;

use cutover_guest_sdk::{Context, Error, HttpRequest, export_policy};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    url: String,
    json_path: String,
    max_bytes: u32,
    prometheus: String,
    query: String,
}

fn check(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let mut request = HttpRequest::get(&p.url).with_max_bytes(p.max_bytes);
    if !p.json_path.is_empty() {
        request = request.with_json_path(&p.json_path);
    }
    let mut parts = vec![match ctx.http_get(&request) {
        Ok(r) => format!(
            "http={} value={}",
            r.status,
            r.value.map_or("none".to_string(), |v| v.to_string())
        ),
        Err(e) => format!("http-error={}: {e}", e.kind()),
    }];
    if !p.query.is_empty() {
        parts.push(
            match ctx.query_prometheus(&p.prometheus, &p.query, Duration::from_secs(5)) {
                Ok(samples) => format!(
                    "prometheus={}",
                    samples
                        .iter()
                        .map(|s| s.value.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Err(e) => format!("prometheus-error={}: {e}", e.kind()),
            },
        );
    }
    Ok(parts.join(" ; "))
}

export_policy! {
    name: "probe-check",
    version: env!("CARGO_PKG_VERSION"),
    description: "One HTTP check and one Prometheus query, reported as it got them (test guest).",
    params: [
        { name: "url", type: "string", required: true, description: "The URL to GET." },
        { name: "json-path", type: "string", default: "", description: "A JSON path into the body." },
        { name: "max-bytes", type: "integer", default: 65536, minimum: 0, maximum: 4194304, description: "The body's bound." },
        { name: "prometheus", type: "string", default: "http://127.0.0.1:19190", description: "The Prometheus server." },
        { name: "query", type: "string", default: "", description: "PromQL; empty: no query." },
    ],
    capabilities: [
        "probe/http:127.0.0.1:19181",
        "probe/http:127.0.0.1:19182",
        "probe/prometheus:127.0.0.1:19190",
    ],
    run: check,
}
