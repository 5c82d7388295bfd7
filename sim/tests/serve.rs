//! `cutover sim serve` over real HTTP: a `kube::Client` built from the written kubeconfig talks
//! to a served simulator on loopback.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cutover_sim::Simulator;
use cutover_sim::serve::{CONTEXT, Server, write_kubeconfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cutover-sim-serve-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Serves a fresh simulator on a free port and builds a client from the kubeconfig it writes.
async fn serve() -> (Server, Client, TempDir) {
    let server = Server::bind(Simulator::new(7), 0).await.unwrap();
    let dir = TempDir::new();
    let path = dir.0.join("nested").join("kubeconfig");
    write_kubeconfig(&path, &server.url()).unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = Client::try_from(config).unwrap();
    (server, client, dir)
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": name}})).unwrap()
}

/// Sends one raw HTTP/1.1 request and returns the response head and as much body as arrives
/// until the server closes or nothing comes for `read_for` (blocking std I/O on a blocking thread).
async fn raw(server: &Server, request: &str, read_for: Duration) -> String {
    use std::io::{Read, Write};
    let addr = server.local_addr();
    let request = request.to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(read_for)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn binds_loopback_and_writes_a_kubeconfig() {
    let (server, _client, dir) = serve().await;
    assert!(server.local_addr().ip().is_loopback());
    assert_ne!(server.local_addr().port(), 0);
    assert_eq!(
        server.url(),
        format!("http://127.0.0.1:{}", server.local_addr().port())
    );
    let path = dir.0.join("nested").join("kubeconfig");
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    assert_eq!(kubeconfig.current_context.as_deref(), Some(CONTEXT));
    assert_eq!(kubeconfig.clusters[0].name, CONTEXT);
    assert_eq!(kubeconfig.auth_infos[0].name, CONTEXT);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn discovery() {
    let (server, client, _dir) = serve().await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
    let core = client.list_core_api_versions().await.unwrap();
    assert_eq!(core.versions, ["v1"]);
    let groups = client.list_api_groups().await.unwrap();
    assert!(groups.groups.iter().any(|g| g.name == "apps"));
    let apps = client.list_api_group_resources("apps/v1").await.unwrap();
    assert!(apps.resources.iter().any(|r| r.name == "deployments"));
    // kube's own discovery, as kube::runtime users run it.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("policy"));

    // kubectl reads /openapi/v2 as protobuf for apply: an empty document.
    let head = raw(
        &server,
        "GET /openapi/v2 HTTP/1.1\r\nHost: x\r\nAccept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf\r\nConnection: close\r\n\r\n",
        WAIT,
    )
    .await
    .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-type: application/octet-stream"),
        "{head}"
    );
    assert!(head.contains("content-length: 0"), "{head}");
    server.shutdown().await;
}

#[tokio::test]
async fn create_get_list() {
    let (server, client, _dir) = serve().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let created = cms
        .create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    cms.create(&PostParams::default(), &config_map("b"))
        .await
        .unwrap();
    let got = cms.get("a").await.unwrap();
    assert_eq!(got.data.unwrap()["k"], "a");
    let names: Vec<_> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    assert_eq!(names, ["a", "b"]);

    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let err = nodes
        .create(&PostParams::default(), &node)
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
    let err = cms.get("missing").await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404));
    server.shutdown().await;
}

