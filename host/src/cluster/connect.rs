//! Connecting: kubeconfig and in-cluster configuration by kubectl's rules, and the reachability check.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cutover_clock::Clock;
use http::{HeaderName, HeaderValue};
use kube::config::{Config, KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::error::{ClusterError, chain};
use super::{Cluster, Ctx};

/// What every request says it comes from, so that API-server audit logs name the tool.
pub const USER_AGENT: &str = concat!("cutover/", env!("CARGO_PKG_VERSION"));

/// Slack between a watch's server-side timeout and the client's read timeout.
const WATCH_SLACK: Duration = Duration::from_secs(5);

/// Where to find the cluster, as the CLI's `--kubeconfig`, `--context` and `-n` give it, and
/// how long one request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `--kubeconfig`; `None` for `$KUBECONFIG`, else `~/.kube/config`, else in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; `None` for the kubeconfig's current context.
    pub context: Option<String>,
    /// `-n`; `None` for the context's namespace, else `default`.
    pub namespace: Option<String>,
    /// `--request-timeout`: the connect timeout, the bound on the reachability check, and
    /// (plus a few seconds) the read timeout; watches are asked to end before it.
    pub request_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            kubeconfig: None,
            context: None,
            namespace: None,
            request_timeout: crate::sandbox::limits::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What a [`Cluster`] talks to. The CLI prints it before anything else, so that an operator
/// sees which cluster a run is about to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kubeconfig context; `None` for in-cluster configuration.
    pub context: Option<String>,
    /// The API server URL.
    pub server: String,
    /// The run's namespace.
    pub namespace: String,
}

impl std::fmt::Display for Target {
    /// `context kind-prod, server https://1.2.3.4:6443, namespace shop`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(c) => write!(f, "context {c}, ")?,
            None => f.write_str("in-cluster, ")?,
        }
        write!(f, "server {}, namespace {}", self.server, self.namespace)
    }
}

/// A configuration problem: the operator's input or files, so `Invalid`.
fn config_error(what: impl std::fmt::Display) -> ClusterError {
    ClusterError::Invalid(super::error::one_line(&format!(
        "cannot load the cluster configuration: {what}"
    )))
}

