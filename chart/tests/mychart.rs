//! The chart `helm create mychart` scaffolds, rendered and compared with the expected objects.

use std::path::{Path, PathBuf};

use cutover_chart::{
    Capabilities, ChartError, HookDeletePolicy, HookEvent, Release, RenderError, coalesce, load,
    merge_values, parse_values_yaml, render, strvals,
};
use serde_json::{Map, Value, json};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn chart_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read testdata") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn expected(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(testdata().join(file)).expect("read expected");
    text.split("\n---\n")
        .skip(1)
        .map(|doc| serde_saphyr::from_str::<Value>(doc).expect("expected YAML parses"))
        .collect()
}

fn render_with(user: Map<String, Value>) -> cutover_chart::Rendered {
    let chart = load(&chart_files(&testdata().join("mychart"))).expect("chart loads");
    let values = coalesce(&chart.values, &user);
    render(
        &chart,
        &values,
        &Release::install("web", "default"),
        &Capabilities::default(),
    )
    .expect("chart renders")
}

#[test]
fn scaffold_renders_as_helm_does() {
    let out = render_with(Map::new());
    let want = expected("mychart.rendered.yaml");
    let got: Vec<Value> = out.manifests.iter().map(|m| m.object.clone()).collect();
    assert_eq!(got, want[..3].to_vec());
    let sources: Vec<&str> = out.manifests.iter().map(|m| m.template.as_str()).collect();
    assert_eq!(
        sources,
        [
            "mychart/templates/serviceaccount.yaml",
            "mychart/templates/service.yaml",
            "mychart/templates/deployment.yaml"
        ]
    );
    assert_eq!(out.hooks.len(), 1);
    let hook = &out.hooks[0];
    assert_eq!(hook.manifest.object, want[3]);
    assert_eq!(
        hook.manifest.template,
        "mychart/templates/tests/test-connection.yaml"
    );
    assert_eq!(hook.events, [HookEvent::Test]);
    assert!(hook.never_install());
    assert_eq!(hook.delete_policies, [HookDeletePolicy::BeforeHookCreation]);
    assert_eq!(hook.weight, 0);
    let notes = out.notes.expect("NOTES.txt rendered");
    assert!(
        notes.starts_with("1. Get the application URL by running these commands:\n"),
        "{notes}"
    );
    assert!(
        notes.contains("-l \"app.kubernetes.io/name=mychart,app.kubernetes.io/instance=web\""),
        "{notes}"
    );
    assert!(
        notes.contains("kubectl --namespace default port-forward $POD_NAME 8080:$CONTAINER_PORT"),
        "{notes}"
    );
    assert!(out.crds.is_empty());
}

#[test]
fn scaffold_with_set_overrides() {
    let user = strvals::parse_set(
        "ingress.enabled=true,autoscaling.enabled=true,serviceAccount.create=false",
    )
    .expect("--set parses");
    let out = render_with(user);
    let want = expected("mychart.overrides.rendered.yaml");
    let got: Vec<Value> = out.manifests.iter().map(|m| m.object.clone()).collect();
    assert_eq!(got, want[..4].to_vec());
    assert_eq!(out.hooks.len(), 1);
    assert_eq!(out.hooks[0].manifest.object, want[4]);
    let notes = out.notes.expect("notes");
    assert!(notes.contains("http://chart-example.local/"), "{notes}");
}

#[test]
fn values_files_numbers_print_as_helm() {
    // A -f file is read with Helm's float64 numbers; --set integers stay integers.
    let chart = load(&chart_files(&testdata().join("mychart"))).expect("chart loads");
    let file = parse_values_yaml(
        "big.yaml",
        "replicaCount: 1000000\nservice:\n  port: 8080\n",
    )
    .expect("values parse");
    let user = merge_values(&Map::new(), &file);
    let values = coalesce(&chart.values, &user);
    let out = render(
        &chart,
        &values,
        &Release::install("web", "default"),
        &Capabilities::default(),
    )
    .expect("renders");
    let deploy = out
        .manifests
        .iter()
        .find(|m| m.kind() == "Deployment")
        .expect("deployment");
    // `replicas: 1e+06` in the text, as Helm 3 prints a float64.
    assert_eq!(deploy.object["spec"]["replicas"], json!(1000000.0));
    assert_eq!(
        deploy.object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        json!(8080)
    );
    let mut set_values = user.clone();
    strvals::parse_set_into("replicaCount=1000000", &mut set_values).expect("--set");
    let values = coalesce(&chart.values, &set_values);
    let out = render(
        &chart,
        &values,
        &Release::install("web", "default"),
        &Capabilities::default(),
    )
    .expect("renders");
    let deploy = out
        .manifests
        .iter()
        .find(|m| m.kind() == "Deployment")
        .expect("deployment");
    assert_eq!(deploy.object["spec"]["replicas"], json!(1000000));
}

fn mini(templates: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "Chart.yaml".to_string(),
        b"apiVersion: v2\nname: mini\nversion: 1.0.0\n".to_vec(),
    )];
    for (p, t) in templates {
        files.push((p.to_string(), t.as_bytes().to_vec()));
    }
    files
}

