// Small fakes of real model families for tests: the tensor names, layer counts and dtypes of
// the real checkpoint, every dimension as small as a merge allows, deterministic values.
import fs from 'node:fs';
import path from 'node:path';

export const FAMILIES = {
  'llama-2-13b': { modelType: 'llama', architecture: 'LlamaForCausalLM', dtype: 'F16', layers: 40, kvHeads: 2 },
  'mistral-7b': { modelType: 'mistral', architecture: 'MistralForCausalLM', dtype: 'BF16', layers: 32, kvHeads: 1 },
};
const HIDDEN = 16, INTERMEDIATE = 40, VOCAB = 64, HEADS = 2, HEAD_DIM = HIDDEN / HEADS;

/// f32 → IEEE half bits (round to nearest even; the values here are small and normal).
function f16Bits(value) {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  const round = mantissa & 0x1fff;
  mantissa >>>= 13;
  let half = sign | (exponent << 10) | mantissa;
  if (round > 0x1000 || (round === 0x1000 && (mantissa & 1))) half += 1;
  return half;
}

function bf16Bits(value) {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

function tensors(family) {
  const list = [['model.embed_tokens.weight', [VOCAB, HIDDEN]]];
  for (let i = 0; i < family.layers; i++) {
    const p = `model.layers.${i}`;
    list.push([`${p}.input_layernorm.weight`, [HIDDEN]], [`${p}.post_attention_layernorm.weight`, [HIDDEN]],
      [`${p}.self_attn.q_proj.weight`, [HIDDEN, HIDDEN]],
      [`${p}.self_attn.k_proj.weight`, [family.kvHeads * HEAD_DIM, HIDDEN]],
      [`${p}.self_attn.v_proj.weight`, [family.kvHeads * HEAD_DIM, HIDDEN]],
      [`${p}.self_attn.o_proj.weight`, [HIDDEN, HIDDEN]],
      [`${p}.mlp.gate_proj.weight`, [INTERMEDIATE, HIDDEN]], [`${p}.mlp.up_proj.weight`, [INTERMEDIATE, HIDDEN]],
      [`${p}.mlp.down_proj.weight`, [HIDDEN, INTERMEDIATE]]);
  }
  list.push(['model.norm.weight', [HIDDEN]], ['lm_head.weight', [VOCAB, HIDDEN]]);
  return list;
}

/// Writes `dir/model.safetensors` and `dir/config.json` of `family`; `variant` 0 is the base,
/// others add a task vector of their own.
export function writeFake(dir, familyName, variant) {
  const family = FAMILIES[familyName];
  const encode = family.dtype === 'F16' ? f16Bits : bf16Bits;
  const header = {};
  const parts = [];
  let offset = 0;
  let counter = 1;
  for (const [name, shape] of tensors(family)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = Buffer.alloc(count * 2);
    for (let i = 0; i < count; i++) {
      const base = Math.sin(counter++ * 12.9898) * 0.5;
      const delta = variant ? Math.sin((counter + variant * 7919) * 78.233) * 0.05 : 0;
      bytes.writeUInt16LE(encode(base + delta), i * 2);
    }
    header[name] = { dtype: family.dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([prefix, Buffer.from(json), ...parts]));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: [family.architecture], model_type: family.modelType, hidden_size: HIDDEN,
    intermediate_size: INTERMEDIATE, num_hidden_layers: family.layers, num_attention_heads: HEADS,
    num_key_value_heads: family.kvHeads, vocab_size: VOCAB, rms_norm_eps: 1e-5,
    torch_dtype: family.dtype === 'F16' ? 'float16' : 'bfloat16', tie_word_embeddings: false,
  }, null, 2));
}
