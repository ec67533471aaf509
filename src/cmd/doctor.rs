//! `mavuno doctor`: versions, libtorch location, CUDA or not, stage count, and where each
//! shipped default model was found (`mavuno_stages::shipped`).

use anyhow::Result;
use mavuno_stages::shipped::Found;

/// Prints what this build links and sees.
pub fn run(json: bool) -> Result<i32> {
    let dev = mavuno_models::device::device_report();
    let stages = crate::registry::registry().entries().len();
    let models = mavuno_stages::shipped::shipped_models();
    let v = serde_json::json!({
        "mavuno": env!("CARGO_PKG_VERSION"),
        "stage_types": stages,
        "torch": dev,
        "models": models
            .iter()
            .map(|(name, f)| serde_json::json!({"model": name, "found": f}))
            .collect::<Vec<_>>(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("mavuno {}", env!("CARGO_PKG_VERSION"));
        println!("stage types: {stages}");
        println!(
            "libtorch: {} ({})",
            dev.torch_version.as_deref().unwrap_or("unknown"),
            dev.libtorch_path.as_deref().unwrap_or("unknown path")
        );
        println!(
            "CUDA: {}",
            if dev.cuda_available {
                format!(
                    "available, {} device(s), cuDNN {}",
                    dev.cuda_device_count, dev.cudnn_available
                )
            } else {
                "not available (CPU only)".into()
            }
        );
        println!("CPU threads: {}", dev.cpu_threads);
        println!("default models:");
        for (name, f) in &models {
            let (how, path) = match f {
                Found::WorkingDirectory(p) => ("current directory", p),
                Found::BesideBinary(p) => ("beside the binary", p),
                Found::AsWritten(p) => ("NOT FOUND", p),
            };
            println!("  {name}: {how} ({})", path.display());
        }
    }
    Ok(0)
}