fn render_mini(templates: &[(&str, &str)]) -> Result<cutover_chart::Rendered, RenderError> {
    let chart = load(&mini(templates)).expect("loads");
    let values = coalesce(&chart.values, &Map::new());
    render(
        &chart,
        &values,
        &Release::install("r", "ns"),
        &Capabilities::default(),
    )
}

#[test]
fn hooks_order_documents_and_builtins() {
    let out = render_mini(&[
        ("templates/a.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: late\n  annotations:\n    helm.sh/hook: post-install,pre-upgrade\n    helm.sh/hook-weight: \"5\"\n    helm.sh/hook-delete-policy: hook-succeeded,hook-failed\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: early\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"-1\"\n"),
        ("templates/b.yaml", "# only a comment\n---\n\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"),
        ("templates/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Template.Name | replace \"/\" \"-\" | trimSuffix \".yaml\" }}\ndata:\n  base: {{ .Template.BasePath }}\n  kube: {{ .Capabilities.KubeVersion.Version }}\n  minor: {{ .Capabilities.KubeVersion.Minor | quote }}\n  apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n  nope: {{ .Capabilities.APIVersions.Has \"nope/v9\" | quote }}\n  svc: {{ .Release.Service }}\n  rev: {{ .Release.Revision | quote }}\n  install: {{ .Release.IsInstall | quote }}\n  ns: {{ .Release.Namespace }}\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n  file: {{ .Files.Get \"files/x.txt\" | trim | quote }}\n  modern: {{ semverCompare \">=1.19-0\" .Capabilities.KubeVersion.GitVersion | quote }}\n"),
        ("templates/_skip.yaml", "not: [rendered"),
        ("files/x.txt", "from a file\n"),
    ])
    .expect("renders");
    let kinds: Vec<&str> = out.manifests.iter().map(|m| m.kind()).collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment", "Widget"]);
    let cm = &out.manifests[1].object;
    assert_eq!(cm["metadata"]["name"], "mini-templates-c");
    assert_eq!(
        cm["data"],
        json!({"base": "mini/templates", "kube": "v1.32.0", "minor": "32", "apps": "true", "nope": "false", "svc": "Helm", "rev": "1", "install": "true", "ns": "ns", "chart": "mini-1.0.0", "file": "from a file", "modern": "true"})
    );
    let names: Vec<&str> = out.hooks.iter().map(|h| h.manifest.name()).collect();
    assert_eq!(names, ["early", "late"]);
    assert_eq!(
        out.hooks[1].events,
        [HookEvent::PostInstall, HookEvent::PreUpgrade]
    );
    assert_eq!(out.hooks[1].weight, 5);
    assert_eq!(
        out.hooks[1].delete_policies,
        [
            HookDeletePolicy::HookSucceeded,
            HookDeletePolicy::HookFailed
        ]
    );
    assert!(!out.hooks[1].never_install());
    let mut m = out.manifests.clone();
    cutover_chart::sort_for_uninstall(&mut m);
    let kinds: Vec<&str> = m.iter().map(|m| m.kind()).collect();
    assert_eq!(kinds, ["Deployment", "ConfigMap", "Namespace", "Widget"]);
}

#[test]
fn render_errors_name_template_and_line() {
    let e = render_mini(&[("templates/x.yaml", "a: 1\nb: {{ toToml .Values }}\n")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mini/templates/x.yaml:2: function \"toToml\" is not supported by cutover's chart renderer"
    );
    let e = render_mini(&[(
        "templates/x.yaml",
        "kind: A\n\n{{ required \"need .Values.x\" .Values.x }}\n",
    )])
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "execution error at (mini/templates/x.yaml:3:4): need .Values.x"
    );
    let e = render_mini(&[
        (
            "templates/_h.tpl",
            "{{ define \"h\" }}\n{{ .Values.a.b }}{{ end }}",
        ),
        ("templates/x.yaml", "{{ include \"h\" . }}"),
    ])
    .unwrap_err();
    assert!(e.to_string().starts_with("template: mini/templates/_h.tpl:2:4: executing \"h\": nil pointer evaluating interface {}.b"), "{e}");
    let e = render_mini(&[("templates/x.yaml", "a: [1\n")]).unwrap_err();
    assert!(
        matches!(e, RenderError::Yaml { ref template, .. } if template == "mini/templates/x.yaml"),
        "{e}"
    );
    let e = render_mini(&[("templates/x.yaml", "a: 1\n")]).unwrap_err();
    assert!(e.to_string().contains("no apiVersion or kind"), "{e}");
}

