// The Search panel end to end in headless Chromium: a small seeded search over the demo experts
// makes the same evaluations as `mixmerge search` on the same file (points exactly, counts
// exactly, losses within a tolerance), on WebGPU (SwiftShader) and on the CPU, on task sets and
// on a text's perplexity; its best point goes to the Merge panel as a recipe; a bad search file
// is reported by its key.
//
// Needs: www/pkg with mixmerge and mixmerge_eval (make wasm), the native CLI built with
// `--features eval` in $MIXMERGE_EVAL, /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WWW, mixmergeEval, startPanelSession } from './eval-page.mjs';

const DEMO = path.join(WWW, 'demo');
// Small: SwiftShader runs burn's kernels on the CPU.
const SEARCH = `merge_method: task_arithmetic
base_model: ../base
models:
  - model: ../sorting
    parameters: {weight: 0.5}
  - model: ../unique
    parameters: {weight: 0.5}
dtype: float32
out_dtype: float32
search:
  parameters: [{name: weight, bounds: [0, 1.5]}]
  objectives:
    - {name: sorting, tasks: [sorting], metric: char_accuracy}
    - {name: unique, tasks: [unique], metric: char_accuracy}
  optimiser: {kind: pareto, evaluations: 8, runs: 2, population: 3}
  seed: 3
  data: {tasks: ../tasks, search_examples: 3, held_out_examples: 3}
  baselines: [../recipes/task_arithmetic.yml]
`;
// SwiftShader takes ~10 s an evaluation: on WebGPU, a two-point grid over one expert's weight
// (2 evaluations, then the base and the expert alone and the result on both splits).
const SEARCH_GPU = `merge_method: task_arithmetic
base_model: ../base
models:
  - model: ../unique
    parameters: {weight: 0.5}
dtype: float32
out_dtype: float32
search:
  parameters: [{name: weight, bounds: [0, 1]}]
  objectives: [{tasks: [unique], metric: exact_match}]
  optimiser: {kind: grid, points: 2}
  data: {tasks: ../tasks, search_examples: 2, held_out_examples: 2}
`;
// A text's perplexity, and no task sets: the page fetches the text the file names.
const SEARCH_TEXT = `merge_method: linear
models:
  - model: ../base
    parameters: {weight: 0.5}
  - model: ../unique
    parameters: {weight: 0.5}
dtype: float32
out_dtype: float32
search:
  parameters: [{name: weight, models: [unique], bounds: [0, 1]}]
  objectives: [{metric: perplexity}]
  optimiser: {kind: grid, points: 3}
  data: {text: ../texts/transcripts.txt, window: 128}
`;
const LOSS_TOLERANCE = 1e-3;
const SLOW = 600_000;

let tmp, session, page;
const native = {};
const lines = [];

/// `mixmerge search` on `text`, from a folder laid out like demo/ (links to its models).
function nativeSearch(name, text) {
  const root = path.join(tmp, 'demo');
  if (!fs.existsSync(root)) {
    fs.mkdirSync(path.join(root, 'search'), { recursive: true });
    for (const entry of ['base', 'sorting', 'unique', 'successors', 'tasks', 'texts', 'recipes']) {
      fs.symlinkSync(path.join(DEMO, entry), path.join(root, entry));
    }
  }
  const file = path.join(root, 'search', `${name}.yml`);
  fs.writeFileSync(file, text);
  const out = path.join(tmp, name);
  mixmergeEval('search', file, out, '--quiet');
  const read = (name) => JSON.parse(fs.readFileSync(path.join(out, name), 'utf8'));
  return { log: read('evaluations.json'), summary: read('search.json') };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-search-'));
  native.cpu = nativeSearch('cpu', SEARCH);
  native.auto = nativeSearch('auto', SEARCH_GPU);
  native.text = nativeSearch('text', SEARCH_TEXT);
  session = await startPanelSession(lines, 'Open search');
  page = session.page;
  await page.waitForFunction(() => /^Ready/.test(document.getElementById('search-status').textContent)
    || document.getElementById('search-error').textContent, null, { timeout: SLOW });
  assert.equal(await page.locator('#search-error').textContent(), '');
});

