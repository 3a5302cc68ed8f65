// End to end in headless Chromium, starting from your own models: synthetic checkpoints are
// picked through the page's file inputs, merged in the worker on WebGPU (SwiftShader,
// `--enable-unsafe-webgpu`) and again on the CPU, saved to the Origin Private File System, read
// back and compared byte for byte with the native CLI's output for the same YAML and seed. A
// browser without WebGPU falls back. (tests/demo.test.mjs: the page out of the box.)
//
// Needs: www/pkg (make wasm), the native binary in $MIXMERGE, /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { savedFiles } from './saved-output.mjs';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIXMERGE = process.env.MIXMERGE ?? 'mixmerge';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = process.env.TEST_RESULTS ?? path.join(WWW, 'test-results');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let tmp, models, server, browser, page;
const consoleLines = [];

function mixmerge(...args) {
  return execFileSync(MIXMERGE, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/// A copy of `from`'s single shard with one tensor's first dimension shrunk (zeros as data).
function writeWrongShape(from, to, tensorName) {
  const bytes = fs.readFileSync(path.join(from, 'model.safetensors'));
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  const size = { BF16: 2, F16: 2, F32: 4 };
  let offset = 0;
  const out = {};
  if (header.__metadata__) out.__metadata__ = header.__metadata__;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = name === tensorName ? [info.shape[0] - 16, ...info.shape.slice(1)] : info.shape;
    const len = shape.reduce((a, b) => a * b, 1) * size[info.dtype];
    out[name] = { dtype: info.dtype, shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(out);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.mkdirSync(to, { recursive: true });
  fs.writeFileSync(path.join(to, 'model.safetensors'),
    Buffer.concat([prefix, Buffer.from(json), Buffer.alloc(offset)]));
  fs.copyFileSync(path.join(from, 'config.json'), path.join(to, 'config.json'));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-e2e-'));
  models = path.join(tmp, 'models');
  mixmerge('synth', path.join(models, 'base'), '--shape', 'tiny', '--variant', '0');
  mixmerge('synth', path.join(models, 'expert-a'), '--shape', 'tiny', '--variant', '1');
  // Sharded, with model.safetensors.index.json.
  mixmerge('synth', path.join(models, 'expert-b'), '--shape', 'tiny', '--variant', '2', '--shard-size', '200K');
  fs.writeFileSync(path.join(models, 'expert-a', 'tokenizer_config.json'), '{"model_max_length": 2048}\n');
  fs.writeFileSync(path.join(models, 'base', 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { vocab: {} } }));
  writeWrongShape(path.join(models, 'base'), path.join(models, 'wrong-shape'), 'model.layers.0.mlp.up_proj.weight');
  fs.mkdirSync(path.join(models, 'broken'));
  fs.writeFileSync(path.join(models, 'broken', 'model.safetensors'), Buffer.from('this is not a safetensors file'));

  server = await serve(WWW);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  });
  page = await openPlayground(browser);
});

/// A fresh page of the playground (launch() gives each browser a new profile, so a fresh OPFS).
async function openPlayground(inBrowser) {
  const opened = await inBrowser.newPage({ viewport: { width: 1280, height: 900 } });
  opened.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  opened.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await opened.goto(server.url);
  await opened.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  return opened;
}

