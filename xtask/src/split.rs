//! `cargo xtask split`: cuts the linked app wasm at its `#[lazy]` split points into the
//! shell's main module and the chunks it loads on demand (`wasm_split_cli_support`, the
//! splitter cargo-leptos uses). `scripts/split.mjs` runs it in Trunk's post-build hook.

use std::path::Path;

use crate::TaskError;

/// `split <linked.wasm> <out dir> <glue module>`: writes `main.wasm` (for wasm-bindgen), the
/// chunks and `__wasm_split.js` (their loader, which imports `initSync` from the glue
/// module) into the out dir.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let [input, out, glue] = args else {
        return Err(TaskError::Setup(
            "usage: cargo xtask split <linked.wasm> <out dir> <glue module>".into(),
        ));
    };
    let wasm = std::fs::read(input)?;
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let main = out.join("main.wasm");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = out;
    options.main_out_path = &main;
    options.main_module = glue;
    options.link_name = "./__wasm_split.js";
    let split = wasm_split_cli_support::transform(options)
        .map_err(|err| TaskError::Setup(format!("wasm split of {input}: {err:#}")))?;
    println!(
        "split: {} chunks for {} split points",
        split.split_modules.len(),
        split.prefetch_map.len()
    );
    Ok(())
}
