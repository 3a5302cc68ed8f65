// The Evaluate panel end to end in headless Chromium: the tiny Llama fixture (GQA, llama3 rope
// scaling; tests/fixtures/eval) is loaded through the panel's file input and gives the native
// `mixmerge eval` perplexity (and per-token log-probs) and the native `mixmerge generate` text,
// greedy and seeded, on WebGPU (SwiftShader) and on the CPU fallback; the merge's own result can
// be evaluated; bad models show readable errors; Stop cancels a generation.
//
// Needs: www/pkg with mixmerge_eval (make wasm), native binaries in $MIXMERGE (merge) and
// $MIXMERGE_EVAL (built with `--features eval`), /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.resolve(WWW, '..', 'tests', 'fixtures', 'eval', 'llama_gqa');
const MIXMERGE_EVAL = process.env.MIXMERGE_EVAL ?? 'mixmerge';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = process.env.TEST_RESULTS ?? path.join(WWW, 'test-results');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// Words from the fixture tokenizer's vocabulary (lowercase letters, " !,." and merges of them).
const TEXT = 'the cat sat on the mat. the dog and the cat ran far, then the cat sat again!';
const PROMPT = 'the cat';
// f32 logits on another backend: per-token log-probs agree to ~1e-5, perplexity far closer.
const LOG_PROB_TOLERANCE = 1e-3;
const PERPLEXITY_TOLERANCE = 1e-4;
const SLOW = 180_000; // SwiftShader compiles burn's kernels on first use

let tmp, server, browser, page, native;
const consoleLines = [];

function mixmergeEval(...args) {
  return execFileSync(MIXMERGE_EVAL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/// The native CLI's answers for the fixture: perplexity, per-token log-probs, generations.
function nativeReference() {
  const textFile = path.join(tmp, 'text.txt');
  fs.writeFileSync(textFile, TEXT);
  const report = mixmergeEval('eval', FIXTURE, '--text', textFile, '--per-token');
  const logProbs = report.split('\n').filter((l) => /^\d+\t/.test(l)).map((l) => Number(l.split('\t')[2]));
  const perplexity = Number(/^perplexity: (\S+)$/m.exec(report)[1]);
  const continuation = (...args) => {
    const out = mixmergeEval('generate', FIXTURE, '--prompt', PROMPT, ...args);
    assert.ok(out.startsWith(PROMPT), out);
    return out.slice(PROMPT.length).replace(/\n$/, '');
  };
  return {
    perplexity,
    logProbs,
    greedy: continuation('-n', '24'),
    sampled: continuation('-n', '24', '--temperature', '0.9', '--top-p', '0.9', '--seed', '5'),
  };
}

/// A model folder named `name` in the temp dir holding `files` ({name: contents or source path}).
function modelFolder(name, files) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(dir, file);
    if (typeof content === 'string' && fs.existsSync(content)) fs.copyFileSync(content, target);
    else fs.writeFileSync(target, content);
  }
  return dir;
}

async function openPlayground(inBrowser) {
  const opened = await inBrowser.newPage({ viewport: { width: 1280, height: 900 } });
  opened.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  opened.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await opened.goto(server.url);
  await opened.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await opened.getByRole('button', { name: 'Open evaluation' }).click();
  return opened;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-eval-e2e-'));
  native = nativeReference();
  const fixtureFile = (f) => path.join(FIXTURE, f);
  modelFolder('tiny-llama', {
    'config.json': fixtureFile('config.json'),
    'model.safetensors': fixtureFile('model.safetensors'),
    'tokenizer.json': fixtureFile('tokenizer.json'),
  });
  modelFolder('broken-weights', {
    'config.json': fixtureFile('config.json'),
    'model.safetensors': 'this is not a safetensors file',
    'tokenizer.json': fixtureFile('tokenizer.json'),
  });
  modelFolder('no-tokenizer', {
    'config.json': fixtureFile('config.json'),
    'model.safetensors': fixtureFile('model.safetensors'),
  });
  server = await serve(WWW);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  });
  page = await openPlayground(browser);
});