after(async () => {
  await session?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/// Runs the search file `text` in the page: {log, outcome} from the table's data, or the error.
async function search(text) {
  await page.getByLabel(/^Search file/).fill(text);
  await page.locator('#search-table').evaluate((el) => { delete el.dataset.log; });
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('search-table').dataset.log
    || document.getElementById('search-error').textContent, null, { timeout: SLOW });
  const error = await page.locator('#search-error').textContent();
  if (error) return { error };
  const table = page.locator('#search-table');
  return {
    log: JSON.parse(await table.getAttribute('data-log')),
    outcome: JSON.parse(await table.getAttribute('data-outcome')),
  };
}

/// Equal structure; points and counts exactly, losses within the tolerance.
function assertSame(got, want, where) {
  if (typeof want === 'number') {
    if (where.endsWith('answer_loss') || /held_out\[|search\[|objectives\[|scalar|^baselines/.test(where)) {
      assert.ok(Math.abs(got - want) <= LOSS_TOLERANCE * Math.max(1, Math.abs(want)), `${where}: ${got} vs ${want}`);
    } else {
      assert.equal(got, want, where);
    }
  } else if (Array.isArray(want)) {
    assert.equal(got.length, want.length, `${where}: length`);
    want.forEach((w, i) => assertSame(got[i], w, `${where}[${i}]`));
  } else if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: keys`);
    for (const key of Object.keys(want)) assertSame(got[key], want[key], `${where}.${key}`);
  } else {
    assert.equal(got, want, where);
  }
}

for (const [name, device, text] of [['auto', 'auto', SEARCH_GPU], ['text', 'cpu', SEARCH_TEXT], ['cpu', 'cpu', SEARCH]]) {
  test(`the page's search makes mixmerge search's evaluations (${name})`, { timeout: 2 * SLOW }, async () => {
    await page.getByLabel('Search on').selectOption(device);
    const started = Date.now();
    const { log, outcome, error } = await search(text);
    assert.equal(error, undefined, error);
    assertSame(log, native[name].log, 'log');
    const summary = native[name].summary;
    assert.deepEqual(outcome.results.map((r) => r.name), summary.results.map((r) => r.name));
    assertSame(outcome.baselines.map((b) => [b.name, b.search, b.held_out]),
      summary.baselines.map((b) => [b.name, b.search, b.held_out]), 'baselines');
    // Two objectives: the front is drawn, with a point per chosen evaluation.
    const front = await page.locator('#search-front svg circle[data-front]').count();
    assert.equal(front, log.objectives.length > 1 ? log.chosen.length : 0);
    assert.equal(await page.locator('#search-convergence svg circle[data-index]').count(), log.evaluations.length);
    const kind = await page.locator('#search-status').getAttribute('data-device');
    const seconds = (Date.now() - started) / 1000;
    console.log(`search (${device} → ${kind}): ${log.evaluations.length} evaluations and the baselines in ` +
      `${seconds.toFixed(1)} s; native ${summary.evaluations_per_second.toFixed(2)} evaluations/s`);
  });
}

test('"Merge this" puts the point\'s recipe in the Merge panel', { timeout: SLOW }, async () => {
  await page.locator('#search-table tbody tr').first().getByRole('button', { name: 'Merge this' }).click();
  await page.waitForFunction(() => /weight: 0\.\d|weight: 1/.test(document.getElementById('yaml').value)
    && document.getElementById('yaml').value.includes('../sorting'), null, { timeout: SLOW });
  const yaml = await page.locator('#yaml').inputValue();
  const recipe = JSON.parse(await page.locator('#search-table').getAttribute('data-outcome')).results[0].recipe;
  assert.equal(yaml, recipe);
  assert.equal(await page.locator('#config-error').textContent(), '');
});

test('Stop ends a running search', { timeout: SLOW }, async () => {
  await page.getByLabel('Search on').selectOption('cpu');
  await page.getByLabel(/^Search file/).fill(SEARCH.replace('evaluations: 8', 'evaluations: 300'));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForFunction(() => /evaluations \(/.test(document.getElementById('search-status').textContent),
    null, { timeout: SLOW });
  await page.getByRole('button', { name: 'Stop' }).and(page.locator('#search-stop')).click();
  await page.waitForFunction(() => document.getElementById('search-status').textContent === 'Stopped.', null,
    { timeout: SLOW });
  assert.equal(await page.locator('#search-error').textContent(), '');
  assert.equal(await page.locator('#search-run').isDisabled(), false);
});

test('a bad search file is reported by its key', { timeout: SLOW }, async () => {
  const { error } = await search(SEARCH.replace('{name: weight,', '{name: wieght,'));
  assert.match(error, /search\.parameters\[0\]\.name: unknown parameter `wieght`/);
});
