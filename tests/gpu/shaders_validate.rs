//! Every WGSL file parses and validates with naga (no device needed), as composed for each
//! kernel, output dtype and slot layout (count, mixed dtypes and sparsifiers), without
//! `shader-f16` or other optional capabilities, within the limits a browser's WebGPU guarantees.

use mixmerge::dtype::DType;
use mixmerge::gpu::shaders::{self, dtype_code, Kernel, Variant};
use wgpu::naga;

/// Slot layouts of the variants validated: (slot dtypes, inputs, first input).
fn layouts() -> Vec<(Vec<DType>, u32, u32)> {
    use DType::*;
    let many: Vec<DType> = (0..17).map(|s| [BF16, F16, F32][s % 3]).collect();
    vec![
        (vec![F32], 1, 0),
        (vec![BF16, F16, F32], 2, 1),
        (vec![F16, BF16], 2, 0),
        (many, 16, 1),
    ]
}

fn variant(
    kernel: Kernel,
    out: DType,
    (dtypes, inputs, first): &(Vec<DType>, u32, u32),
) -> Variant {
    let codes: Vec<u32> = dtypes.iter().map(|&d| dtype_code(d)).collect();
    // Every sparsifier kind (dense, Bernoulli, magnitude window, DELLA) among the slots.
    let kinds = (0..codes.len() as u32).map(|s| s % 4).collect();
    Variant::new(kernel, out, codes, *inputs, *first).with_sparsify(kinds)
}

/// Constants of a variant, for preludes validated on their own.
fn constants() -> String {
    variant(Kernel::Gta, DType::BF16, &layouts()[1]).constants()
}

fn validate(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    module
}

#[test]
fn every_kernel_validates_for_every_output_dtype_and_slot_layout() {
    for kernel in Kernel::ALL {
        for (out, layout) in [DType::F32, DType::F16, DType::BF16]
            .into_iter()
            .flat_map(|out| layouts().into_iter().map(move |l| (out, l)))
        {
            let module = validate(kernel.file(), &variant(kernel, out, &layout).source());
            let entry = module
                .entry_points
                .iter()
                .find(|e| e.name == kernel.entry())
                .unwrap_or_else(|| {
                    panic!("{}: no entry point `{}`", kernel.file(), kernel.entry())
                });
            let invocations: u32 = entry.workgroup_size.iter().product();
            assert!(
                invocations <= 256,
                "{}: {invocations} invocations",
                kernel.file()
            );
        }
    }
}

#[test]
fn preludes_validate_on_their_own() {
    validate("common/dtype.wgsl", shaders::DTYPE);
    validate("common/rng.wgsl", shaders::RNG);
    let constants = constants();
    validate(
        "common/chunk.wgsl",
        &[&constants, shaders::DTYPE, shaders::CHUNK].join("\n"),
    );
    validate(
        "common/sparsify.wgsl",
        &[
            &constants,
            shaders::DTYPE,
            shaders::RNG,
            shaders::CHUNK,
            shaders::DIRECT,
            shaders::SPARSIFY,
        ]
        .join("\n"),
    );
    validate(
        "common/reduce.wgsl + vectors.wgsl",
        &[
            &constants,
            shaders::DTYPE,
            shaders::CHUNK,
            shaders::DIRECT,
            shaders::REDUCE,
            shaders::VECTORS,
        ]
        .join("\n"),
    );
    validate("common/divide.wgsl", shaders::DIVIDE);
    validate(
        "common/variance.wgsl",
        &[
            &constants,
            shaders::DTYPE,
            shaders::RNG,
            shaders::CHUNK,
            shaders::DIRECT,
            shaders::SPARSIFY,
            shaders::DIVIDE,
            shaders::VARIANCE,
        ]
        .join("\n"),
    );
}

#[test]
fn workgroup_memory_fits_the_webgpu_minimum() {
    for kernel in Kernel::ALL {
        let largest = layouts().pop().expect("a layout");
        let module = validate(
            kernel.file(),
            &variant(kernel, DType::F32, &largest).source(),
        );
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let bytes: u32 = module
            .global_variables
            .iter()
            .filter(|(_, v)| v.space == naga::AddressSpace::WorkGroup)
            .map(|(_, v)| layouter[v.ty].size)
            .sum();
        assert!(
            bytes <= 16384,
            "{}: {bytes} bytes of workgroup memory",
            kernel.file()
        );
    }
}

#[test]
fn every_file_under_shaders_is_listed_and_validated() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut on_disk = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("shaders/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wgsl") {
                let relative = path.strip_prefix(&root).expect("under shaders/");
                on_disk.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = shaders::FILES.iter().map(|(p, _)| p.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    for (path, text) in shaders::FILES {
        let on_disk = std::fs::read_to_string(root.join(path)).expect("read");
        assert_eq!(&on_disk, text, "{path}");
        if *path == "copy.wgsl" {
            // The benchmark's copy kernels: no variants, validated as they are.
            validate(path, text);
            continue;
        }
        let covered = path.starts_with("common/") || Kernel::ALL.iter().any(|k| k.file() == *path);
        assert!(covered, "{path} is no kernel's file");
    }
}
