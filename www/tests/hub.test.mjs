// Hub models in the tab, in headless Chromium against the hub emulator (hub-emulator.mjs): a
// mergekit recipe naming hub ids streams them (listing, then range requests through a redirect
// to a second host), merges on WebGPU and the CPU, and saves the bytes the native CLI writes for
// the same recipe from the same emulator — and the weights of the same merge from local folders.
// Gated models, unknown ids, injected faults and corrupted bytes are checked too.
//
// Needs: www/pkg (make wasm-merge), the native binary in $MIXMERGE, /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { startHubEmulator } from './hub-emulator.mjs';
import { savedFiles, savedFolderExists } from './saved-output.mjs';
import { writeFake } from './fake-models.mjs';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIXMERGE = process.env.MIXMERGE ?? 'mixmerge';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu'];
const TOKEN = 'hf_test_token';

const RECIPE = `merge_method: ties
base_model: test-org/base
models:
  - model: test-org/base
  - model: test-org/expert-a@v2
    parameters: {weight: 0.6, density: 0.5}
  - model: test-org/expert-b
    parameters: {weight: 0.4, density: 0.7}
parameters: {normalize: true}
dtype: bfloat16
`;

let tmp, local, hubRoot, server, browser, page;
const emulators = [];
const consoleLines = [];

