// The Evaluate panel end to end in headless Chromium: the tiny Llama fixture (GQA, llama3 rope
// scaling; tests/fixtures/eval) is loaded through the panel's file input and gives the native
// `mixmerge eval` perplexity (and per-token log-probs) and the native `mixmerge generate` text,
// greedy and seeded, on WebGPU (SwiftShader) and on the CPU fallback; the merge's own result can
// be evaluated; bad models show readable errors; Stop cancels a generation.
//
// Needs: www/pkg with mixmerge_eval (make wasm), the native CLI built with `--features eval` in
// $MIXMERGE_EVAL, /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  WWW, CHROMIUM, CHROMIUM_ARGS, nativePerplexity, nativeContinuation, openEvaluate, startEvaluateSession, loadChosen,
  loadModel,
  measurePerplexity, generateText,
} from './eval-page.mjs';

const FIXTURE = path.resolve(WWW, '..', 'tests', 'fixtures', 'eval', 'llama_gqa');
const RESULTS = process.env.TEST_RESULTS ?? path.join(WWW, 'test-results');
// Words from the fixture tokenizer's vocabulary (lowercase letters, " !,." and merges of them).
const TEXT = 'the cat sat on the mat. the dog and the cat ran far, then the cat sat again!';
const PROMPT = 'the cat';
const SAMPLING = { temperature: 0.9, topP: 0.9, seed: 5 };
// f32 logits on another backend: per-token log-probs agree to ~1e-5, perplexity far closer.
const LOG_PROB_TOLERANCE = 1e-3;
const PERPLEXITY_TOLERANCE = 1e-4;
const SLOW = 180_000; // SwiftShader compiles burn's kernels on first use

let tmp, session, server, page, native;
const consoleLines = [];

/// A model folder `name` in the temp dir: {file: a path to copy, or the contents}.
function modelFolder(name, files) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (fs.existsSync(content)) fs.copyFileSync(content, path.join(dir, file));
    else fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-eval-e2e-'));
  const textFile = path.join(tmp, 'text.txt');
  fs.writeFileSync(textFile, TEXT);
  native = {
    ...nativePerplexity(FIXTURE, textFile),
    greedy: nativeContinuation(FIXTURE, PROMPT, '-n', '24'),
    sampled: nativeContinuation(FIXTURE, PROMPT, '-n', '24', '--temperature', String(SAMPLING.temperature),
      '--top-p', String(SAMPLING.topP), '--seed', String(SAMPLING.seed)),
  };
  const fixture = (f) => path.join(FIXTURE, f);
  modelFolder('tiny-llama', {
    'config.json': fixture('config.json'),
    'model.safetensors': fixture('model.safetensors'),
    'tokenizer.json': fixture('tokenizer.json'),
  });
  modelFolder('broken-weights', {
    'config.json': fixture('config.json'),
    'model.safetensors': 'this is not a safetensors file',
    'tokenizer.json': fixture('tokenizer.json'),
  });
  modelFolder('no-tokenizer', {
    'config.json': fixture('config.json'),
    'model.safetensors': fixture('model.safetensors'),
  });
  session = await startEvaluateSession(consoleLines);
  ({ server, page } = session);
});

after(async () => {
  await session?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// What the panel says went wrong, for a failed assertion's message.
const pageError = async (onPage) => `${await onPage.locator('#eval-model').textContent()} ${await onPage.locator('#eval-error').textContent()}`;

const loadFolder = (onPage, name, device) =>
  loadModel(onPage, { folder: path.join(tmp, name), device, timeout: SLOW });

function assertSamePerplexity(got) {
  assert.ok(Math.abs(got.perplexity / native.perplexity - 1) < PERPLEXITY_TOLERANCE,
    `perplexity ${got.perplexity} vs native ${native.perplexity}`);
}

async function assertMatchesNative(onPage) {
  const got = await measurePerplexity(onPage, TEXT, SLOW);
  assertSamePerplexity(got);
  assert.equal(got.logProbs.length, native.logProbs.length);
  got.logProbs.forEach((lp, i) => assert.ok(Math.abs(lp - native.logProbs[i]) < LOG_PROB_TOLERANCE,
    `token ${i + 1}: ${lp} vs ${native.logProbs[i]}`));
  assert.match(got.line, /^Perplexity \d+\.\d{4} .* tokens\/s /);
  const greedy = await generateText(onPage, { prompt: PROMPT, maxTokens: 24, timeout: SLOW });
  assert.equal(greedy.text, native.greedy, 'greedy generation');
  assert.match(greedy.line, /^\d+ new tokens .* Prompt: \d+ tokens, [\d.]+ tokens\/s; generation: [\d.]+ tokens\/s/);
  const sampled = await generateText(onPage, { prompt: PROMPT, maxTokens: 24, ...SAMPLING, timeout: SLOW });
  assert.equal(sampled.text, native.sampled, 'seeded top-p generation');
  // The first passes compile the GPU kernels; the sampled run shows warm throughput.
  console.log(`# ${got.line}\n# greedy: ${greedy.line}\n# sampled: ${sampled.line}`);
}

test('the tiny Llama on WebGPU gives the native perplexity and generations', async () => {
  const line = await loadFolder(page, 'tiny-llama', 'auto');
  assert.match(line, /^Loaded tiny-llama \(LlamaForCausalLM\): .* on WebGPU \(GPU .+\)$/, await pageError(page));
  await assertMatchesNative(page);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, 'evaluate-webgpu.png'), fullPage: true });
});