after(async () => {
  if (consoleLines.length) console.log(consoleLines.join('\n'));
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const slot = (n) => page.getByRole('group', { name: `Model ${n}`, exact: true });

async function slotCount() {
  return page.locator('fieldset.slot').count();
}

/// Picks `models/<name>` through the Folder input of the slot named `name`.
async function pickFolders() {
  for (let n = 1; n <= await slotCount(); n++) {
    const name = await slot(n).getByLabel('Name').inputValue();
    const dir = path.join(models, name);
    const picked = /tensors/.test(await slot(n).locator('[data-id=summary]').textContent());
    // Playwright waits forever when a folder input is given the folder it already holds.
    if (fs.existsSync(dir) && !picked) {
      await slot(n).getByLabel('Folder').setInputFiles(dir);
      await assert.doesNotReject(slot(n).locator('[data-id=summary]').filter({ hasText: 'tensors' })
        .waitFor({ timeout: 20_000 }));
    }
  }
}

async function useYaml(yaml) {
  await page.getByLabel('Merge config (YAML)').fill(yaml);
  await page.getByRole('button', { name: 'Apply YAML to form' }).click();
  // The page parses in its worker: wait until the form holds the import (a stale plan from the
  // previous test would otherwise pass the check below at once).
  await page.locator('#yaml:not([aria-busy])').waitFor();
  await page.waitForFunction(() => /Plan:|names|not one of/.test(document.getElementById('plan').textContent
    + document.getElementById('config-error').textContent));
}

/// Merges into OPFS under `outName` on `device` (`auto`: WebGPU when available, or `cpu`);
/// returns {file: sha256} of what was saved.
async function mergeInBrowser(outName, device = 'auto') {
  await page.getByLabel('Merge on').selectOption(device);
  await page.getByLabel('Output folder name').fill(outName);
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForFunction(() => !document.getElementById('result').hidden
    || document.getElementById('run-error').textContent, null, { timeout: 120_000 });
  assert.equal(await page.locator('#run-error').textContent(), '');
  return savedFiles(page, outName);
}


function mergeNatively(yaml, outName, extraArgs = []) {
  const config = path.join(models, `${outName}.yml`);
  fs.writeFileSync(config, yaml);
  const out = path.join(tmp, 'native', outName);
  mixmerge('merge', config, out, '--quiet', ...extraArgs);
  const files = {};
  for (const file of fs.readdirSync(out)) {
    files[file] = createHash('sha256').update(fs.readFileSync(path.join(out, file))).digest('hex');
  }
  return files;
}

/// Merges on WebGPU, then on the CPU; both must save the native CLI's files, byte for byte.
async function assertSameAsNative(outName, extraArgs = []) {
  const yaml = await page.getByLabel('Merge config (YAML)').inputValue();
  const nativeFiles = mergeNatively(yaml, outName, extraArgs);
  const gpuFiles = await mergeInBrowser(`${outName}-webgpu`);
  assert.match(await page.locator('#result-device').textContent(),
    /^Merged on WebGPU \(.+\): [1-9]\d* tensors on the GPU, 0 on the CPU\.$/);
  assert.deepEqual(gpuFiles, nativeFiles, 'WebGPU output equals the native CLI\'s');
  const cpuFiles = await mergeInBrowser(`${outName}-cpu`, 'cpu');
  assert.equal(await page.locator('#result-device').textContent(), 'Merged on the CPU (WebAssembly).');
  assert.deepEqual(cpuFiles, nativeFiles, 'CPU output equals the native CLI\'s');
  return gpuFiles;
}

test('the page loads the engine and offers every method with its parameters', async () => {
  const methods = await page.getByLabel('Merge method').locator('option').allTextContents();
  for (const m of ['linear', 'ties', 'dare_ties', 'task_arithmetic', 'slerp']) assert.ok(methods.includes(m), m);
  await page.getByLabel('Merge method').selectOption('slerp');
  await assert.doesNotReject(page.getByLabel('t', { exact: true }).waitFor());
  await page.getByLabel('Merge method').selectOption('linear');
  assert.match(await page.locator('#device').textContent(), /^Merging on WebGPU \(.+\)/);
});

test('linear merge built with the form matches the native CLI', async () => {
  await page.getByLabel('Start from').selectOption('own');
  await page.waitForFunction(() => document.querySelectorAll('fieldset.slot').length === 2);
  await slot(1).getByLabel('Folder').setInputFiles(path.join(models, 'expert-a'));
  await slot(2).getByLabel('Folder').setInputFiles(path.join(models, 'expert-b'));
  assert.equal(await slot(1).getByLabel('Name').inputValue(), 'expert-a');
  await slot(1).getByLabel('weight').fill('0.3');
  await slot(2).getByLabel('weight').fill('0.7');
  await page.getByLabel('Output dtype').selectOption('float16');
  const files = await assertSameAsNative('linear');
  assert.ok(files['model.safetensors'] && files['config.json'] && files['README.md']);
  assert.ok(files['tokenizer_config.json'], 'tokenizer files come from the first model');
});

const TIES_YAML = `merge_method: ties
base_model: base
models:
  - model: expert-a
    parameters: {weight: 0.6, density: 0.5}
  - model: expert-b
    parameters: {weight: 0.4, density: 0.7}
parameters:
  normalize: true
dtype: bfloat16
`;

test('ties from an imported YAML matches the native CLI', async () => {
  await useYaml(TIES_YAML);
  await pickFolders();
  assert.equal(await page.getByLabel('Merge method').inputValue(), 'ties');
  assert.equal(await page.getByLabel('Merge config (YAML)').inputValue(), TIES_YAML, 'merged as written');
  const files = await assertSameAsNative('ties');
  assert.ok(files['tokenizer.json'], 'tokenizer files come from the base');
});

test('dare_ties with a seed, sharded output, matches the native CLI', async () => {
  await useYaml(`merge_method: dare_ties
base_model: base
models:
  - model: expert-a
    parameters: {weight: 0.5, density: 0.6}
  - model: expert-b
    parameters: {weight: 0.5, density: 0.4}
`);
  await pickFolders();
  await page.getByLabel('Random seed').fill('42');
  await page.getByLabel('Shard size (MB)').fill('0.2');
  const files = await assertSameAsNative('dare-ties', ['--seed', '42', '--out-shard-size', '200K']);
  assert.ok(files['model.safetensors.index.json'], 'sharded output has an index');
  await page.getByLabel('Random seed').fill('');
  await page.getByLabel('Shard size (MB)').fill('5000');
});

test('a mixup merge shows the drawn λ and matches the native CLI', async () => {
  await page.getByLabel('Merge method').selectOption('task_arithmetic');
  for (let n = 1; n <= await slotCount(); n++) {
    if (await slot(n).getByLabel('Name').inputValue() === 'base') await slot(n).getByLabel('Base model').check();
  }
  await page.getByLabel('Mixup', { exact: true }).check();
  await page.getByLabel('Mixup alpha').fill('0.5');
  await page.getByLabel('Mixup seed').fill('7');
  await page.getByLabel('Mixup seed').dispatchEvent('change');
  const yaml = await page.getByLabel('Merge config (YAML)').inputValue();
  assert.match(yaml, /mixup: \{alpha: 0.5, seed: 7\}/);
  await page.waitForFunction(() => /λ = 0\.\d+/.test(document.getElementById('lambda').textContent));
  await assertSameAsNative('mixup');
  assert.match(await page.locator('#result-summary').textContent(), /Mixup λ = 0\.\d+/);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, 'playground-merged.png'), fullPage: true });
  await page.getByLabel('Mixup', { exact: true }).uncheck();
});

