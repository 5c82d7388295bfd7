//! Releases: what a run acts for — its name, its revisions stored as Secrets in the cluster,
//! the Lease that locks it, and the undo journal of each revision.

pub mod codec;
pub mod journal;
pub mod lifecycle;
pub mod lock;
pub mod permit;
pub mod record;
pub mod recorder;
pub mod store;
pub mod undo;

/// The longest release name, as Helm's: the name goes into object names and labels with a
/// prefix and a revision suffix, which must stay within Kubernetes' limits.
pub const MAX_NAME: usize = cutover_grammar::names::RELEASE_NAME_MAX_LEN;

/// A release name by Helm's rule (a lowercase DNS-1123 subdomain of at most [`MAX_NAME`]
/// characters), checked before it reaches a file path or an object name.
pub fn check_name(name: &str) -> Result<(), String> {
    cutover_grammar::names::check_release_name(name).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_release_names() {
        for good in ["web", "drain", "web-1.prod", "a"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "Web", "-web", "web-", "a..b", "../etc", "a/b", "a b", "web?x",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(53)).is_ok());
        assert!(check_name(&"a".repeat(54)).is_err());
    }
}