test('the tiny Llama on the CPU (WebAssembly) gives the native perplexity and generations', async () => {
  const line = await loadFolder(page, 'tiny-llama', 'cpu');
  assert.match(line, /^Loaded tiny-llama .* on the CPU \(CPU \(burn flex\) in WebAssembly\)\.$/, await pageError(page));
  await assertMatchesNative(page);
});

test('Stop cancels a running generation', async () => {
  // Both clicks in one turn: the worker reads the cancel before its first forward pass.
  await page.evaluate(() => {
    document.getElementById('eval-generate').click();
    document.getElementById('eval-stop').click();
  });
  await page.locator('#eval-generation-result').filter({ hasText: /^Stopped\.$/ }).waitFor({ timeout: SLOW });
  assert.equal(await page.locator('#eval-error').textContent(), '');
});

test('a bad model file and a missing tokenizer show readable errors', async () => {
  assert.equal(await loadFolder(page, 'broken-weights', 'cpu'), 'No model loaded.');
  assert.match(await page.locator('#eval-error').textContent(),
    /broken-weights\/model\.safetensors: malformed safetensors header/);
  assert.equal(await page.locator('#eval-error').getAttribute('data-kind'), 'MalformedHeader');
  assert.equal(await loadFolder(page, 'no-tokenizer', 'cpu'), 'No model loaded.');
  assert.match(await page.locator('#eval-error').textContent(), /no-tokenizer\/tokenizer\.json: tokenizer: missing/);
  assert.equal(await page.getByRole('button', { name: 'Generate' }).isDisabled(), true);
});

test('the merge result can be evaluated: a linear merge of the fixture with itself', async () => {
  const slot = (n) => page.getByRole('group', { name: `Model ${n}`, exact: true });
  await page.getByLabel('Start from').selectOption('own');
  await page.waitForFunction(() => document.querySelectorAll('fieldset.slot').length === 2);
  await slot(1).getByLabel('Folder').setInputFiles(path.join(tmp, 'tiny-llama'));
  await slot(2).getByLabel('Files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json']
    .map((f) => path.join(tmp, 'tiny-llama', f)));
  await slot(2).getByLabel('Name').fill('tiny-llama-copy');
  await page.getByLabel('Output dtype').selectOption('float32');
  assert.match(await page.getByLabel('Merge config (YAML)').inputValue(), /merge_method: linear/);
  await page.getByLabel('Output folder name').fill('self-merge');
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForFunction(() => !document.getElementById('result').hidden
    || document.getElementById('run-error').textContent, null, { timeout: SLOW });
  assert.equal(await page.locator('#run-error').textContent(), '');
  assert.equal(await page.getByLabel('Model source').inputValue(), 'merged');
  await page.getByLabel('Run on').selectOption('cpu');
  assert.match(await loadChosen(page, SLOW), /^Loaded self-merge \(LlamaForCausalLM\)/);
  assertSamePerplexity(await measurePerplexity(page, TEXT, SLOW));
});

test('without WebGPU the panel names the CPU fallback and why', async () => {
  const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const cpuPage = await openEvaluate(plain, server.url, consoleLines);
    const line = await loadFolder(cpuPage, 'tiny-llama', 'auto');
    assert.match(line, /on the CPU \(CPU \(burn flex\) in WebAssembly\)\. WebGPU was not used: .+/);
    assertSamePerplexity(await measurePerplexity(cpuPage, TEXT, SLOW));
  } finally {
    await plain.close();
  }
});
