//! A namespace of its own for each test: unique name, ready for pods, deleted afterwards.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::{E2E_LABEL, cleanup, random_suffix, wait};

/// How long the service account controller may take to create `default` in a new namespace.
const SERVICE_ACCOUNT_TIMEOUT: Duration = Duration::from_secs(30);

/// A namespace named `<prefix>-<random>`, deleted by [`TestNamespace::cleanup`] (or, best effort,
/// when dropped without it: a test that panicked).
pub struct TestNamespace {
    client: Client,
    name: String,
    cleaned: bool,
}

impl TestNamespace {
    /// Creates the namespace and waits until pods can be created in it.
    ///
    /// The ServiceAccount admission plugin rejects every pod until the namespace's `default`
    /// ServiceAccount exists, and the controller creates that one asynchronously.
    pub async fn create(client: &Client, prefix: &str) -> Result<Self> {
        let name = unique_name(prefix);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(E2E_LABEL.to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        let me = TestNamespace {
            client: client.clone(),
            name,
            cleaned: false,
        };
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &me.name);
        wait::until(
            &accounts,
            "default",
            SERVICE_ACCOUNT_TIMEOUT,
            &format!("ServiceAccount default in namespace {}", me.name),
            |sa| match sa {
                Some(_) => Ok(()),
                None => Err("not created yet".into()),
            },
        )
        .await?;
        Ok(me)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace without waiting for the namespace controller to finish.
    ///
    /// Its pods are force-deleted as well: once the namespace is terminating no controller can
    /// recreate them, and without a kubelet behind them graceful deletion would never complete.
    pub async fn cleanup(mut self) -> Result<()> {
        self.cleaned = true;
        delete(self.client.clone(), self.name.clone()).await
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.cleaned || cleanup::keep_leftovers() {
            return;
        }
        let name = self.name.clone();
        cleanup::blocking(&format!("namespace {name}"), move |client| {
            delete(client, name)
        });
    }
}

async fn delete(client: Client, name: String) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("deleting namespace {name}")),
    }
    let pods: Api<Pod> = Api::namespaced(client, &name);
    let force = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match pods.delete_collection(&force, &ListParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("deleting the pods of namespace {name}")),
    }
}

/// `<prefix>-<6 random characters>`, cut to fit a namespace name (63 characters).
pub fn unique_name(prefix: &str) -> String {
    let prefix: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(49)
        .collect();
    let prefix = prefix.trim_matches('-');
    format!("{prefix}-{}", random_suffix(6))
}

/// Checks that a name is usable as a namespace, node-name prefix and label value at once.
pub fn check_group_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 56
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "{name:?} is not a usable test group: lowercase letters, digits and '-', at most 56 characters"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_group_name, unique_name};

    #[test]
    fn unique_names_are_valid_groups() {
        let name = unique_name("Drain_PDB blocks");
        assert!(name.starts_with("drain-pdb-blocks-"), "{name}");
        check_group_name(&name).expect("a valid group");
        assert_ne!(unique_name("x"), unique_name("x"));
        let long = unique_name(&"a".repeat(100));
        check_group_name(&long).expect("long prefixes are cut");
    }
}
