// The page out of the box, in headless Chromium: it starts from the demo shipped in www/demo
// (no file picked), merges it as the native CLI merges the same recipe file, and draws the
// task-vector anatomy whose numbers and picture are the text `mixmerge sweep anatomy` writes.
// Models and recipes are read from www/demo/scores.json and recipes/index.json, never named here.
//
// Needs: www/pkg (make wasm-merge), the native binary in $MIXMERGE, /usr/bin/chromium.

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
const DEMO = path.join(WWW, 'demo');
const MIXMERGE = process.env.MIXMERGE ?? 'mixmerge';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

const scored = Object.keys(JSON.parse(fs.readFileSync(path.join(DEMO, 'scores.json'), 'utf8')).scores);
const recipes = JSON.parse(fs.readFileSync(path.join(DEMO, 'recipes', 'index.json'), 'utf8')).recipes;

let tmp, server, browser, page;
const consoleLines = [];

function mixmerge(...args) {
  return execFileSync(MIXMERGE, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-demo-'));
  server = await serve(WWW);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
});

after(async () => {
  if (consoleLines.length) console.log(consoleLines.join('\n'));
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/// {file: sha256} of a folder on disk, or of the output folder `name` in the page's OPFS.
function hashes(dir) {
  return Object.fromEntries(fs.readdirSync(dir).map((f) =>
    [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}


async function mergeInPage(outName, device) {
  await page.getByLabel('Merge on').selectOption(device);
  await page.getByLabel('Output folder name').fill(outName);
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForFunction(() => !document.getElementById('result').hidden
    || document.getElementById('run-error').textContent, null, { timeout: 120_000 });
  assert.equal(await page.locator('#run-error').textContent(), '');
  return savedFiles(page, outName);
}

function mergeNatively(recipeFile, outName) {
  const out = path.join(tmp, outName);
  mixmerge('merge', path.join(DEMO, 'recipes', recipeFile), out, '--quiet');
  return hashes(out);
}

/// The demo folders a recipe names (`base_model:` and each `model:`, relative to recipes/).
function recipeModels(file) {
  const yaml = fs.readFileSync(path.join(DEMO, 'recipes', file), 'utf8');
  const names = [...yaml.matchAll(/^\s*(?:-\s*)?(?:base_model|model):\s*(\S+)\s*$/gm)].map((m) => path.basename(m[1]));
  return [...new Set(names)];
}

test('a fresh page holds the demo models and recipe, and merges them as the native CLI', async () => {
  const names = await page.locator('fieldset.slot [data-id=name]').evaluateAll((els) => els.map((e) => e.value));
  const needed = recipeModels(recipes[0].file);
  assert.ok(needed.every((m) => scored.includes(m)), `the first recipe's models are scored demo models: ${needed}`);
  assert.deepEqual([...names].sort(), needed.sort(), "the first recipe's models are in the slots");
  const yaml = await page.getByLabel('Merge config (YAML)').inputValue();
  assert.equal(yaml, fs.readFileSync(path.join(DEMO, 'recipes', recipes[0].file), 'utf8'), 'the first recipe, as written');
  await page.locator('#plan').filter({ hasText: 'Plan:' }).waitFor({ timeout: 20_000 });
  const files = await mergeInPage('demo-default', 'auto');
  assert.match(await page.locator('#result-device').textContent(), /^Merged on WebGPU/);
  assert.deepEqual(files, mergeNatively(recipes[0].file, 'demo-default'));
});

test('another demo recipe from the chooser merges on the CPU as the native CLI', async () => {
  const other = recipes.at(-1);
  await page.getByLabel('Demo recipe').selectOption(other.file);
  await page.waitForFunction((text) => document.getElementById('yaml').value === text,
    fs.readFileSync(path.join(DEMO, 'recipes', other.file), 'utf8'));
  await page.locator('#plan').filter({ hasText: 'Plan:' }).waitFor({ timeout: 20_000 });
  const files = await mergeInPage('demo-other', 'cpu');
  assert.deepEqual(files, mergeNatively(other.file, 'demo-other'));
});

/// The page's anatomy JSON and SVG (from its download links) once drawn for `tensor`.
async function pageAnatomy() {
  await page.locator('#anatomy-figure:not([aria-busy]) svg').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('#anatomy-error').textContent(), '');
  const read = (id) => page.evaluate(async (id) => (await fetch(document.getElementById(id).href)).text(), id);
  return { json: await read('anatomy-json'), svg: await read('anatomy-svg') };
}

function cliAnatomy(report, extra = []) {
  const json = path.join(tmp, 'anatomy.json');
  const svg = path.join(tmp, 'anatomy.svg');
  mixmerge('sweep', 'anatomy', '--base', path.join(DEMO, report.base),
    '--models', ...report.models.map((m) => path.join(DEMO, m)), ...extra, '--json', json, '--svg', svg);
  return { json: fs.readFileSync(json, 'utf8'), svg: fs.readFileSync(svg, 'utf8') };
}

test('the anatomy of the demo experts is drawn, with the CLI\'s numbers and picture', async () => {
  const shown = await pageAnatomy();
  const report = JSON.parse(shown.json);
  assert.deepEqual([report.base, ...report.models].sort(), [...scored].sort());
  const native = cliAnatomy(report);
  assert.equal(shown.json, native.json, 'the page\'s numbers are the CLI\'s --json');
  assert.equal(shown.svg, native.svg, 'the page\'s figure is the CLI\'s --svg');
  // The figure in the page: the masks (TIES and DARE per expert, the elected sign) as images.
  const experts = report.models.length;
  assert.equal(await page.locator('#anatomy-figure svg image').count(), 2 * experts + 1);
  const status = await page.locator('#anatomy-status').textContent();
  assert.match(status, /cosine -?\d\.\d{3}, sign conflict \d\.\d{3}/);
  console.log(`anatomy in the page: ${status.match(/Computed in .*/)[0]}`);
  const box = await page.locator('#anatomy-figure svg').boundingBox();
  assert.ok(box.width > 400 && box.height > 400, JSON.stringify(box));
});

test('another tensor, density and seed redraw the anatomy as the CLI does', async () => {
  const tensors = await page.getByLabel('Tensor', { exact: true }).locator('option').evaluateAll((o) => o.map((e) => e.value));
  const tensor = tensors.at(-1);
  await page.getByLabel('Mask density', { exact: true }).fill('0.3');
  await page.getByLabel('Mask seed', { exact: true }).fill('5');
  await page.getByLabel('Tensor', { exact: true }).selectOption(tensor);
  await page.waitForFunction((t) => document.getElementById('anatomy-figure').dataset.tensor === t
    && !document.getElementById('anatomy-figure').hasAttribute('aria-busy'), tensor, { timeout: 60_000 });
  const shown = await pageAnatomy();
  const report = JSON.parse(shown.json);
  assert.equal(report.masks.tensor, tensor);
  assert.deepEqual([report.masks.density, report.masks.seed], [0.3, 5]);
  const native = cliAnatomy(report, ['--tensor', tensor, '--density', '0.3', '--seed', '5']);
  assert.equal(shown.json, native.json);
  assert.equal(shown.svg, native.svg);
});

test('starting from your own models leaves two empty slots and no demo', async () => {
  await page.getByLabel('Start from').selectOption('own');
  await page.waitForFunction(() => document.querySelectorAll('fieldset.slot').length === 2);
  assert.equal(await page.getByLabel('Demo recipe').isVisible(), false);
  assert.equal(await page.locator('#anatomy-figure svg').count(), 0, 'the demo\'s figure is gone');
  await assert.doesNotReject(page.locator('#plan').filter({ hasText: 'Pick the models' }).waitFor({ timeout: 5_000 }));
});
