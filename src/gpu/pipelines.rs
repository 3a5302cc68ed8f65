//! Compute pipelines, compiled once per variant (kernel, output dtype, slot dtypes and count)
//! and shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::params::Params;
use super::shaders::{Kernel, Variant};
use crate::dtype::DType;

#[derive(Default)]
pub struct PipelineCache {
    pipelines: Mutex<HashMap<Variant, Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    /// The pipeline of `kernel` writing `out` elements, specialised for `params`' slots.
    pub fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        out: DType,
        params: &Params,
    ) -> Arc<wgpu::ComputePipeline> {
        let variant = params.variant(kernel, out);
        let mut pipelines = self.pipelines.lock().expect("pipeline cache");
        if let Some(pipeline) = pipelines.get(&variant) {
            return pipeline.clone();
        }
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.file()),
            source: wgpu::ShaderSource::Wgsl(variant.source().into()),
        });
        let pipeline = Arc::new(
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.entry()),
                layout: None,
                module: &module,
                entry_point: Some(kernel.entry()),
                compilation_options: Default::default(),
                cache: None,
            }),
        );
        pipelines.insert(variant, pipeline.clone());
        pipeline
    }
}
