"""Three 134 MB F16 models (64 random 1024x1024 tensors) as local folders and hub repos."""
import json, os, struct, sys
import numpy as np
root = sys.argv[1]
for i, name in enumerate(["base", "a", "b"]):
    rng = np.random.default_rng(i)
    header, blobs, off = {}, [], 0
    for t in range(64):
        a = rng.standard_normal((1024, 1024), dtype=np.float32).astype(np.float16)
        b = a.tobytes(); header[f"model.layers.{t}.mlp.weight"] = {"dtype": "F16", "shape": [1024, 1024], "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode(); h += b" " * ((8 - len(h) % 8) % 8)
    for d in [f"{root}/local/{name}", f"{root}/hub/org/{name}"]:
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/model.safetensors", "wb") as f:
            f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(x) for x in blobs]
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, open(f"{d}/config.json", "w"))
