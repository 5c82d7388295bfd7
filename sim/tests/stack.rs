//! `SimService` handles each request on a runtime thread's stack, not on its caller's: in
//! `cutover run` the caller is a WebAssembly guest's host call, polled on a fiber with a small
//! stack. Here the caller is a thread with a 64 KiB stack: enough to wait for an answer, too
//! small to parse, merge and serialise JSON nested to the bound (handled inline, these requests
//! overflow it; the test binary would abort). A test binary of its own, so that such an abort
//! takes nothing else down.

use cutover_sim::Simulator;
use cutover_sim::limits::MAX_NESTING_DEPTH;
use tower::Service;

const CALLER_STACK: usize = 64 * 1024;

fn nested(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

fn request(
    method: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> http::Request<kube::client::Body> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(kube::client::Body::from(body.into_bytes()))
        .unwrap()
}

#[test]
fn requests_at_the_nesting_bound_are_handled_off_the_callers_stack() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    let sim = Simulator::new(0);
    let deep = nested(MAX_NESTING_DEPTH - 1);
    let item = "/api/v1/namespaces/default/configmaps/deep";
    let requests = vec![
        request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"deep"}},"x":{deep}}}"#
            ),
        ),
        request(
            "PATCH",
            item,
            "application/strategic-merge-patch+json",
            format!(r#"{{"y":{deep}}}"#),
        ),
        request(
            "PATCH",
            item,
            "application/merge-patch+json",
            format!(r#"{{"z":{deep}}}"#),
        ),
        request("GET", item, "application/json", String::new()),
    ];
    let codes = std::thread::Builder::new()
        .stack_size(CALLER_STACK)
        .spawn(move || {
            handle.block_on(async move {
                let mut service = sim.service();
                let mut codes = Vec::new();
                for r in requests {
                    let response = service.call(r).await.expect("the service never fails");
                    codes.push(response.status().as_u16());
                }
                codes
            })
        })
        .unwrap()
        .join()
        .expect("the caller's thread finished");
    assert_eq!(codes, [201, 200, 200, 200]);
}
