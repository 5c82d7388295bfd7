//! Test guest `echo-inputs`: takes positional inputs and a chart's values, and logs what it
//! got — each file as `input <n> <path> <bytes> <first line>`, then `values <json>` — so the
//! tests can check what the host handed over.

use cutover_guest_sdk::{Context, Error, export_policy};

fn run(ctx: &Context) -> Result<String, Error> {
    let files = ctx.inputs()?;
    for file in &files {
        let first = file.text().unwrap_or("").lines().next().unwrap_or("");
        ctx.info(&format!(
            "input {} {} {} {first}",
            file.input,
            file.path,
            file.contents.len()
        ));
    }
    ctx.info(&format!("values {}", ctx.params_json()));
    Ok(format!("{} files", files.len()))
}

export_policy! {
    name: "echo-inputs",
    version: env!("CARGO_PKG_VERSION"),
    description: "Says which inputs and values it was given.",
    inputs: "any files, folders or - for standard input",
    chart_values: true,
    params: [],
    capabilities: [],
    run: run,
}
