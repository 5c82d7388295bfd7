//! Test guest `wait-current`: one `wait-current` call on the targets it is given
//! (`apiVersion:Kind:name`, in the run's namespace), with the timeout it is given.

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Context, Error, ObjectRef, export_policy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    targets: Vec<String>,
    timeout: Duration,
}

fn target(text: &str) -> Result<ObjectRef, Error> {
    let mut parts = text.rsplitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), Some(kind), Some(api_version)) => Ok(ObjectRef::new(api_version, kind, name)),
        _ => Err(Error::invalid(format!(
            "a target is apiVersion:Kind:name, not {text:?}"
        ))),
    }
}

fn run(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let targets = p
        .targets
        .iter()
        .map(|t| target(t))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.progress(1, 1, &format!("waiting for {} object(s)", targets.len()));
    ctx.wait_current(&targets, p.timeout)?;
    Ok(format!("{} object(s) Current", targets.len()))
}

export_policy! {
    name: "wait-current",
    version: "0.1.0",
    description: "Waits until the objects it is given are Current.",
    params: [
        { name: "targets", type: "string-list", required: true, description: "apiVersion:Kind:name each." },
        { name: "timeout", type: "duration", default: "60s", description: "How long to wait." },
    ],
    capabilities: ["cluster/wait@{namespace}"],
    run: run,
}
