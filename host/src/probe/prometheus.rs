//! A Prometheus instant query: the request URL (`<address>/api/v1/query?query=...`) and the
//! answer decoded: a vector's samples, a scalar as one sample; a matrix or a string result, or
//! `status: error`, is `Invalid` with Prometheus's own words, capped.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::ProbeError;
use super::endpoint::Endpoint;
use crate::text;

/// One sample of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Prometheus's answer envelope (https://prometheus.io/docs/prometheus/latest/querying/api/).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    data: Option<Data>,
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: Value,
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    value: Option<(f64, String)>,
}

/// The query URL for `address` (a path prefix such as `/prometheus` is kept). No `time`: the
/// server evaluates at its own present.
pub fn query_url(address: &Endpoint, query: &str) -> Result<Url, ProbeError> {
    if address.url.query().is_some() {
        return Err(ProbeError::Invalid(
            "the Prometheus address takes no query (?...): give http://host:port".into(),
        ));
    }
    let mut url = address.url.clone();
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut().append_pair("query", query);
    Ok(url)
}

fn invalid(why: impl std::fmt::Display) -> ProbeError {
    ProbeError::Invalid(format!("Prometheus: {why}"))
}

/// A value as Prometheus writes it: a decimal, `NaN`, `+Inf`, `-Inf`.
fn number(text: &str) -> Result<f64, ProbeError> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text.parse().map_err(|_| {
            invalid(format!(
                "the value {} is not a number",
                text::escape(text, 64)
            ))
        }),
    }
}

/// Decodes the answer to a query (any HTTP status: Prometheus answers errors with 400, 422, 503
/// and a JSON body).
pub fn decode(status: u16, body: &[u8]) -> Result<Vec<Sample>, ProbeError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| {
        invalid(format!(
            "HTTP {status}, and the body is not Prometheus's JSON: {}",
            text::escape(&String::from_utf8_lossy(super::cut_bytes(body, 200)), 200)
        ))
    })?;
    if envelope.status != "success" {
        return Err(invalid(format!(
            "{}: {}",
            text::escape(envelope.error_type.as_deref().unwrap_or("error"), 64),
            text::escape(envelope.error.as_deref().unwrap_or("no reason given"), 512)
        )));
    }
    let data = envelope
        .data
        .ok_or_else(|| invalid("a success without data"))?;
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<VectorSample> = serde_json::from_value(data.result)
                .map_err(|e| invalid(format!("a vector that does not decode: {e}")))?;
            samples
                .into_iter()
                .map(|s| {
                    let (_, value) = s.value.ok_or_else(|| {
                        invalid(
                            "a sample without a float value (a native histogram?) is not supported",
                        )
                    })?;
                    Ok(Sample {
                        labels: s.metric.into_iter().collect(),
                        value: number(&value)?,
                    })
                })
                .collect()
        }
        "scalar" => {
            let (_, value): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| invalid(format!("a scalar that does not decode: {e}")))?;
            Ok(vec![Sample {
                labels: Vec::new(),
                value: number(&value)?,
            }])
        }
        other => Err(invalid(format!(
            "the result is a {}, not an instant vector or a scalar (a range query such as x[5m] needs a function, e.g. rate(x[5m]))",
            text::escape(other, 32)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_vectors_and_scalars() {
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"web","instance":"a:1"},"value":[1700000000.5,"0.25"]},
            {"metric":{},"value":[1700000000.5,"NaN"]}]}}"#;
        let samples = decode(200, vector).unwrap();
        assert_eq!(
            samples[0].labels,
            [
                ("instance".to_string(), "a:1".to_string()),
                ("job".into(), "web".into())
            ]
        );
        assert_eq!(samples[0].value, 0.25);
        assert!(samples[1].value.is_nan());
        let scalar =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1.0,"+Inf"]}}"#;
        assert_eq!(decode(200, scalar).unwrap()[0].value, f64::INFINITY);
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(decode(200, empty).unwrap().is_empty());
    }

    #[test]
    fn errors_and_other_results_are_invalid() {
        let error = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}"#;
        let e = decode(400, error).unwrap_err().to_string();
        assert_eq!(
            e,
            "Prometheus: bad_data: 1:5: parse error: unclosed left parenthesis"
        );
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(
            decode(200, matrix)
                .unwrap_err()
                .to_string()
                .contains("is a matrix")
        );
        let string = br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#;
        assert!(
            decode(200, string)
                .unwrap_err()
                .to_string()
                .contains("is a string")
        );
        let html = b"<html>404 page not found</html>";
        assert!(
            decode(404, html)
                .unwrap_err()
                .to_string()
                .contains("HTTP 404")
        );
        let long = format!(
            r#"{{"status":"error","errorType":"x","error":"{}"}}"#,
            "e".repeat(5000)
        );
        assert!(decode(422, long.as_bytes()).unwrap_err().to_string().len() < 700);
    }

    #[test]
    fn the_query_url_encodes_the_query() {
        let address = super::super::endpoint::parse("http://prom:9090/prefix/", "a").unwrap();
        let url = query_url(&address, "sum(rate(x{a=\"b c\"}[1m])) & 1").unwrap();
        assert_eq!(
            url.as_str(),
            "http://prom:9090/prefix/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b+c%22%7D%5B1m%5D%29%29+%26+1"
        );
        let with_query = super::super::endpoint::parse("http://prom:9090/?x=1", "a").unwrap();
        assert!(query_url(&with_query, "up").is_err());
    }
}
