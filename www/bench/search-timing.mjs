// Evaluations per second of a search in the page's Search panel (headless Chromium) against
// `mixmerge search` on the same file, natively, in the same run: demo/search/linear.yml cut to
// EVALUATIONS evaluations (default 30) on DEVICE (cpu, or auto = WebGPU: SwiftShader here), RUNS
// runs each (default 3; the median is printed). The search's own time only: loading the models
// and the held-out baselines are not counted (the page's status and search.json say so).
// Run: make browser-search (or node bench/search-timing.mjs from www/, after make wasm).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { WWW, startPanelSession } from '../tests/eval-page.mjs';

const DEVICE = process.env.DEVICE ?? 'cpu';
const EVALUATIONS = Number(process.env.EVALUATIONS ?? 30);
const RUNS = Number(process.env.RUNS ?? 3);
const MIXMERGE = process.env.MIXMERGE_EVAL ?? 'mixmerge';

const text = fs.readFileSync(path.join(WWW, 'demo/search/linear.yml'), 'utf8')
  .replace('evaluations: 300', `evaluations: ${EVALUATIONS}`)
  .replace(/\n  baselines: .*\n/, '\n');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function native(threads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'search-timing-'));
  const file = path.join(WWW, 'demo/search', `.timing-${process.pid}.yml`);
  fs.writeFileSync(file, text);
  try {
    execFileSync(MIXMERGE, ['search', file, path.join(dir, 'out'), '--quiet', '--threads', String(threads)]);
    return JSON.parse(fs.readFileSync(path.join(dir, 'out/search.json'), 'utf8')).evaluations_per_second;
  } finally {
    fs.rmSync(file, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const lines = [];
const session = await startPanelSession(lines, 'Open search');
try {
  const { page } = session;
  await page.waitForFunction(() => /^Ready/.test(document.getElementById('search-status').textContent),
    null, { timeout: 600_000 });
  await page.getByLabel('Search on').selectOption(DEVICE);
  await page.getByLabel(/^Search file/).fill(text);
  const tab = [];
  const cli = { 1: [], 2: [] };
  for (let run = 0; run < RUNS; run++) {
    await page.locator('#search-table').evaluate((el) => { delete el.dataset.log; });
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction(() => document.getElementById('search-table').dataset.log
      || document.getElementById('search-error').textContent, null, { timeout: 3_600_000 });
    const status = await page.locator('#search-status').textContent();
    tab.push(Number(/\(([\d.]+) per second\)/.exec(status)[1]));
    for (const threads of [1, 2]) cli[threads].push(native(threads));
  }
  const kind = await page.locator('#search-status').getAttribute('data-device');
  console.log(`${EVALUATIONS} evaluations of demo/search/linear.yml, median of ${RUNS}, alternating:`);
  console.log(`  page (${DEVICE} → ${kind}): ${median(tab).toFixed(2)} evaluations/s  [${tab.join(', ')}]`);
  for (const threads of [1, 2]) {
    console.log(`  native, ${threads} thread(s): ${median(cli[threads]).toFixed(2)} evaluations/s  [${cli[threads].map((x) => x.toFixed(2)).join(', ')}]`);
  }
} finally {
  lines.length = 0; // the page's console is not the benchmark's output
  await session.close();
}
