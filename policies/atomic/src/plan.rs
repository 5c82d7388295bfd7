//! The dry run's plan: each object to create, change (the live object against the server's
//! dry-run apply result, as a unified diff of YAML) or delete, and the summary line.

use serde_json::Value;
use similar::TextDiff;

/// At most this many diff lines per object; then a line saying how many were left out.
pub const DIFF_LINES: usize = 60;

/// What applying one object would do.
#[derive(Debug, PartialEq)]
pub enum Change {
    Create,
    /// Live and different: the diff's lines, capped.
    Update(Vec<String>),
    Unchanged,
}

/// Compares the live object (none: absent) with what the server's dry-run apply returned.
pub fn compare(live: Option<&Value>, applied: &Value) -> Change {
    let Some(live) = live else {
        return Change::Create;
    };
    let (before, after) = (yaml(&normalize(live)), yaml(&normalize(applied)));
    if before == after {
        return Change::Unchanged;
    }
    let diff = TextDiff::from_lines(&before, &after);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("live", "applied")
        .to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.len() > DIFF_LINES {
        let left_out = lines.len() - DIFF_LINES;
        lines.truncate(DIFF_LINES);
        lines.push(format!("... {left_out} more diff lines"));
    }
    Change::Update(lines)
}

/// The object without what the server keeps for itself: managedFields, resourceVersion,
/// generation, uid, creationTimestamp, status.
pub fn normalize(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                metadata.remove(field);
            }
        }
    }
    object
}

fn yaml(object: &Value) -> String {
    serde_saphyr::to_string(object)
        .unwrap_or_else(|_| serde_json::to_string_pretty(object).unwrap_or_default() + "\n")
}

/// The counts of the plan.
#[derive(Debug, Default, PartialEq)]
pub struct Counts {
    pub create: usize,
    pub change: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Counts {
    pub fn add(&mut self, change: &Change) {
        match change {
            Change::Create => self.create += 1,
            Change::Update(_) => self.change += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }

    /// `plan: 3 to create, 1 to change, 1 to delete`.
    pub fn summary(&self) -> String {
        format!(
            "plan: {} to create, {} to change, {} to delete",
            self.create, self.change, self.delete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
        })
    }

    #[test]
    fn an_absent_object_is_created_and_server_fields_are_no_change() {
        assert_eq!(compare(None, &deployment("nginx:1")), Change::Create);
        let mut live = deployment("nginx:1");
        live["metadata"]["resourceVersion"] = json!("41");
        live["metadata"]["uid"] = json!("u-1");
        live["metadata"]["managedFields"] = json!([{"manager": "cutover"}]);
        live["status"] = json!({"replicas": 2});
        let mut applied = deployment("nginx:1");
        applied["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(compare(Some(&live), &applied), Change::Unchanged);
    }

    #[test]
    fn a_changed_field_is_a_unified_diff() {
        let Change::Update(lines) = compare(Some(&deployment("nginx:1")), &deployment("nginx:2"))
        else {
            panic!("expected a change")
        };
        assert_eq!(lines[0], "--- live");
        assert_eq!(lines[1], "+++ applied");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('-') && l.contains("image: nginx:1")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('+') && l.contains("image: nginx:2")),
            "{lines:?}"
        );
    }

    #[test]
    fn long_diffs_are_capped() {
        let many = |v: usize| {
            let data: serde_json::Map<String, Value> = (0..200)
                .map(|i| (format!("k{i:03}"), json!(format!("{v}-{i}"))))
                .collect();
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
        };
        let Change::Update(lines) = compare(Some(&many(1)), &many(2)) else {
            panic!()
        };
        assert_eq!(lines.len(), DIFF_LINES + 1);
        assert!(
            lines[DIFF_LINES].ends_with("more diff lines"),
            "{}",
            lines[DIFF_LINES]
        );
    }

    #[test]
    fn the_summary_counts_each_change() {
        let mut counts = Counts::default();
        for c in [
            Change::Create,
            Change::Create,
            Change::Create,
            Change::Update(vec![]),
            Change::Unchanged,
        ] {
            counts.add(&c);
        }
        counts.delete = 1;
        assert_eq!(
            counts.summary(),
            "plan: 3 to create, 1 to change, 1 to delete"
        );
    }
}
