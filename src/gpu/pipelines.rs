//! Compute pipelines, compiled once per (kernel, output dtype) and shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::shaders::{source, Kernel};
use crate::dtype::DType;

#[derive(Default)]
pub struct PipelineCache {
    pipelines: Mutex<HashMap<(Kernel, DType), Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    pub fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        out: DType,
    ) -> Arc<wgpu::ComputePipeline> {
        // Statistics kernels write no elements: one pipeline serves every output dtype.
        let out = if kernel.is_elementwise() {
            out
        } else {
            DType::F32
        };
        let mut pipelines = self.pipelines.lock().expect("pipeline cache");
        pipelines
            .entry((kernel, out))
            .or_insert_with(|| {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.file()),
                    source: wgpu::ShaderSource::Wgsl(source(kernel, out).into()),
                });
                Arc::new(
                    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(kernel.entry()),
                        layout: None,
                        module: &module,
                        entry_point: Some(kernel.entry()),
                        compilation_options: Default::default(),
                        cache: None,
                    }),
                )
            })
            .clone()
    }
}