/// Whether a kubeconfig error means only "there is no kubeconfig file here".
fn is_missing_file(err: &KubeconfigError) -> bool {
    match err {
        KubeconfigError::FindPath => true,
        KubeconfigError::ReadConfig(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// Loads the client configuration and the context name it came from.
async fn load(opts: &ConnectOptions) -> Result<(Config, Option<String>), ClusterError> {
    let kubeconfig = match &opts.kubeconfig {
        // An explicit file must exist.
        Some(path) => Kubeconfig::read_from(path).map_err(|e| config_error(chain(&e)))?,
        // `$KUBECONFIG` (a list of files, merged) else `~/.kube/config`.
        None => match Kubeconfig::read() {
            Ok(k) => k,
            // No kubeconfig at all: in-cluster, as kubectl falls back to, unless a context was
            // asked for (a context only exists in a kubeconfig).
            Err(e)
                if is_missing_file(&e)
                    && opts.context.is_none()
                    && std::env::var_os("KUBECONFIG").is_none() =>
            {
                return match Config::incluster() {
                    Ok(config) => Ok((config, None)),
                    Err(in_cluster) => Err(config_error(format_args!(
                        "no kubeconfig (give --kubeconfig, set $KUBECONFIG or create ~/.kube/config) \
                         and not running in a cluster ({})",
                        chain(&in_cluster)
                    ))),
                };
            }
            Err(e) => return Err(config_error(chain(&e))),
        },
    };
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    if let Some(name) = &context
        && !kubeconfig.contexts.iter().any(|c| &c.name == name)
    {
        return Err(config_error(format_args!(
            "no context {name:?} in the kubeconfig"
        )));
    }
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| config_error(chain(&e)))?;
    Ok((config, context))
}

impl Cluster {
    /// Connects by kubectl's rules: `--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`,
    /// else the in-cluster service account; `--context`, else the current context; the namespace
    /// from `-n`, else the context's, else `default`.
    ///
    /// No request is made yet; call [`check_reachable`](Cluster::check_reachable) to find out
    /// whether the server answers.
    ///
    /// Every request carries the `User-Agent` [`USER_AGENT`], a connect timeout of
    /// `request_timeout` and a read timeout a little longer; watches ask the server to end
    /// them (`timeoutSeconds`) before the read timeout, and are resumed.
    pub async fn connect(
        opts: &ConnectOptions,
        clock: Clock,
    ) -> Result<(Cluster, Target), ClusterError> {
        let (mut config, context) = load(opts).await?;
        // This layer retries with a small budget of its own (see retry.rs).
        config.default_retry = false;
        config.connect_timeout = Some(opts.request_timeout);
        config.read_timeout = Some(opts.request_timeout + WATCH_SLACK);
        config.write_timeout = Some(opts.request_timeout);
        config.headers.push((
            HeaderName::from_static("user-agent"),
            HeaderValue::from_static(USER_AGENT),
        ));
        let watch_timeout_secs = u32::try_from(opts.request_timeout.as_secs())
            .unwrap_or(u32::MAX)
            .clamp(1, super::DEFAULT_WATCH_TIMEOUT_SECS);
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let namespace = opts
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        super::target::check_namespace(&namespace).map_err(ClusterError::Invalid)?;
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| {
                config_error(format_args!(
                    "cannot build a client for {server}: {}",
                    chain(&e)
                ))
            })?
            // No response body, whoever reads it, grows past the bound (see body_limit.rs).
            .with_layer(&super::body_limit::BodyLimitLayer {
                max: super::body_limit::MAX_BODY_BYTES,
            })
            .build();
        let cluster = Cluster {
            field_manager: super::FIELD_MANAGER.to_string(),
            client,
            namespace: namespace.clone(),
            dry_run: false,
            server: Some(server.clone()),
            watch_timeout_secs,
            shared: Arc::new(super::Shared {
                retrier: super::retry::Retrier {
                    jitter: super::retry::Jitter::default(),
                    clock,
                },
                ..super::Shared::default()
            }),
        };
        Ok((
            cluster,
            Target {
                context,
                server,
                namespace,
            },
        ))
    }

    /// One cheap request (`GET /version`), so that an unreachable cluster is reported before any
    /// guest code runs, within `timeout`. Returns the server's git version (`v1.20.2`).
    pub async fn check_reachable(&self, timeout: Duration) -> Result<String, ClusterError> {
        let place = match &self.server {
            Some(url) => format!("the cluster at {url}"),
            None => "the cluster".to_string(),
        };
        // No retries: this check exists to fail fast.
        let answer = self
            .clock()
            .timeout(timeout, self.client.apiserver_version())
            .await
            .map_err(|_| {
                ClusterError::Unavailable(format!(
                    "cannot reach {place}: no answer within {} (--request-timeout); check --kubeconfig/--context",
                    super::error::human(timeout)
                ))
            })?;
        let info = answer.map_err(|e| {
            let cause = match &e {
                kube::Error::Api(status) => super::error::status_detail(status),
                other => super::error::transport_cause(other),
            };
            let line = format!("cannot reach {place}: {cause}; check --kubeconfig/--context");
            let ctx = Ctx {
                op: "reach",
                what: "the cluster",
                server: self.server.as_deref(),
            };
            match ctx.map(&e) {
                ClusterError::Forbidden(_) => ClusterError::Forbidden(line),
                _ => ClusterError::Unavailable(line),
            }
        })?;
        Ok(info.git_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1/"}
- name: b
  cluster: {server: "https://127.0.0.2:2"}
users:
- name: u
  user: {token: t}
contexts:
- name: first
  context: {cluster: a, user: u, namespace: shop}
- name: second
  context: {cluster: b, user: u}
current-context: first
"#;

    fn file() -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(KUBECONFIG.as_bytes()).unwrap();
        f
    }

    fn opts(f: &tempfile::NamedTempFile) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: Some(f.path().to_path_buf()),
            ..Default::default()
        }
    }

    async fn connect(o: &ConnectOptions) -> Result<(Cluster, Target), ClusterError> {
        Cluster::connect(o, Clock::tokio()).await
    }

    #[tokio::test]
    async fn current_context_and_its_namespace() {
        let f = file();
        let (cluster, target) = connect(&opts(&f)).await.unwrap();
        assert_eq!(
            target,
            Target {
                context: Some("first".into()),
                server: "https://127.0.0.1:1".into(),
                namespace: "shop".into()
            }
        );
        assert_eq!(cluster.namespace(), "shop");
        assert_eq!(
            target.to_string(),
            "context first, server https://127.0.0.1:1, namespace shop"
        );
    }

    #[tokio::test]
    async fn explicit_context_and_namespace() {
        let f = file();
        let o = ConnectOptions {
            context: Some("second".into()),
            ..opts(&f)
        };
        let (_, target) = connect(&o).await.unwrap();
        assert_eq!(target.server, "https://127.0.0.2:2");
        assert_eq!(
            target.namespace, "default",
            "a context without a namespace means default"
        );
        let o = ConnectOptions {
            namespace: Some("ops".into()),
            ..o
        };
        assert_eq!(connect(&o).await.unwrap().1.namespace, "ops");
    }

    #[tokio::test]
    async fn config_errors_are_invalid() {
        let f = file();
        let o = ConnectOptions {
            context: Some("nope".into()),
            ..opts(&f)
        };
        let e = connect(&o).await.unwrap_err();
        assert!(
            matches!(&e, ClusterError::Invalid(m) if m.contains("no context \"nope\"")),
            "{e:?}"
        );
        let o = ConnectOptions {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..Default::default()
        };
        assert!(matches!(connect(&o).await, Err(ClusterError::Invalid(_))));
    }

    #[tokio::test]
    async fn unreachable_server_is_unavailable_with_hint() {
        let f = file();
        let (cluster, _) = connect(&opts(&f)).await.unwrap();
        // Port 1 on loopback refuses connections at once.
        let e = cluster
            .check_reachable(Duration::from_secs(5))
            .await
            .unwrap_err();
        let ClusterError::Unavailable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.starts_with("cannot reach the cluster at https://127.0.0.1:1: "),
            "{m}"
        );
        assert!(m.ends_with("; check --kubeconfig/--context"), "{m}");
        assert!(!m.contains('\n'));
    }
}
