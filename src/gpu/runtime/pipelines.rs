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
        let layout = kernel.is_elementwise().then(|| elementwise_layout(device));
        let pipeline = Arc::new(
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.entry()),
                layout: layout.as_ref(),
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

/// The bindings of an element-wise kernel, whether or not it reads each: params, the input
/// buffer in 4-byte words, the output, and the input buffer again in 16-byte words (see
/// shaders/common/elementwise.wgsl). Other kernels take the layout their shader implies.
fn elementwise_layout(device: &wgpu::Device) -> wgpu::PipelineLayout {
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let bindings = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("element-wise kernel"),
        entries: &[
            storage(0, true),
            storage(1, true),
            storage(2, false),
            storage(3, true),
        ],
    });
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("element-wise kernel"),
        bind_group_layouts: &[Some(&bindings)],
        immediate_size: 0,
    })
}