test('a malformed file is reported when it is picked', async () => {
  await page.getByRole('button', { name: 'Add model' }).click();
  const n = await slotCount();
  await slot(n).getByLabel('Files').setInputFiles(path.join(models, 'broken', 'model.safetensors'));
  const error = slot(n).getByRole('alert');
  await error.filter({ hasText: 'malformed safetensors header' }).waitFor({ timeout: 20_000 });
  assert.equal(await error.getAttribute('data-kind'), 'MalformedHeader');
  await slot(n).getByRole('button', { name: `Remove model ${n}` }).click();
});

test('a shape mismatch is reported before any work starts', async () => {
  await useYaml(`merge_method: linear
models:
  - model: base
    parameters: {weight: 0.5}
  - model: wrong-shape
    parameters: {weight: 0.5}
`);
  await pickFolders();
  const error = page.locator('#config-error[data-kind=Mismatch]');
  await error.waitFor({ timeout: 20_000 });
  assert.match(await error.textContent(), /wrong-shape: .*shape \[160, 64\] differs from \[176, 64\]/);
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.locator('#run-error').filter({ hasText: 'Fix the config first' }).waitFor();
  await page.screenshot({ path: path.join(RESULTS, 'playground-errors.png'), fullPage: true });
});

test('cancelling a merge stops it and removes the partial output', async () => {
  const outcome = await page.evaluate(async () => {
    const { Engine } = await import('./engine.js');
    const engine = new Engine();
    const files = (id) => [...document.getElementById(id).files];
    const slots = [...document.querySelectorAll('fieldset.slot')].map((el) => ({
      name: el.querySelector('[data-id=name]').value,
      files: files(el.querySelector('[data-id=folder]').id),
    })).filter((m) => m.files.length);
    const yaml = 'merge_method: linear\nmodels:\n  - model: base\n    parameters: {weight: 1}\n';
    let updates = 0;
    // Tiny chunks make the merge long enough to cancel half-way.
    const request = engine.start('merge', {
      yaml, models: slots, options: { chunkElements: 64 }, outName: 'cancelled',
    }, () => { if (++updates === 3) engine.cancel(request.id); });
    const error = await request.promise.then(() => null, (e) => ({ name: e.name, message: e.message }));
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('mixmerge');
    const left = await root.getDirectoryHandle('cancelled').then(() => true, () => false);
    engine.worker.terminate();
    return { error, updates, left };
  });
  assert.deepEqual(outcome.error, { name: 'Cancelled', message: 'merge cancelled' });
  assert.equal(outcome.left, false, 'the partial output folder is removed');
});

