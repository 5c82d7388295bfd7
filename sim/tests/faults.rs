//! Scenario API faults (`faults.api`) as the host's retry work needs them: "5% HTTP 500 and 5%
//! 429 on every request" said in a scenario file, answered as kube-apiserver answers (429 with
//! `Retry-After: 1` and `details.retryAfterSeconds: 1`, 500 `InternalError`), on watches too,
//! before anything is done; through the in-process client and over HTTP.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cutover_sim::serve::{Server, write_kubeconfig};
use cutover_sim::{Scenario, Simulator};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

/// The scenario the retry work runs its bundled policies on.
const FIVE_AND_FIVE: &str = r#"seed: 4
faults:
  api:
    - {verb: "*", kind: "*", status: 500, rate: 0.05}
    - {verb: "*", kind: "*", status: 429, rate: 0.05}
"#;

/// A scenario file in a fresh temp directory (removed on drop).
struct ScenarioFile(PathBuf);

impl ScenarioFile {
    fn new(name: &str, text: &str) -> ScenarioFile {
        let dir =
            std::env::temp_dir().join(format!("cutover-sim-faults-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scenario.yaml");
        std::fs::write(&path, text).unwrap();
        ScenarioFile(path)
    }

    fn load(&self) -> Scenario {
        Scenario::load(&self.0).unwrap()
    }
}

impl Drop for ScenarioFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn installed(scenario: &Scenario) -> Simulator {
    let sim = Simulator::new(scenario.seed);
    scenario.install(&sim).unwrap();
    sim
}

async fn http_client(server: &Server) -> Client {
    let path = std::env::temp_dir().join(format!(
        "cutover-sim-faults-{}-{}.kubeconfig",
        std::process::id(),
        server.local_addr().port()
    ));
    write_kubeconfig(&path, &server.url()).unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    // kube's own retry layer would hide the 429s this test counts.
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

/// Sends `n` GETs of a missing ConfigMap and counts the answers by status code.
async fn tally(client: &Client, n: usize) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        let request = http::Request::get(format!("/api/v1/namespaces/default/configmaps/c{i}"))
            .body(kube::client::Body::empty())
            .unwrap();
        let response = client.send(request).await.unwrap();
        let code = response.status().as_u16();
        if code == 429 {
            assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        }
        *counts.entry(code).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn five_percent_500_and_five_percent_429_on_every_request() {
    let file = ScenarioFile::new("five", FIVE_AND_FIVE);
    let scenario = file.load();
    assert_eq!(scenario.api_faults.len(), 2);

    let sim = installed(&scenario);
    let in_process = tally(&sim.client(), 4000).await;
    // 5% of 4,000 is 200, give or take a few standard deviations (about 14).
    for code in [500, 429] {
        let n = in_process.get(&code).copied().unwrap_or(0);
        assert!(
            (150..250).contains(&n),
            "{n} of 4,000 got {code}: {in_process:?}"
        );
    }
    assert_eq!(in_process.values().sum::<usize>(), 4000);
    assert_eq!(
        in_process.keys().copied().collect::<Vec<_>>(),
        [404, 429, 500]
    );

    // The same scenario and seed over HTTP: the same requests fail the same way.
    let served = installed(&scenario);
    let server = Server::bind(served, 0).await.unwrap();
    let over_http = tally(&http_client(&server).await, 4000).await;
    assert_eq!(over_http, in_process);
    server.shutdown().await;
}

#[tokio::test]
async fn injected_answers_are_the_api_servers() {
    let file = ScenarioFile::new(
        "always",
        "faults:\n  api:\n    - {verb: create, kind: ConfigMap, status: 429}\n    - {verb: list, kind: ConfigMap, status: 500}\n",
    );
    let sim = installed(&file.load());
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client());
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    let rv = sim.store().resource_version();

    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    let kube::Error::Api(s) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (
            429,
            "TooManyRequests",
            "Too many requests, please try again later."
        )
    );
    assert_eq!(s.details.map(|d| d.retry_after_seconds), Some(1));
    // Answered before anything was done: retrying is safe.
    assert_eq!(sim.store().resource_version(), rv);

    let err = cms.list(&ListParams::default()).await.unwrap_err();
    let kube::Error::Api(s) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (
            500,
            "InternalError",
            "Internal error occurred: injected by the scenario's faults.api"
        )
    );
    let causes = s.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(causes[0].message, "injected by the scenario's faults.api");
}

#[tokio::test]
async fn watches_fail_too() {
    let file = ScenarioFile::new(
        "watch",
        "faults:\n  api:\n    - {verb: watch, status: 429, rate: 1}\n",
    );
    let sim = installed(&file.load());
    let server = Server::bind(sim.clone(), 0).await.unwrap();
    for client in [sim.client(), http_client(&server).await] {
        let cms: Api<ConfigMap> = Api::default_namespaced(client);
        let err = match cms.watch(&WatchParams::default(), "0").await {
            Err(e) => e,
            Ok(stream) => {
                let first = stream.boxed().next().await;
                panic!("the watch was served: {first:?}")
            }
        };
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 429 && s.reason == "TooManyRequests"),
            "{err:?}"
        );
        // Only watches: a list goes through.
        assert!(cms.list(&ListParams::default()).await.is_ok());
    }
    server.shutdown().await;
}
