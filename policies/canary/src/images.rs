//! The new version as `kubectl set image` takes it: `container=image` pairs, checked (shared by the canary and blue-green policies).

use cutover_guest_sdk::Error;

/// One `container=image` pair, as `kubectl set image` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageChange {
    pub container: String,
    pub image: String,
}

/// Reads `web=nginx:1.25` pairs; refuses an empty list, a pair without `=`, a repeated
/// container and an image reference with spaces or control characters.
pub fn parse_images(pairs: &[String]) -> Result<Vec<ImageChange>, Error> {
    if pairs.is_empty() {
        return Err(Error::invalid(
            "image: give at least one container=image pair (--set image=web=nginx:1.25)",
        ));
    }
    let mut changes: Vec<ImageChange> = Vec::new();
    for pair in pairs {
        let Some((container, image)) = pair.split_once('=') else {
            return Err(Error::invalid(format!(
                "image: {pair:?} is not container=image"
            )));
        };
        let valid_name = !container.is_empty()
            && container.len() <= 63
            && container
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_name {
            return Err(Error::invalid(format!(
                "image: {container:?} is not a container name"
            )));
        }
        if image.is_empty()
            || image.len() > 512
            || image.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid(format!(
                "image: {image:?} is not an image reference"
            )));
        }
        if changes.iter().any(|c| c.container == container) {
            return Err(Error::invalid(format!(
                "image: container {container:?} is named twice"
            )));
        }
        changes.push(ImageChange {
            container: container.to_string(),
            image: image.to_string(),
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pairs() {
        let pairs = |p: &[&str]| parse_images(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            pairs(&["web=nginx:1.25"]).unwrap(),
            [ImageChange {
                container: "web".into(),
                image: "nginx:1.25".into()
            }]
        );
        for (bad, message) in [
            (
                &[][..],
                "image: give at least one container=image pair (--set image=web=nginx:1.25)",
            ),
            (
                &["nginx:1.25"][..],
                "image: \"nginx:1.25\" is not container=image",
            ),
            (&["Web=x"][..], "image: \"Web\" is not a container name"),
            (&["web=a b"][..], "image: \"a b\" is not an image reference"),
            (
                &["web=a", "web=b"][..],
                "image: container \"web\" is named twice",
            ),
        ] {
            assert_eq!(pairs(bad).unwrap_err().to_string(), message);
        }
    }
}
