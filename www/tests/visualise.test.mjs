// The Visualise panel end to end in headless Chromium: it loads the demo experts from demo/
// by itself, draws the interpolation path and the plane, and their numbers (the report behind
// each picture and the picture's data-* attributes) match `mixmerge sweep path|plane --json` for
// the same settings, on WebGPU (SwiftShader) and on the CPU. Experts and tasks come from
// demo/scores.json, as the page reads them.
//
// Needs: www/pkg with mixmerge and mixmerge_eval (make wasm), the native CLI built with
// `--features eval` in $MIXMERGE_EVAL, /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { WWW, CHROMIUM, CHROMIUM_ARGS, mixmergeEval } from './eval-page.mjs';

const DEMO = path.join(WWW, 'demo');
// Small settings: SwiftShader runs burn's kernels on the CPU.
const EXAMPLES = 3;
const PATH = { points: 3, methods: 'linear,ties', samples: 2, alpha: 0.5 };
const PLANE = { grid: 2, min: 0, max: 1, merges: 'linear' };
// f32 inference on another backend: losses agree far closer than this.
const LOSS_TOLERANCE = 1e-3;
const SLOW = 600_000;

let tmp, server, browser, page;
const lines = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-visualise-'));
  server = await serve(WWW);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Open visualisation' }).click();
  await waitForLoad();
});