#[test]
fn load_checks() {
    assert_eq!(load(&[]).unwrap_err(), ChartError::MissingChartYaml);
    let mut files = mini(&[]);
    files.push(("charts/sub/Chart.yaml".into(), b"x".to_vec()));
    assert!(matches!(load(&files), Err(ChartError::Unsupported(_))));
    let files = vec![("Chart.yaml".to_string(), b"name: x\nversion: 1\n".to_vec())];
    assert!(matches!(load(&files), Err(ChartError::InvalidChartYaml(_))));
    let files = vec![("../Chart.yaml".to_string(), b"".to_vec())];
    assert!(matches!(load(&files), Err(ChartError::BadPath(_))));
    // .helmignore drops files from .Files; the scaffold's chart keeps all of its templates.
    let mut files = mini(&[(
        "templates/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ len .Files }}\n",
    )]);
    files.push((".helmignore".into(), b"*.bak\n".to_vec()));
    files.push(("notes.bak".into(), b"x".to_vec()));
    files.push(("keep.txt".into(), b"x".to_vec()));
    let chart = load(&files).expect("loads");
    assert_eq!(chart.files.keys().collect::<Vec<_>>(), ["keep.txt"]);
    let v1 = vec![(
        "Chart.yaml".to_string(),
        b"apiVersion: v1\nname: old\nversion: 0.1.0\n".to_vec(),
    )];
    assert_eq!(load(&v1).expect("v1 loads").metadata.api_version, "v1");
    let lib = vec![(
        "Chart.yaml".to_string(),
        b"apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n".to_vec(),
    )];
    let chart = load(&lib).expect("loads");
    assert!(matches!(
        render(
            &chart,
            &Map::new(),
            &Release::install("r", "n"),
            &Capabilities::default()
        ),
        Err(RenderError::Library(_))
    ));
}

#[test]
fn scaffold_to_yaml_blocks_from_set_values() {
    let user = strvals::parse_set(
        "podAnnotations.checksum/config=abc,resources.limits.cpu=100m,resources.limits.memory=128Mi,tolerations[0].key=k,tolerations[0].operator=Exists,nodeSelector.disk=ssd,image.tag=1.27",
    )
    .expect("--set parses");
    let out = render_with(user);
    let deploy = out
        .manifests
        .iter()
        .find(|m| m.kind() == "Deployment")
        .expect("deployment");
    let pod = &deploy.object["spec"]["template"];
    assert_eq!(
        pod["metadata"]["annotations"],
        json!({"checksum/config": "abc"})
    );
    assert_eq!(
        pod["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "100m", "memory": "128Mi"}})
    );
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([{"key": "k", "operator": "Exists"}])
    );
    assert_eq!(pod["spec"]["nodeSelector"], json!({"disk": "ssd"}));
}

#[test]
fn duplicate_defines_resolve_as_helm() {
    // Same depth: the alphabetically first file is parsed last and wins; deeper files lose.
    let out = render_mini(&[
        ("templates/_a.tpl", "{{ define \"n\" }}from-a{{ end }}"),
        ("templates/_b.tpl", "{{ define \"n\" }}from-b{{ end }}"),
        ("templates/sub/_c.tpl", "{{ define \"n\" }}from-c{{ end }}"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"n\" . }}\n",
        ),
    ])
    .expect("renders");
    assert_eq!(out.manifests[0].name(), "from-a");
}

#[test]
fn render_output_is_bounded() {
    let chart = load(&mini(&[(
        "templates/big.yaml",
        "{{ range until 1000 }}{{ repeat 100000 \"x\" }}{{ end }}",
    )]))
    .expect("loads");
    let values = coalesce(&chart.values, &Map::new());
    let e = render(
        &chart,
        &values,
        &Release::install("r", "n"),
        &Capabilities::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("mini/templates/big.yaml") && e.to_string().contains("bytes"),
        "{e}"
    );
}

#[test]
fn files_glob_as_config_and_tpl_with_values() {
    let chart = load(&mini(&[
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ tpl .Values.nameTemplate . }}\ndata:\n  {{- (.Files.Glob \"conf/*.ini\").AsConfig | nindent 2 }}\n  paths: {{ range $p, $_ := .Files.Glob \"conf/**\" }}{{ $p }};{{ end }}\n  lines: {{ .Files.Lines \"conf/a.ini\" | len | quote }}\n",
        ),
        ("conf/a.ini", "x=1\ny=2"),
        ("conf/b.ini", "z=3\n"),
        ("conf/sub/c.txt", "c"),
        ("values.yaml", "nameTemplate: \"{{ .Release.Name }}-cfg\"\n"),
    ]))
    .expect("loads");
    let values = coalesce(&chart.values, &Map::new());
    let out = render(
        &chart,
        &values,
        &Release::install("r", "n"),
        &Capabilities::default(),
    )
    .expect("renders");
    let cm = &out.manifests[0].object;
    assert_eq!(cm["metadata"]["name"], "r-cfg");
    assert_eq!(cm["data"]["a.ini"], "x=1\ny=2");
    assert_eq!(cm["data"]["b.ini"], "z=3\n");
    assert_eq!(cm["data"]["paths"], "conf/a.ini;conf/b.ini;conf/sub/c.txt;");
    assert_eq!(cm["data"]["lines"], "2");
}
