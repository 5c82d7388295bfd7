//! Helm hooks read from their annotations (`helm.sh/hook`, `helm.sh/hook-weight`,
//! `helm.sh/hook-delete-policy`): which objects are hooks, which run at a phase, in which
//! order, and when each is deleted.

use serde_json::Value;

use crate::object::{annotation, describe, install_rank};

/// When a hook runs, for the events an install or an upgrade fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    PreInstall,
    PostInstall,
    PreUpgrade,
    PostUpgrade,
}

impl Phase {
    /// The event's name in `helm.sh/hook`.
    pub fn event(self) -> &'static str {
        match self {
            Phase::PreInstall => "pre-install",
            Phase::PostInstall => "post-install",
            Phase::PreUpgrade => "pre-upgrade",
            Phase::PostUpgrade => "post-upgrade",
        }
    }

    /// The phases before and after the main objects for an install or an upgrade.
    pub fn around(install: bool) -> (Phase, Phase) {
        if install {
            (Phase::PreInstall, Phase::PostInstall)
        } else {
            (Phase::PreUpgrade, Phase::PostUpgrade)
        }
    }
}

/// One hook object.
#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub object: Value,
    pub events: Vec<String>,
    pub weight: i64,
    /// `before-hook-creation` (Helm's default when none is given).
    pub before_creation: bool,
    /// `hook-succeeded`: delete it once it succeeded.
    pub on_success: bool,
    /// `hook-failed`: delete it when it failed.
    pub on_failure: bool,
}

impl Hook {
    pub fn runs_at(&self, phase: Phase) -> bool {
        self.events.iter().any(|e| e == phase.event())
    }

    /// `Job web-migrate (hook, weight -5)`.
    pub fn describe(&self) -> String {
        format!("{} (hook, weight {})", describe(&self.object), self.weight)
    }
}

/// The main objects and the hooks of a rendered release.
#[derive(Debug, Default, PartialEq)]
pub struct Split {
    pub main: Vec<Value>,
    pub hooks: Vec<Hook>,
    /// `test` hooks, which an install or upgrade never creates (as Helm).
    pub tests: usize,
}

/// Separates hooks from the main objects.
pub fn split(objects: Vec<Value>) -> Split {
    let mut out = Split::default();
    for object in objects {
        let events: Vec<String> = annotation(&object, "helm.sh/hook")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        if events.is_empty() {
            out.main.push(object);
            continue;
        }
        if events.iter().any(|e| e == "test" || e == "test-success") {
            out.tests += 1;
            continue;
        }
        // As Helm: a weight that is not an integer counts as 0, an unknown policy is ignored.
        let weight = annotation(&object, "helm.sh/hook-weight")
            .trim()
            .parse()
            .unwrap_or(0);
        let policies: Vec<&str> = annotation(&object, "helm.sh/hook-delete-policy")
            .split(',')
            .map(str::trim)
            .filter(|p| {
                matches!(
                    *p,
                    "before-hook-creation" | "hook-succeeded" | "hook-failed"
                )
            })
            .collect();
        out.hooks.push(Hook {
            before_creation: policies.is_empty() || policies.contains(&"before-hook-creation"),
            on_success: policies.contains(&"hook-succeeded"),
            on_failure: policies.contains(&"hook-failed"),
            events,
            weight,
            object,
        });
    }
    out
}

/// The hooks that run at `phase`, in Helm's order: by weight, then kind (install order), then
/// name.
pub fn at(hooks: &[Hook], phase: Phase) -> Vec<&Hook> {
    let mut due: Vec<&Hook> = hooks.iter().filter(|h| h.runs_at(phase)).collect();
    due.sort_by(|a, b| {
        let kind = |h: &Hook| install_rank(h.object["kind"].as_str().unwrap_or(""));
        let name = |h: &Hook| {
            h.object["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        a.weight
            .cmp(&b.weight)
            .then_with(|| kind(a).cmp(&kind(b)))
            .then_with(|| name(a).cmp(&name(b)))
    });
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(kind: &str, name: &str, events: &str, weight: &str, delete: &str) -> Value {
        let mut annotations = json!({"helm.sh/hook": events});
        if !weight.is_empty() {
            annotations["helm.sh/hook-weight"] = json!(weight);
        }
        if !delete.is_empty() {
            annotations["helm.sh/hook-delete-policy"] = json!(delete);
        }
        json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "annotations": annotations}})
    }

    #[test]
    fn tests_are_dropped_and_hooks_ordered_by_weight_kind_and_name() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
            hook("Pod", "web-test", "test", "", ""),
            hook("Job", "migrate", "pre-install,pre-upgrade", "5", ""),
            hook("ConfigMap", "b", "pre-upgrade", "-1", "hook-succeeded"),
            hook("ConfigMap", "a", "pre-upgrade", "-1", ""),
            hook(
                "Job",
                "notify",
                "post-upgrade",
                "",
                "hook-failed,before-hook-creation",
            ),
        ];
        let split = split(objects);
        assert_eq!(split.main.len(), 1);
        assert_eq!(split.tests, 1);
        let pre: Vec<String> = at(&split.hooks, Phase::PreUpgrade)
            .iter()
            .map(|h| h.describe())
            .collect();
        assert_eq!(
            pre,
            [
                "ConfigMap a (hook, weight -1)",
                "ConfigMap b (hook, weight -1)",
                "Job migrate (hook, weight 5)"
            ]
        );
        assert_eq!(at(&split.hooks, Phase::PreInstall).len(), 1);
        let b = at(&split.hooks, Phase::PreUpgrade)[1];
        assert!(b.on_success && !b.before_creation && !b.on_failure);
        let notify = at(&split.hooks, Phase::PostUpgrade)[0];
        assert!(notify.on_failure && notify.before_creation);
        let a = at(&split.hooks, Phase::PreUpgrade)[0];
        assert!(a.before_creation, "the default policy");
    }

    #[test]
    fn bad_weights_count_as_zero_and_unknown_policies_are_ignored_as_helm_does() {
        let split = split(vec![hook("Job", "j", "pre-install", "soon", "always")]);
        assert_eq!(split.hooks[0].weight, 0);
        assert!(
            split.hooks[0].before_creation,
            "no known policy: the default"
        );
    }
}