after(async () => {
  if (lines.length) console.log(lines.join('\n'));
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function waitForLoad() {
  await page.waitForFunction(() => /^Loaded/.test(document.getElementById('viz-status').textContent)
    || document.getElementById('viz-error').textContent, null, { timeout: SLOW });
  assert.equal(await page.locator('#viz-error').textContent(), '');
}

/// Sets the panel's inputs by their labels.
async function fill(values) {
  for (const [label, value] of Object.entries(values)) await page.getByLabel(label, { exact: true }).fill(String(value));
}

/// Clicks `button` and waits for the figure's report: {report, seconds}.
async function draw(button, figure) {
  await page.locator(figure).evaluate((el) => { el.replaceChildren(); delete el.dataset.report; });
  await page.getByRole('button', { name: button }).click();
  await page.waitForFunction((id) => document.querySelector(id).dataset.report
    || document.getElementById('viz-error').textContent, figure, { timeout: SLOW });
  assert.equal(await page.locator('#viz-error').textContent(), '');
  const el = page.locator(figure);
  return { report: JSON.parse(await el.getAttribute('data-report')), seconds: Number(await el.getAttribute('data-seconds')) };
}

/// `mixmerge sweep KIND ... --json` for the page's chosen pair.
function cliSweep(kind, a, b, ...args) {
  const out = path.join(tmp, `${kind}-${a}-${b}.json`);
  mixmergeEval('sweep', kind, '--demo', DEMO, '--a', a, '--b', b, '--examples', String(EXAMPLES), '--json', out, ...args);
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

/// The same numbers: structure and settings equal, losses within the tolerance.
function assertSameNumbers(got, want, where = 'report') {
  if (typeof want === 'number') {
    const close = Math.abs(got - want) <= LOSS_TOLERANCE * Math.max(1, Math.abs(want));
    assert.ok(close, `${where}: ${got} vs ${want}`);
  } else if (Array.isArray(want)) {
    assert.equal(got.length, want.length, `${where}: length`);
    want.forEach((w, i) => assertSameNumbers(got[i], w, `${where}[${i}]`));
  } else if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: keys`);
    for (const key of Object.keys(want)) {
      // Exact match is a count over a few examples: it must agree exactly.
      if (key === 'exact_match') assert.equal(got[key], want[key], `${where}.${key}`);
      else assertSameNumbers(got[key], want[key], `${where}.${key}`);
    }
  } else {
    assert.equal(got, want, where);
  }
}

/// Every data-* number of the drawn picture's `selector` elements, as the report says.
async function pictureValues(figure, selector) {
  return page.locator(`${figure} svg ${selector}`).evaluateAll((els) => els.map((el) => ({ ...el.dataset })));
}

for (const device of ['auto', 'cpu']) {
  test(`the path and the plane match mixmerge sweep (${device})`, { timeout: 2 * SLOW }, async () => {
    await page.getByLabel('Sweep on').selectOption(device);
    await fill({ 'Examples per task': EXAMPLES, Points: PATH.points, Methods: PATH.methods, 'M³ samples': PATH.samples,
      'M³ alpha': PATH.alpha });
    const a = await page.getByLabel('Expert A').inputValue();
    const b = await page.getByLabel('Expert B').inputValue();
    assert.notEqual(a, b);
    const scores = JSON.parse(fs.readFileSync(path.join(DEMO, 'scores.json'), 'utf8'));
    assert.ok(a in scores.scores && b in scores.scores, `${a}, ${b}`);

    const path_ = await draw('Draw path', '#viz-path-figure');
    const nativePath = cliSweep('path', a, b, '--points', String(PATH.points), '--methods', PATH.methods,
      '--samples', String(PATH.samples), '--alpha', String(PATH.alpha));
    assertSameNumbers(path_.report, nativePath, 'path');
    const points = await pictureValues('#viz-path-figure', 'circle.path-point');
    const tasks = nativePath.tasks.length;
    assert.equal(points.length, 2 * tasks * PATH.points * 2);
    for (const p of points) {
      const curve = nativePath.curves.find((c) => c.method === p.method);
      const at = curve.points.find((q) => q.lambda === Number(p.lambda));
      const score = at.scores.find((s) => s.task === p.task);
      assert.equal(Number(p.exactMatch), score.exact_match);
      assertSameNumbers(Number(p.answerLoss), score.answer_loss, `path picture ${p.method} ${p.task} λ ${p.lambda}`);
    }
    assert.equal((await pictureValues('#viz-path-figure', 'circle.mixup-point')).length, 2 * tasks * PATH.samples);
    assert.equal(await page.locator('#viz-path-figure svg polygon.beta-density').count(), tasks);

    await fill({ 'Grid points per axis': PLANE.grid, From: PLANE.min, To: PLANE.max, 'Merges to mark': PLANE.merges });
    const plane = await draw('Draw plane', '#viz-plane-figure');
    const nativePlane = cliSweep('plane', a, b, '--grid', String(PLANE.grid), '--min', String(PLANE.min),
      '--max', String(PLANE.max), '--merges', PLANE.merges);
    assertSameNumbers(plane.report, nativePlane, 'plane');
    const cells = await pictureValues('#viz-plane-figure', 'rect.plane-cell');
    assert.equal(cells.length, PLANE.grid ** 2 * (tasks + 1));
    for (const c of cells.filter((c) => nativePlane.tasks.includes(c.task))) {
      const cell = nativePlane.cells.find((q) => q.x === Number(c.x) && q.y === Number(c.y));
      const score = cell.scores.find((s) => s.task === c.task);
      assertSameNumbers(Number(c.answerLoss), score.answer_loss, `plane picture ${c.task} (${c.x}, ${c.y})`);
    }
    const markers = await pictureValues('#viz-plane-figure', 'g.plane-marker');
    assert.deepEqual([...new Set(markers.map((m) => m.label))], nativePlane.markers.map((m) => m.label));
    const kind = await page.locator('#viz-status').getAttribute('data-device');
    console.log(`visualise (${device} → ${kind}): path of ${PATH.points}×2 + ${PATH.samples} points in ` +
      `${path_.seconds.toFixed(1)} s, plane ${PLANE.grid}² + markers in ${plane.seconds.toFixed(1)} s`);
  });
}

test('a bad method is reported by name', { timeout: SLOW }, async () => {
  await fill({ Methods: 'linear,averaging' });
  await page.getByRole('button', { name: 'Draw path' }).click();
  await page.waitForFunction(() => document.getElementById('viz-error').textContent, null, { timeout: SLOW });
  assert.match(await page.locator('#viz-error').textContent(), /unknown method `averaging`/);
  await fill({ Methods: PATH.methods });
});