#[tokio::test]
async fn watches_stream_while_other_requests_proceed() {
    let (server, client, _dir) = serve().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut watch = cms
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    // A second watch keeps another connection busy.
    let mut other = cms
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();

    // Many requests at once, on as many connections as the client opens, while watches are open.
    let writers = (0..20).map(|i| {
        let cms = cms.clone();
        async move {
            cms.create(&PostParams::default(), &config_map(&format!("cm-{i:02}")))
                .await
                .unwrap();
            cms.get(&format!("cm-{i:02}")).await.unwrap();
        }
    });
    timeout(WAIT, futures::future::join_all(writers))
        .await
        .expect("requests proceed while watches are open");

    for stream in [&mut watch, &mut other] {
        let mut seen = Vec::new();
        while seen.len() < 20 {
            match timeout(WAIT, stream.try_next()).await {
                Ok(Ok(Some(WatchEvent::Added(cm)))) => seen.push(cm.metadata.name.unwrap()),
                other => panic!("expected ADDED events, got {other:?} after {seen:?}"),
            }
        }
        seen.sort();
        assert_eq!(seen[0], "cm-00");
        assert_eq!(seen[19], "cm-19");
    }

    // Events arrive one at a time as they happen, not when the response ends.
    cms.create(&PostParams::default(), &config_map("late"))
        .await
        .unwrap();
    match timeout(WAIT, watch.try_next()).await {
        Ok(Ok(Some(WatchEvent::Added(cm)))) => {
            assert_eq!(cm.metadata.name.as_deref(), Some("late"))
        }
        other => panic!("expected the late ADDED event, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn watch_responses_are_chunked() {
    let (server, _client, _dir) = serve().await;
    let response = raw(
        &server,
        "GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_millis(500),
    )
    .await
    .to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 200"), "{response}");
    assert!(
        response.contains("transfer-encoding: chunked"),
        "{response}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_watches_and_stops_listening() {
    let (server, client, _dir) = serve().await;
    let addr = server.local_addr();
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let mut watch = cms
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    let handle = server.shutdown_handle();
    handle.shutdown();
    handle.shutdown(); // idempotent
    timeout(WAIT, server.stopped())
        .await
        .expect("the server stops with a watch open");
    // The open watch ends (cleanly or with a connection error), rather than hanging.
    let ended = timeout(WAIT, async {
        loop {
            match watch.next().await {
                None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch did not end");
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

/// Appends a length-delimited protobuf field.
fn proto_field(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag << 3 | 2);
    out.push(u8::try_from(bytes.len()).unwrap());
    out.extend_from_slice(bytes);
}

/// kubectl 1.32's `create` subcommands send protobuf, which the simulator decodes; another
/// media type is kube-apiserver's 415, storing nothing.
#[tokio::test]
async fn a_protobuf_body_is_decoded_and_another_media_type_is_415() {
    let (_server, client, _dir) = serve().await;
    // A ConfigMap `x` with data a=b, in the envelope kubectl sends.
    let mut type_meta = Vec::new();
    proto_field(1, b"v1", &mut type_meta);
    proto_field(2, b"ConfigMap", &mut type_meta);
    let mut meta = Vec::new();
    proto_field(1, b"x", &mut meta);
    proto_field(2, b"", &mut meta);
    let mut entry = Vec::new();
    proto_field(1, b"a", &mut entry);
    proto_field(2, b"b", &mut entry);
    let mut config_map = Vec::new();
    proto_field(1, &meta, &mut config_map);
    proto_field(2, &entry, &mut config_map);
    let mut unknown = Vec::new();
    proto_field(1, &type_meta, &mut unknown);
    proto_field(2, &config_map, &mut unknown);
    let body = [b"k8s\x00".as_slice(), &unknown].concat();
    let post = |content_type: &str, body: Vec<u8>| {
        http::Request::post("/api/v1/namespaces/default/configmaps")
            .header(http::header::CONTENT_TYPE, content_type)
            .body(kube::client::Body::from(body))
            .unwrap()
    };
    let response = client
        .send(post("application/vnd.kubernetes.protobuf", body))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let stored = cms.get("x").await.unwrap();
    assert_eq!(
        stored.data,
        Some([("a".to_string(), "b".to_string())].into())
    );

    let response = client
        .send(post("application/cbor", b"\xa0".to_vec()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let bytes = response.into_body().collect_bytes().await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status["reason"], "UnsupportedMediaType");
    assert_eq!(
        cms.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
}