function mixmerge(args, env = {}) {
  return execFileSync(MIXMERGE, args, {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
}

function hashes(dir) {
  const files = {};
  for (const file of fs.readdirSync(dir)) {
    files[file] = createHash('sha256').update(fs.readFileSync(path.join(dir, file))).digest('hex');
  }
  return files;
}

/// The CLI's merge of `yaml` (written into `dir`, where its relative paths point), streaming hub
/// ids from `endpoint` with an empty cache. Asynchronous: the emulator answers from this process.
async function mergeNatively(yaml, outName, dir, endpoint) {
  const config = path.join(dir, `${outName}.yml`);
  fs.writeFileSync(config, yaml);
  const out = path.join(tmp, 'native', outName);
  const cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
  await promisify(execFile)(MIXMERGE, ['merge', config, out, '--quiet'], {
    env: { ...process.env, HF_ENDPOINT: endpoint ?? 'http://127.0.0.1:9', HF_HUB_CACHE: cache, HF_TOKEN: TOKEN },
  });
  return hashes(out);
}

async function emulator(options = {}) {
  const started = await startHubEmulator({ root: hubRoot, ...options });
  emulators.push(started);
  return started;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-hub-e2e-'));
  local = path.join(tmp, 'local');
  mixmerge(['synth', path.join(local, 'base'), '--shape', 'tiny', '--variant', '0']);
  mixmerge(['synth', path.join(local, 'expert-a'), '--shape', 'tiny', '--variant', '1']);
  // Sharded, with model.safetensors.index.json.
  mixmerge(['synth', path.join(local, 'expert-b'), '--shape', 'tiny', '--variant', '2', '--shard-size', '200K']);
  fs.writeFileSync(path.join(local, 'base', 'tokenizer_config.json'), '{"model_max_length": 2048}\n');
  // The hub's layout: owner/name is `main`, owner/name@rev another revision.
  hubRoot = path.join(tmp, 'hub');
  for (const [from, to] of [['base', 'base'], ['expert-a', 'expert-a@v2'], ['expert-b', 'expert-b']]) {
    fs.cpSync(path.join(local, from), path.join(hubRoot, 'test-org', to), { recursive: true });
  }
  server = await serve(WWW);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.getByLabel('Start from').selectOption('own');
});

after(async () => {
  if (consoleLines.length) console.log(consoleLines.join('\n'));
  await browser?.close();
  await server?.close();
  await Promise.all(emulators.map((e) => e.close()));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const slot = (n) => page.getByRole('group', { name: `Model ${n}`, exact: true });

async function useHub(endpoint, token = '') {
  await page.locator('#hub-settings summary').click();
  await page.getByLabel('Endpoint').fill(endpoint);
  await page.getByLabel('Token (gated or private models)').fill(token);
  await page.getByLabel('Token (gated or private models)').dispatchEvent('change');
  await page.locator('#hub-settings summary').click();
}

/// Imports `yaml`; its hub ids fill hub slots, which list and read their headers at once.
async function useYaml(yaml) {
  await page.getByLabel('Merge config (YAML)').fill(yaml);
  await page.getByRole('button', { name: 'Apply YAML to form' }).click();
  await page.locator('#yaml:not([aria-busy])').waitFor();
}

async function waitForSlots(count) {
  for (let n = 1; n <= count; n++) {
    const summary = slot(n).locator('[data-id=summary]');
    try {
      await summary.filter({ hasText: 'tensors' }).waitFor({ timeout: 30_000 });
    } catch (err) {
      const error = await slot(n).locator('[data-id=error]').textContent();
      throw new Error(`slot ${n}: ${await summary.textContent()} ${error}`);
    }
  }
  await page.waitForFunction(() => /Plan:/.test(document.getElementById('plan').textContent));
}

/// Merges into OPFS under `outName`; returns {file: sha256} of what was saved, or throws the
/// page's error text.
async function mergeInBrowser(outName, device = 'auto') {
  await page.getByLabel('Merge on').selectOption(device);
  await page.getByLabel('Output folder name').fill(outName);
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForFunction(() => !document.getElementById('result').hidden
    || document.getElementById('run-error').textContent, null, { timeout: 120_000 });
  const error = await page.locator('#run-error').textContent();
  if (error) throw new Error(error);
  return savedFiles(page, outName);
}


/// The recipe with hub ids replaced by the local folders' names.
const localRecipe = RECIPE.replace(/test-org\/([a-z-]+)(@v2)?/g, '$1');

test('a recipe naming hub models streams them and saves the CLI\'s bytes', async () => {
  const hub = await emulator();
  await useHub(hub.endpoint);
  await useYaml(RECIPE);
  await waitForSlots(3);
  assert.equal(await slot(2).getByLabel('Hub model').inputValue(), 'test-org/expert-a');
  assert.equal(await slot(2).getByLabel('Revision').inputValue(), 'v2');
  assert.match(await slot(3).locator('[data-id=summary]').textContent(), /in 3 shards.*streamed from/);

  const native = await mergeNatively(RECIPE, 'hub', tmp, hub.endpoint);
  const fromLocal = await mergeNatively(localRecipe, 'local', local);
  const before = hub.stats.bytesServed;
  const gpu = await mergeInBrowser('hub-webgpu');
  assert.match(await page.locator('#result-device').textContent(), /^Merged on WebGPU/);
  assert.deepEqual(gpu, native, 'WebGPU output equals the native CLI\'s');
  const cpu = await mergeInBrowser('hub-cpu', 'cpu');
  assert.deepEqual(cpu, native, 'CPU output equals the native CLI\'s');

  // The weights equal the same merge from local folders; the card names the hub models.
  for (const [file, hash] of Object.entries(fromLocal)) {
    if (file !== 'README.md' && file !== 'mergekit_config.yml') assert.equal(gpu[file], hash, file);
  }
  assert.notEqual(gpu['README.md'], fromLocal['README.md']);
  // Streamed, not downloaded over and over: each merge (its check, then the merge) fetched the
  // inputs about twice, as files this small are read whole to check their hash first.
  const inputs = ['base', 'expert-a', 'expert-b'].flatMap((m) => fs.readdirSync(path.join(local, m))
    .map((f) => fs.statSync(path.join(local, m, f)).size)).reduce((a, b) => a + b, 0);
  const perMerge = (hub.stats.bytesServed - before) / 2;
  assert.ok(perMerge > 0.9 * inputs && perMerge < 2.5 * inputs, `${perMerge} bytes per merge for ${inputs}`);
});

test('a hub slot from the form: id and revision, checked before any work', async () => {
  const hub = await emulator();
  await useHub(hub.endpoint);
  await useYaml(localRecipe.replace('expert-a', 'model-x'));
  await slot(2).getByLabel('Hub model').fill('test-org/expert-a');
  await slot(2).getByLabel('Revision').fill('v2');
  await slot(2).getByRole('button', { name: 'Use hub model' }).click();
  assert.equal(await slot(2).getByLabel('Name').inputValue(), 'test-org/expert-a@v2');
  await slot(2).locator('[data-id=summary]').filter({ hasText: 'tensors' }).waitFor({ timeout: 30_000 });
  assert.match(await page.getByLabel('Merge config (YAML)').inputValue(), /model: "?test-org\/expert-a@v2/);

  await slot(2).getByLabel('Revision').fill('no-such-branch');
  await slot(2).getByRole('button', { name: 'Use hub model' }).click();
  await slot(2).locator('[data-id=error]').filter({ hasText: 'test-org/expert-a@no-such-branch' })
    .waitFor({ timeout: 30_000 });
  assert.match(await slot(2).locator('[data-id=error]').textContent(), /404/);
  await slot(2).getByLabel('Hub model').fill('not a hub id');
  await slot(2).getByRole('button', { name: 'Use hub model' }).click();
  assert.match(await slot(2).locator('[data-id=error]').textContent(), /not a hub id/);
});

test('a gated hub needs the token field, which is sent to the endpoint only', async () => {
  const hub = await emulator({ token: TOKEN });
  await useHub(hub.endpoint);
  await useYaml(RECIPE);
  await slot(1).locator('[data-id=error]').filter({ hasText: 'gated or private' }).waitFor({ timeout: 30_000 });
  assert.match(await slot(1).locator('[data-id=error]').textContent(), /test-org\/base.*401/);
  await useHub(hub.endpoint, TOKEN);
  await waitForSlots(3);
  assert.deepEqual(await mergeInBrowser('gated', 'cpu'), await mergeNatively(RECIPE, 'gated', tmp, hub.endpoint));
});

test('dropped connections and 5xx are retried and resumed; the bytes stay the same', async () => {
  const reference = await mergeNatively(localRecipe, 'faults-local', local);
  for (const kind of ['reset', '500', 'short']) {
    const hub = await emulator({ fault: { kind, every: 3 } });
    await useHub(hub.endpoint);
    await useYaml(RECIPE);
    await waitForSlots(3);
    const saved = await mergeInBrowser(`faults-${kind}`, 'cpu');
    assert.ok(hub.stats.faults > 0, `${kind}: faults were injected`);
    for (const [file, hash] of Object.entries(reference)) {
      if (file.endsWith('.safetensors')) assert.equal(saved[file], hash, `${kind}: ${file}`);
    }
  }
});

test('corrupted bytes fail the sha256 check, naming the file, and leave no output', async () => {
  const hub = await emulator({ corrupt: true });
  await useHub(hub.endpoint);
  await useYaml(RECIPE);
  // Files this small are hashed whole before their headers are read: the slot says so.
  const named = /test-org\/[\w-]+@\w+\/model[\w.-]*\.safetensors.*sha256/;
  await slot(1).locator('[data-id=error]').filter({ hasText: 'sha256' }).waitFor({ timeout: 30_000 });
  assert.match(await slot(1).locator('[data-id=error]').textContent(), named);
  await assert.rejects(mergeInBrowser('corrupt', 'cpu'), /Fix the config/);
  assert.match(await page.locator('#config-error').textContent(), named);
  assert.equal(await savedFolderExists(page, 'corrupt'), false);
});

/// Every hub model mergekit's examples name, with its family and variant (0: the base).
const EXAMPLE_MODELS = [
  ['TheBloke/Llama-2-13B-fp16', 'llama-2-13b', 0], ['psmathur/orca_mini_v3_13b', 'llama-2-13b', 1],
  ['garage-bAInd/Platypus2-13B', 'llama-2-13b', 2], ['WizardLM/WizardLM-13B-V1.2', 'llama-2-13b', 3],
  ['WizardLM/WizardMath-13B-V1.0', 'llama-2-13b', 4], ['mistralai/Mistral-7B-v0.1', 'mistral-7b', 0],
  ['mistralai/Mistral-7B-Instruct-v0.2', 'mistral-7b', 1], ['BioMistral/BioMistral-7B', 'mistral-7b', 2],
];
const EXAMPLES = path.resolve(WWW, '..', 'tests', 'fixtures', 'mergekit_examples');

test('mergekit\'s example recipes, unchanged, stream from the hub and save the CLI\'s bytes', async () => {
  const root = path.join(tmp, 'examples-hub');
  for (const [id, family, variant] of EXAMPLE_MODELS) writeFake(path.join(root, id), family, variant);
  const hub = await startHubEmulator({ root });
  emulators.push(hub);
  await useHub(hub.endpoint);
  // arcee_fusion.yml names local folders (model_a, model_b), not hub models: tests/core covers it.
  const recipes = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yml') && f !== 'arcee_fusion.yml');
  assert.equal(recipes.length, 5);
  for (const file of recipes) {
    const yaml = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
    await useYaml(yaml);
    assert.equal(await page.getByLabel('Merge config (YAML)').inputValue(), yaml, `${file} is merged as written`);
    const slots = await page.locator('fieldset.slot').count();
    await waitForSlots(slots);
    const native = await mergeNatively(yaml, file.replace('.yml', ''), tmp, hub.endpoint);
    const saved = await mergeInBrowser(`example-${file.replace('.yml', '')}`, 'cpu');
    assert.deepEqual(saved, native, file);
  }
});
