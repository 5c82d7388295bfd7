//! Capabilities in force for one run: whether a grant covers a declaration, and whether a call
//! is allowed (docs/capabilities.md). The grammar itself lives in `cutover-grammar`.

pub use cutover_grammar::capability::{
    CLUSTER_OPERATIONS, Call, Capability, PROBE_OPERATIONS, ParseError, ProbeCall,
    REVISION_OPERATIONS,
};

/// The most probe endpoints the parameters of one run may name.
pub const MAX_ENDPOINTS: usize = 256;

/// Replaces each probe capability's `{parameter}` with the endpoints the run's parameter
/// holds, one capability per `host:port` (a `string` parameter names one, a `string-list`
/// several); an unset or empty parameter declares none. An error names the parameter and the
/// value that is not an endpoint, or says that more than [`MAX_ENDPOINTS`] are named.
pub fn resolve_endpoint_params(
    capabilities: &[Capability],
    params: &serde_json::Value,
) -> Result<Vec<Capability>, String> {
    let mut resolved = Vec::with_capacity(capabilities.len());
    let mut seen = std::collections::HashSet::new();
    for capability in capabilities {
        let Some(name) = capability.endpoint_param() else {
            resolved.push(capability.clone());
            continue;
        };
        let values: Vec<&serde_json::Value> = match params.get(name) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        for value in values {
            let endpoint = value.as_str().ok_or_else(|| {
                format!("parameter {name} names the endpoints of `{capability}`: each must be a `<host>:<port>` string")
            })?;
            let one = capability.with_endpoint(endpoint).map_err(|e| {
                format!(
                    "parameter {name} (the endpoints of `{capability}`): {e}; give <host>:<port>, such as prometheus.monitoring:9090"
                )
            })?;
            if seen.insert(one.to_string()) {
                if seen.len() > MAX_ENDPOINTS {
                    return Err(format!(
                        "parameter {name} names more than {MAX_ENDPOINTS} probe endpoints"
                    ));
                }
                resolved.push(one);
            }
        }
    }
    Ok(resolved)
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error(
        "{0} is not among the capabilities the policy declares: declare it in the policy's manifest (`capabilities:` of export_policy!); no --allow grants an undeclared call"
    )]
    NotDeclared(String),
    #[error("{0} is not granted to this run (grant it with --allow)")]
    NotGranted(String),
    #[error(
        "{call} is not among the endpoints this run names in parameter {param}: add {endpoint} to that list if the policy should reach it"
    )]
    EndpointNotNamed {
        call: String,
        param: String,
        endpoint: String,
    },
}

/// The capabilities in force for one run: what the policy declared and what the operator granted,
/// both resolved against the run's namespace.
#[derive(Debug, Clone)]
pub struct Grants {
    declared: Vec<Capability>,
    granted: Vec<Capability>,
    /// The declared probe capabilities whose endpoints come from a parameter
    /// (`probe/*:{param}`, unresolved), for a denial that says where an endpoint is named.
    endpoint_params: Vec<Capability>,
}

impl Grants {
    /// Resolves both lists against the run's namespace.
    pub fn new(declared: &[Capability], granted: &[Capability], run_namespace: &str) -> Grants {
        Grants {
            declared: declared.iter().map(|c| c.resolve(run_namespace)).collect(),
            granted: granted.iter().map(|c| c.resolve(run_namespace)).collect(),
            endpoint_params: Vec::new(),
        }
    }

    /// The declaration's unresolved `probe/...:{param}` capabilities: a probe they could have
    /// allowed, to an endpoint their parameter does not name, is denied naming the parameter.
    pub fn with_endpoint_params(mut self, placeholders: Vec<Capability>) -> Grants {
        self.endpoint_params = placeholders;
        self
    }

    /// Every declared capability that no grant covers, in the manifest's order: the run is
    /// refused unless there are none.
    pub fn uncovered(&self) -> Vec<&Capability> {
        self.declared
            .iter()
            .filter(|d| !self.granted.iter().any(|g| g.covers(d)))
            .collect()
    }

    /// Whether one call is allowed: it must be both declared and granted.
    pub fn check(&self, call: &Call<'_>) -> Result<(), Denial> {
        if !self.declared.iter().any(|c| c.allows(call)) {
            return Err(Denial::NotDeclared(call.to_string()));
        }
        if !self.granted.iter().any(|c| c.allows(call)) {
            return Err(Denial::NotGranted(call.to_string()));
        }
        Ok(())
    }