test('without WebGPU the page says so and merges on the CPU, as the native CLI', async () => {
  const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const cpuPage = await openPlayground(plain);
    assert.match(await cpuPage.locator('#device').textContent(),
      /^Merging on the CPU \(WebAssembly, in a worker\): .*no WebGPU adapter/);
    await cpuPage.getByLabel('Start from').selectOption('own');
    await cpuPage.waitForFunction(() => document.querySelectorAll('fieldset.slot').length === 2);
    const at = (n) => cpuPage.getByRole('group', { name: `Model ${n}`, exact: true });
    await at(1).getByLabel('Folder').setInputFiles(path.join(models, 'expert-a'));
    await at(2).getByLabel('Folder').setInputFiles(path.join(models, 'expert-b'));
    await at(2).locator('[data-id=summary]').filter({ hasText: 'tensors' }).waitFor({ timeout: 20_000 });
    const yaml = await cpuPage.getByLabel('Merge config (YAML)').inputValue();
    await cpuPage.getByLabel('Output folder name').fill('no-webgpu');
    await cpuPage.getByRole('button', { name: 'Merge', exact: true }).click();
    await cpuPage.locator('#result').waitFor({ timeout: 120_000 });
    assert.match(await cpuPage.locator('#result-device').textContent(),
      /^Merged on the CPU \(WebAssembly\)\. WebGPU was not used: .*no WebGPU adapter/);
    const saved = await savedFiles(cpuPage, 'no-webgpu');
    assert.deepEqual(saved, mergeNatively(yaml, 'no-webgpu'));
  } finally {
    await plain.close();
  }
});

/// Applies `yaml` to the form, then picks each slot's folder (whatever the page held before).
async function applyAndPick(yaml) {
  await page.getByLabel('Merge config (YAML)').fill(yaml);
  await page.getByRole('button', { name: 'Apply YAML to form' }).click();
  await page.locator('#yaml:not([aria-busy])').waitFor();
  await pickFolders();
}

test('the anatomy of picked models is the CLI\'s, and a shape mismatch is named', async () => {
  await page.getByLabel('Start from').selectOption('own'); // no change event when it already is
  await applyAndPick(`merge_method: ties
base_model: base
models:
  - model: expert-a
    parameters: {weight: 0.5, density: 0.5}
  - model: expert-b
    parameters: {weight: 0.5, density: 0.5}
`);
  await page.getByLabel('Mask seed', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Draw anatomy' }).click();
  await page.waitForFunction(() => document.getElementById('anatomy-figure').querySelector('svg')
    || document.getElementById('anatomy-error').textContent, null, { timeout: 60_000 });
  assert.equal(await page.locator('#anatomy-error').textContent(), '');
  const json = await page.evaluate(async () => (await fetch(document.getElementById('anatomy-json').href)).text());
  const out = path.join(tmp, 'anatomy.json');
  mixmerge('sweep', 'anatomy', '--base', path.join(models, 'base'), '--models', path.join(models, 'expert-a'),
    path.join(models, 'expert-b'), '--seed', '3', '--json', out);
  assert.equal(json, fs.readFileSync(out, 'utf8'), 'sharded expert-b included');

  await applyAndPick(`merge_method: ties
base_model: base
models:
  - model: wrong-shape
    parameters: {weight: 1, density: 0.5}
`);
  await page.getByRole('button', { name: 'Draw anatomy' }).click();
  const error = page.locator('#anatomy-error[data-kind=Mismatch]');
  await error.waitFor({ timeout: 20_000 });
  assert.match(await error.textContent(),
    /^tensor `model\.layers\.0\.mlp\.up_proj\.weight` in wrong-shape: shape \[160, 64\] differs from the base's \[176, 64\]$/);
  assert.equal(await page.locator('#anatomy-figure svg').count(), 0, 'no figure of the earlier models');
});
