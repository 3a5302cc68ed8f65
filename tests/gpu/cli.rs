//! `mixmerge merge --device gpu` end to end: the same folder as the CPU path, within 1 bf16 ulp.

use crate::common;

use common::*;
use mixmerge::dtype::DType;

fn gpu_available() -> bool {
    let adapter = mixmerge::gpu::request_native(false).ok().flatten();
    mixmerge::testing::require_gpu(adapter, "no GPU adapter was found").is_some()
}

fn bf16_rank(bits: u16) -> i32 {
    if bits & 0x8000 != 0 {
        0x8000 - (bits & 0x7fff) as i32
    } else {
        0x8000 + bits as i32
    }
}

#[test]
fn cli_device_gpu_matches_cpu() {
    if !gpu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    llama_like(&dir.path().join("base"), 3, DType::BF16, 0.0);
    llama_like(&dir.path().join("a"), 3, DType::BF16, 1.0);
    llama_like(&dir.path().join("b"), 3, DType::BF16, -2.0);
    let methods = [
        "linear",
        "task_arithmetic",
        "ties",
        "dare_ties",
        "slerp",
        "della",
        "della_linear",
        "sce",
        "ram",
        "arcee_fusion",
    ];
    let geometric = [
        "nuslerp",
        "nuslerp_row_wise",
        "multislerp",
        "karcher",
        "model_stock",
        "model_stock_filter_wise",
    ];
    for method in methods.into_iter().chain(geometric) {
        let pair = "models:\n  - model: a\n    parameters: {weight: 0.6}\n  - model: b\n    parameters: {weight: 0.4}\n";
        let plain = "models:\n  - model: a\n  - model: b\n";
        let recipe = match method {
            "nuslerp" | "multislerp" => {
                format!("merge_method: {method}\nbase_model: base\n{pair}")
            }
            "nuslerp_row_wise" => format!("merge_method: nuslerp\nbase_model: base\n{pair}parameters: {{nuslerp_row_wise: true}}\n"),
            "model_stock" => format!("merge_method: model_stock\nbase_model: base\n{plain}"),
            "model_stock_filter_wise" => format!("merge_method: model_stock\nbase_model: base\n{plain}parameters: {{filter_wise: true}}\n"),
            "karcher" => format!("merge_method: karcher\n{plain}  - model: base\n"),
            "linear" => "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 0.3}\n  - model: b\n    parameters: {weight: 0.7}\n".to_string(),
            "slerp" => "merge_method: slerp\nbase_model: base\nmodels:\n  - model: a\nparameters: {t: 0.4}\n".to_string(),
            "sce" => "merge_method: sce\nbase_model: base\nmodels:\n  - model: a\n  - model: b\nparameters: {select_topk: 0.5}\n".to_string(),
            "ram" => "merge_method: ram\nbase_model: base\nmodels:\n  - model: a\n  - model: b\nparameters: {epsilon: 0.01}\n".to_string(),
            "arcee_fusion" => "merge_method: arcee_fusion\nbase_model: base\nmodels:\n  - model: a\n".to_string(),
            m => format!("merge_method: {m}\nbase_model: base\nmodels:\n  - model: a\n    parameters: {{weight: 0.6, density: 0.5}}\n  - model: b\n    parameters: {{weight: 0.4, density: 0.7}}\n"),
        };
        std::fs::write(dir.path().join("recipe.yml"), recipe).unwrap();
        for device in ["cpu", "gpu"] {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_mixmerge"))
                .args([
                    "merge",
                    "recipe.yml",
                    device,
                    "--quiet",
                    "--overwrite",
                    "--seed",
                    "3",
                    "--device",
                    device,
                ])
                .current_dir(dir.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{method} on {device}: {stderr}");
            let has_kernel = method != "slerp";
            let fell_back = stderr.contains("no kernel") || stderr.contains("gpu failed");
            assert!(
                device == "cpu" || !has_kernel || !fell_back,
                "{method} fell back to the CPU: {stderr}"
            );
            // Every method here has a kernel: none may fall back to the CPU.
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("no kernel"), "{method}: {stderr}");
        }
        let cpu = read_all(&dir.path().join("cpu"));
        let gpu = read_all(&dir.path().join("gpu"));
        assert_eq!(
            cpu.keys().collect::<Vec<_>>(),
            gpu.keys().collect::<Vec<_>>()
        );
        for (name, (_, shape, bytes)) in &cpu {
            assert_eq!(&gpu[name].1, shape);
            for (a, b) in bytes.chunks_exact(2).zip(gpu[name].2.chunks_exact(2)) {
                let (a, b) = (
                    u16::from_le_bytes([a[0], a[1]]),
                    u16::from_le_bytes([b[0], b[1]]),
                );
                assert!(
                    (bf16_rank(a) - bf16_rank(b)).abs() <= 1,
                    "{method}: {name}: {a:#x} vs {b:#x}"
                );
            }
        }
    }
}