    /// Whether one probe call is allowed: its endpoint must be both declared and granted, by
    /// `probe` capabilities naming it (no wildcard reaches the network).
    pub fn check_probe(&self, call: &ProbeCall<'_>) -> Result<(), Denial> {
        if !self.declared.iter().any(|c| c.allows_probe(call)) {
            let placeholder = self.endpoint_params.iter().find_map(|c| {
                c.endpoint_param()
                    .filter(|_| c.allows_operation("probe", call.operation))
            });
            return Err(match placeholder {
                Some(param) => Denial::EndpointNotNamed {
                    call: call.to_string(),
                    param: param.to_string(),
                    endpoint: format!("{}:{}", call.host, call.port),
                },
                None => Denial::NotDeclared(call.to_string()),
            });
        }
        if !self.granted.iter().any(|c| c.allows_probe(call)) {
            return Err(Denial::NotGranted(call.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(text: &str) -> Capability {
        Capability::parse(text).unwrap()
    }

    fn call<'a>(op: &'a str, v: &'a str, k: &'a str, ns: Option<&'a str>) -> Call<'a> {
        Call {
            interface: "cluster",
            operation: op,
            api_version: Some(v),
            kind: Some(k),
            namespace: ns,
        }
    }

    #[test]
    fn run_namespace_placeholder_is_resolved() {
        let declared = [cap("cluster/patch:apps/v1/Deployment@{namespace}")];
        let granted = [cap("cluster/patch:apps/v1/Deployment@shop")];
        let grants = Grants::new(&declared, &granted, "shop");
        assert!(grants.uncovered().is_empty());
        assert!(
            grants
                .check(&call("patch", "apps/v1", "Deployment", Some("shop")))
                .is_ok()
        );
        let elsewhere = grants.check(&call("patch", "apps/v1", "Deployment", Some("kube-system")));
        assert!(matches!(elsewhere, Err(Denial::NotDeclared(_))));
        let other_ns = Grants::new(&declared, &granted, "prod");
        assert_eq!(other_ns.uncovered().len(), 1);
    }

    #[test]
    fn a_call_must_be_declared_and_granted() {
        let grants = Grants::new(
            &[cap("cluster/get:v1/Node")],
            &[cap("cluster/*")],
            "default",
        );
        assert!(grants.check(&call("get", "v1", "Node", None)).is_ok());
        let delete = grants.check(&call("delete", "v1", "Namespace", None));
        assert_eq!(
            delete,
            Err(Denial::NotDeclared("cluster/delete:v1/Namespace".into()))
        );
        let narrow = Grants::new(&[cap("cluster/*")], &[cap("cluster/get")], "default");
        assert!(matches!(
            narrow.check(&call("list", "v1", "Pod", Some("a"))),
            Err(Denial::NotGranted(_))
        ));
        assert_eq!(narrow.uncovered(), [&cap("cluster/*")]);
    }

    #[test]
    fn every_uncovered_declaration_is_named() {
        let declared = [
            cap("cluster/cordon"),
            cap("cluster/list:v1/Pod@*"),
            cap("cluster/evict:v1/Pod@*"),
        ];
        let grants = Grants::new(&declared, &[cap("cluster/list")], "default");
        assert_eq!(grants.uncovered(), [&declared[0], &declared[2]]);
    }

    #[test]
    fn an_undeclared_call_says_to_declare_it() {
        let grants = Grants::new(&[], &[cap("*/*")], "default");
        let denial = grants
            .check(&call("delete", "v1", "Namespace", None))
            .unwrap_err();
        assert!(matches!(denial, Denial::NotDeclared(_)));
        let text = denial.to_string();
        assert!(
            text.contains("declare it in the policy's manifest"),
            "{text}"
        );
        assert!(text.contains("`capabilities:` of export_policy!"), "{text}");
        assert!(!text.contains("grant it"), "{text}");
    }

    #[test]
    fn an_endpoint_parameter_declares_one_capability_per_endpoint() {
        let declared = [cap("cluster/get"), cap("probe/*:{endpoints}")];
        let many = serde_json::json!({"endpoints": ["a.shop:80", "127.0.0.1:9090", "a.shop:80"]});
        let resolved: Vec<String> = resolve_endpoint_params(&declared, &many)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            resolved,
            ["cluster/get", "probe/*:a.shop:80", "probe/*:127.0.0.1:9090"]
        );
        let one = serde_json::json!({"endpoints": "web:8080"});
        assert_eq!(
            resolve_endpoint_params(&declared, &one).unwrap()[1].to_string(),
            "probe/*:web:8080"
        );
        for unset in [
            serde_json::json!({}),
            serde_json::json!({"endpoints": null}),
            serde_json::json!({"endpoints": []}),
        ] {
            assert_eq!(
                resolve_endpoint_params(&declared, &unset).unwrap(),
                [cap("cluster/get")]
            );
        }
        let url = serde_json::json!({"endpoints": ["http://web:8080"]});
        let e = resolve_endpoint_params(&declared, &url).unwrap_err();
        assert!(e.starts_with("parameter endpoints (the endpoints of `probe/*:{endpoints}`): invalid capability `probe/*:http://web:8080`"), "{e}");
        assert!(
            e.ends_with("give <host>:<port>, such as prometheus.monitoring:9090"),
            "{e}"
        );
        let endpoints: Vec<String> = (1..=MAX_ENDPOINTS + 1)
            .map(|p| format!("web:{p}"))
            .collect();
        let e = resolve_endpoint_params(&declared, &serde_json::json!({"endpoints": endpoints}))
            .unwrap_err();
        assert_eq!(e, "parameter endpoints names more than 256 probe endpoints");
        let number = serde_json::json!({"endpoints": [8080]});
        assert!(
            resolve_endpoint_params(&declared, &number)
                .unwrap_err()
                .contains("must be a `<host>:<port>` string")
        );
    }

    #[test]
    fn a_resolved_endpoint_parameter_grants_only_its_endpoints() {
        let params = serde_json::json!({"endpoints": ["127.0.0.1:9090"]});
        let declared =
            resolve_endpoint_params(&[cap("probe/prometheus:{endpoints}")], &params).unwrap();
        let grants = Grants::new(&declared, &declared, "default");
        let call = ProbeCall {
            operation: "prometheus",
            host: "127.0.0.1",
            port: 9090,
        };
        assert!(grants.check_probe(&call).is_ok());
        assert!(matches!(
            grants.check_probe(&ProbeCall { port: 9091, ..call }),
            Err(Denial::NotDeclared(_))
        ));
        let named = grants
            .clone()
            .with_endpoint_params(vec![cap("probe/prometheus:{endpoints}")])
            .check_probe(&ProbeCall { port: 9091, ..call })
            .unwrap_err()
            .to_string();
        assert_eq!(
            named,
            "probe/prometheus:127.0.0.1:9091 is not among the endpoints this run names in parameter endpoints: add 127.0.0.1:9091 to that list if the policy should reach it"
        );
        // A placeholder of another operation could not have allowed it: not named.
        let http = grants
            .with_endpoint_params(vec![cap("probe/http:{endpoints}")])
            .check_probe(&ProbeCall { port: 9091, ..call });
        assert!(matches!(http, Err(Denial::NotDeclared(_))));
        let unresolved = [cap("probe/prometheus:{endpoints}")];
        let raw = Grants::new(&unresolved, &unresolved, "default");
        assert!(
            raw.check_probe(&call).is_err(),
            "a placeholder allows nothing"
        );
    }

    #[test]
    fn a_probe_needs_its_endpoint_declared_and_granted() {
        let call = ProbeCall {
            operation: "http",
            host: "127.0.0.1",
            port: 9090,
        };
        let declared = [cap("probe/http:127.0.0.1:9090")];
        let ok = Grants::new(&declared, &[cap("probe/*:127.0.0.1:9090")], "default");
        assert!(ok.uncovered().is_empty());
        assert!(ok.check_probe(&call).is_ok());
        let other_port = ProbeCall { port: 9091, ..call };
        assert_eq!(
            ok.check_probe(&other_port),
            Err(Denial::NotDeclared("probe/http:127.0.0.1:9091".into()))
        );
        let wildcard = Grants::new(&declared, &[cap("*/*")], "default");
        assert_eq!(wildcard.uncovered(), [&declared[0]]);
        assert_eq!(
            wildcard.check_probe(&call),
            Err(Denial::NotGranted("probe/http:127.0.0.1:9090".into()))
        );
    }

    #[test]
    fn namespaced_capability_does_not_reach_cluster_scoped_objects() {
        let grants = Grants::new(&[cap("cluster/get@shop")], &[cap("*/*")], "shop");
        assert!(grants.check(&call("get", "v1", "Node", None)).is_err());
    }
}
