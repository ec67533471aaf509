//! Device selection and the device report printed by `mavuno doctor`.
//!
//! The report says which libtorch was linked at build time and what it sees at run time, which is
//! the first thing to check when training silently runs on CPU (e.g. `libtorch_cuda.so` dropped by
//! `--as-needed`; see build_support.rs).

use serde::Serialize;
use tch::{Cuda, Device};

use crate::ModelError;

/// What libtorch was linked and which accelerators it sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceReport {
    /// `__version__` of the PyTorch wheel whose libtorch was linked (build time), if known.
    pub torch_version: Option<String>,
    /// Directory of the linked `libtorch.so` (build time; also the binary's rpath), if known.
    pub libtorch_path: Option<String>,
    /// Whether libtorch can use CUDA now.
    pub cuda_available: bool,
    /// Number of CUDA devices libtorch sees.
    pub cuda_device_count: i64,
    /// Whether cuDNN is usable.
    pub cudnn_available: bool,
    /// Threads libtorch uses for intra-op parallelism on CPU.
    pub cpu_threads: i32,
}

/// Collects the [`DeviceReport`]. Cheap; safe to call on machines without a GPU.
pub fn device_report() -> DeviceReport {
    DeviceReport {
        torch_version: option_env!("MAVUNO_TORCH_VERSION").map(str::to_string),
        libtorch_path: option_env!("MAVUNO_LIBTORCH_DIR").map(str::to_string),
        cuda_available: Cuda::is_available(),
        cuda_device_count: Cuda::device_count(),
        cudnn_available: Cuda::cudnn_is_available(),
        cpu_threads: tch::get_num_threads(),
    }
}

/// Turns a config/CLI device string into a [`Device`].
///
/// `auto` picks CUDA device 0 when available, else CPU. `cuda` / `cuda:N` fail instead of falling
/// back, so a GPU run that cannot see its GPU stops early rather than training for hours on CPU.
pub fn pick_device(prefer: &str) -> Result<Device, ModelError> {
    let available = Cuda::device_count();
    let cuda = |index: usize| {
        if Cuda::is_available() && (index as i64) < available {
            Ok(Device::Cuda(index))
        } else {
            Err(ModelError::CudaUnavailable {
                requested: prefer.to_string(),
                available,
            })
        }
    };
    match prefer.trim() {
        "auto" => Ok(if Cuda::is_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(index)) => cuda(index),
            _ => Err(ModelError::UnknownDevice(prefer.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_auto_always_resolve() {
        assert_eq!(pick_device("cpu").ok(), Some(Device::Cpu));
        assert!(pick_device("auto").is_ok());
    }

    #[test]
    fn bad_strings_are_rejected() {
        assert!(matches!(
            pick_device("gpu"),
            Err(ModelError::UnknownDevice(_))
        ));
        assert!(matches!(
            pick_device("cuda:x"),
            Err(ModelError::UnknownDevice(_))
        ));
    }

    #[test]
    fn cuda_request_matches_availability() {
        assert_eq!(pick_device("cuda").is_ok(), Cuda::is_available());
    }

    #[test]
    fn report_knows_the_linked_libtorch() {
        let report = device_report();
        // build.rs found the wheel (otherwise this test binary would not have linked).
        assert!(report.libtorch_path.is_some());
        assert!(report.torch_version.is_some());
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    }
}