after(async () => {
  if (consoleLines.length) console.log(consoleLines.join('\n'));
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/// Loads the folder `name` on `device` (`auto` or `cpu`); returns the panel's model line.
async function loadFolder(onPage, name, device) {
  await onPage.getByLabel('Run on').selectOption(device);
  await onPage.getByLabel('Model folder').setInputFiles(path.join(tmp, name));
  return loadChosen(onPage);
}

async function loadChosen(onPage) {
  await onPage.getByRole('button', { name: 'Load model' }).click();
  await onPage.waitForFunction(() => /^(Loaded|No model loaded\.)/.test(
    document.getElementById('eval-model').textContent), null, { timeout: SLOW });
  return onPage.locator('#eval-model').textContent();
}

async function measurePerplexity(onPage) {
  await onPage.getByLabel('Text for perplexity').fill(TEXT);
  await onPage.locator('#eval-perplexity-result').evaluate((el) => { delete el.dataset.perplexity; });
  await onPage.getByRole('button', { name: 'Compute perplexity' }).click();
  await onPage.waitForFunction(() => document.getElementById('eval-perplexity-result').dataset.perplexity
    || document.getElementById('eval-error').textContent, null, { timeout: SLOW });
  assert.equal(await onPage.locator('#eval-error').textContent(), '');
  const out = onPage.locator('#eval-perplexity-result');
  return {
    perplexity: Number(await out.getAttribute('data-perplexity')),
    logProbs: JSON.parse(await out.getAttribute('data-log-probs')),
    line: await out.textContent(),
  };
}

/// Generates from PROMPT; returns {text, line}.
async function generateText(onPage, { maxTokens, temperature = 0, topP = 1, seed = 0 }) {
  await onPage.getByLabel('Prompt').fill(PROMPT);
  await onPage.getByLabel('Max new tokens').fill(String(maxTokens));
  await onPage.getByLabel('Temperature').fill(String(temperature));
  await onPage.getByLabel('Top-p').fill(String(topP));
  await onPage.getByLabel('Sampling seed').fill(String(seed));
  await onPage.getByRole('button', { name: 'Generate' }).click();
  await onPage.waitForFunction(() => /new tokens/.test(document.getElementById('eval-generation-result').textContent)
    || document.getElementById('eval-error').textContent, null, { timeout: SLOW });
  assert.equal(await onPage.locator('#eval-error').textContent(), '');
  return {
    text: await onPage.getByLabel('Generated text').textContent(),
    line: await onPage.locator('#eval-generation-result').textContent(),
  };
}

async function assertMatchesNative(onPage) {
  const got = await measurePerplexity(onPage);
  assert.ok(Math.abs(got.perplexity / native.perplexity - 1) < PERPLEXITY_TOLERANCE,
    `perplexity ${got.perplexity} vs native ${native.perplexity}`);
  assert.equal(got.logProbs.length, native.logProbs.length);
  got.logProbs.forEach((lp, i) => assert.ok(Math.abs(lp - native.logProbs[i]) < LOG_PROB_TOLERANCE,
    `token ${i + 1}: ${lp} vs ${native.logProbs[i]}`));
  assert.match(got.line, /^Perplexity \d+\.\d{4} .* tokens\/s /);
  const greedy = await generateText(onPage, { maxTokens: 24 });
  assert.equal(greedy.text, native.greedy, 'greedy generation');
  assert.match(greedy.line, /^\d+ new tokens .* Prompt: \d+ tokens, [\d.]+ tokens\/s; generation: [\d.]+ tokens\/s/);
  const sampled = await generateText(onPage, { maxTokens: 24, temperature: 0.9, topP: 0.9, seed: 5 });
  assert.equal(sampled.text, native.sampled, 'seeded top-p generation');
  console.log(`# ${got.line}\n# ${greedy.line}`);
}

test('the tiny Llama on WebGPU gives the native perplexity and generations', async () => {
  const line = await loadFolder(page, 'tiny-llama', 'auto');
  assert.match(line, /^Loaded tiny-llama \(LlamaForCausalLM\): .* on WebGPU \(GPU .+\)$/);
  await assertMatchesNative(page);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, 'evaluate-webgpu.png'), fullPage: true });
});

test('the tiny Llama on the CPU (WebAssembly) gives the native perplexity and generations', async () => {
  const line = await loadFolder(page, 'tiny-llama', 'cpu');
  assert.match(line, /^Loaded tiny-llama .* on the CPU \(CPU \(burn flex\) in WebAssembly\)\.$/);
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
  const broken = await loadFolder(page, 'broken-weights', 'cpu');
  assert.equal(broken, 'No model loaded.');
  assert.match(await page.locator('#eval-error').textContent(),
    /broken-weights\/model\.safetensors: malformed safetensors header/);
  assert.equal(await page.locator('#eval-error').getAttribute('data-kind'), 'MalformedHeader');
  await loadFolder(page, 'no-tokenizer', 'cpu');
  assert.match(await page.locator('#eval-error').textContent(), /no-tokenizer\/tokenizer\.json.*missing/);
  assert.equal(await page.getByRole('button', { name: 'Generate' }).isDisabled(), true);
});

test('the merge result can be evaluated: a linear merge of the fixture with itself', async () => {
  const slot = (n) => page.getByRole('group', { name: `Model ${n}`, exact: true });
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
  assert.equal(await page.getByLabel('Evaluate', { exact: true }).inputValue(), 'merged');
  await page.getByLabel('Run on').selectOption('cpu');
  assert.match(await loadChosen(page), /^Loaded self-merge \(LlamaForCausalLM\)/);
  const got = await measurePerplexity(page);
  assert.ok(Math.abs(got.perplexity / native.perplexity - 1) < PERPLEXITY_TOLERANCE,
    `merged perplexity ${got.perplexity} vs the fixture's ${native.perplexity}`);
});

test('without WebGPU the panel names the CPU fallback and why', async () => {
  const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const cpuPage = await openPlayground(plain);
    const line = await loadFolder(cpuPage, 'tiny-llama', 'auto');
    assert.match(line, /on the CPU \(CPU \(burn flex\) in WebAssembly\)\. WebGPU was not used: .+/);
    const got = await measurePerplexity(cpuPage);
    assert.ok(Math.abs(got.perplexity / native.perplexity - 1) < PERPLEXITY_TOLERANCE);
  } finally {
    await plain.close();
  }
});
