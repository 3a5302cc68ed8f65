// The playground's "done when": two ~135M-parameter bf16 fine-tunes (synthetic, sharded) merged
// with TIES in headless Chromium on WebGPU (SwiftShader), saved to OPFS, compared byte for byte
// with the native CLI's output; prints wall times and the page's peak memory.
//
// Page memory, sampled every 250 ms from /proc (see `pageMemory`): the resident memory (RSS) of
// the renderer the page opened (page and worker share it), whole, plus what the merge adds to
// the browser's other processes (the GPU process, where SwiftShader runs the WebGPU work: its
// buffers and staging; the browser and utility processes: blob reads, OPFS writes) over their
// RSS just before the merge. RSS counts memory shared between two processes in both, so this
// errs high. Also printed: everything the page added to the browser since before it opened
// (its WebGPU device, the network and storage services it started, …).
//
// `make browser-135m` runs it. Env: MIXMERGE (native binary, release), CHROMIUM, WORK_DIR
// (synthetic models are kept there between runs), SHAPE (a `mixmerge synth` shape, default
// 135m), DEVICE (`auto` or `cpu`), STOP_AFTER
// (seconds: cancel the merge then and report the memory so far — a cheap proxy while iterating),
// TRACE (seconds between memory lines, default 30).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../tests/serve.mjs';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIXMERGE = process.env.MIXMERGE ?? 'mixmerge';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHAPE = process.env.SHAPE ?? '135m';
const WORK = process.env.WORK_DIR ?? path.join(os.tmpdir(), `mixmerge-${SHAPE}`);
const DEVICE = process.env.DEVICE ?? 'auto';
const STOP_AFTER = Number(process.env.STOP_AFTER ?? 0);
const TRACE = Number(process.env.TRACE ?? 30);
const SLICE = 8 << 20;
const MODELS = [['base', 0], ['expert-a', 1], ['expert-b', 2]];
const YAML = `merge_method: ties
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

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function synthesize() {
  for (const [name, variant] of MODELS) {
    const dir = path.join(WORK, 'models', name);
    if (fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) continue;
    execFileSync(MIXMERGE, ['synth', dir, '--shape', SHAPE, '--variant', String(variant),
      '--shard-size', '100M'], { stdio: 'inherit' });
  }
}

function mergeNatively() {
  const config = path.join(WORK, 'models', 'ties.yml');
  fs.writeFileSync(config, YAML);
  const out = path.join(WORK, 'native');
  const started = performance.now();
  execFileSync(MIXMERGE, ['merge', config, out, '--overwrite', '--quiet'], { stdio: 'inherit' });
  return { seconds: (performance.now() - started) / 1000, out };
}

/// {file: [sha256 of each 8 MiB slice]} of a folder on disk.
function sliceHashes(dir) {
  const files = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const bytes = fs.readFileSync(path.join(dir, name));
    files[name] = [];
    for (let at = 0; at < bytes.length || at === 0; at += SLICE) {
      files[name].push(createHash('sha256').update(bytes.subarray(at, at + SLICE)).digest('hex'));
      if (bytes.length === 0) break;
    }
  }
  return files;
}

/// Resident memory of one process (bytes): total, anonymous and shared-memory parts.
function residentMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), shmem: kb('RssShmem') };
}

/// {pid: {type, rss, anon, shmem}} of the browser's processes, from the ids Chromium reports
/// over CDP.
async function processMemory(cdp) {
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  const processes = {};
  for (const { type, id } of processInfo) {
    try {
      processes[id] = { type, ...residentMemory(id) };
    } catch { /* exited between the listing and the read */ }
  }
  return processes;
}

/// What the page costs now: the whole RSS of renderers started after `before` (the page's),
/// and the growth of every other process over its RSS in `baseline`.
function pageMemory(now, baseline, before) {
  const parts = { total: 0, renderer: 0, GPU: 0, other: 0, gpuRss: 0 };
  for (const [pid, p] of Object.entries(now)) {
    const grown = Math.max(0, p.rss - (baseline[pid]?.rss ?? 0));
    if (p.type === 'renderer' && !before[pid]) parts.renderer += p.rss;
    else if (p.type === 'GPU') parts.GPU += grown;
    else parts.other += grown;
    if (p.type === 'GPU') parts.gpuRss += p.rss;
  }
  parts.total = parts.renderer + parts.GPU + parts.other;
  return parts;
}

/// Bytes of the worker's wasm memory (it only ever grows), or 0 before the engine is loaded.
async function wasmMemory(page) {
  for (const worker of page.workers()) {
    const bytes = await worker.evaluate(async () => {
      const engine = await import('./pkg/mixmerge.js');
      return (await engine.default()).memory.buffer.byteLength;
    }).catch(() => 0);
    if (bytes) return bytes;
  }
  return 0;
}

async function mergeInBrowser(server) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-unsafe-webgpu'],
  });
  const cdp = await browser.newBrowserCDPSession();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const before = await processMemory(cdp);
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`pageerror: ${e.message}`));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    console.log(await page.locator('#device').textContent());
    await page.getByLabel('Merge config (YAML)').fill(YAML);
    await page.getByRole('button', { name: 'Apply YAML to form' }).click();
    for (let n = 1; n <= 3; n++) {
      const slot = page.getByRole('group', { name: `Model ${n}`, exact: true });
      const name = await slot.getByLabel('Name').inputValue();
      await slot.getByLabel('Folder').setInputFiles(path.join(WORK, 'models', name));
      await slot.locator('[data-id=summary]').filter({ hasText: 'tensors' }).waitFor({ timeout: 60_000 });
    }
    await page.getByLabel('Merge on').selectOption(DEVICE);
    await page.getByLabel('Output folder name').fill('ties-135m');
    await page.waitForFunction(() => /Plan:/.test(document.getElementById('plan').textContent));

    // Page memory counts the other processes' growth from here on; `sincePage` from before
    // the page opened.
    const atStart = await processMemory(cdp);
    const idle = pageMemory(atStart, atStart, before);
    let peak = idle;
    let peakSincePage = pageMemory(atStart, before, before);
    const sample = async () => {
      const processes = await processMemory(cdp).catch(() => ({}));
      const now = pageMemory(processes, atStart, before);
      const sincePage = pageMemory(processes, before, before);
      if (now.total > peak.total) peak = now;
      if (sincePage.total > peakSincePage.total) peakSincePage = sincePage;
      return now;
    };
    const sampler = setInterval(sample, 250);
    const started = performance.now();
    const tracer = setInterval(async () => {
      const now = await sample();
      const text = await page.locator('#progress-text').textContent().catch(() => '');
      const elapsed = ((performance.now() - started) / 1000).toFixed(0);
      console.log(`  ${elapsed} s: page ${mb(now.total)} (renderer ${mb(now.renderer)}, ` +
        `GPU process +${mb(now.GPU)}, other +${mb(now.other)}; wasm ${mb(await wasmMemory(page))}), ` +
        `peak ${mb(peak.total)} — ${text}`);
    }, TRACE * 1000);
    await page.getByRole('button', { name: 'Merge', exact: true }).click();
    const finished = page.waitForFunction(() => !document.getElementById('result').hidden
      || document.getElementById('run-error').textContent, null, { timeout: 0, polling: 500 });
    const stopped = STOP_AFTER > 0
      && await Promise.race([finished.then(() => false), sleep(STOP_AFTER * 1000).then(() => true)]);
    if (stopped) await page.getByRole('button', { name: 'Cancel' }).click();
    else await finished;
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    clearInterval(tracer);
    await sample();
    const wasm = await wasmMemory(page);
    if (stopped) return { seconds, stopped, peak, peakSincePage, idle, wasm };
    const error = await page.locator('#run-error').textContent();
    if (error) throw new Error(`the page's merge failed: ${error}`);
    const device = await page.locator('#result-device').textContent();
    const hashes = await page.evaluate(async (slice) => {
      const root = await navigator.storage.getDirectory();
      const dir = await (await root.getDirectoryHandle('mixmerge')).getDirectoryHandle('ties-135m');
      const files = {};
      const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
      for await (const [name, handle] of dir.entries()) {
        const file = await handle.getFile();
        files[name] = [];
        for (let at = 0; at < file.size || at === 0; at += slice) {
          const bytes = await file.slice(at, at + slice).arrayBuffer();
          files[name].push(hex(await crypto.subtle.digest('SHA-256', bytes)));
          if (file.size === 0) break;
        }
      }
      return Object.fromEntries(Object.entries(files).sort());
    }, SLICE);
    return { seconds, device, peak, peakSincePage, idle, wasm, hashes };
  } finally {
    await browser.close();
  }
}

synthesize();
const native = mergeNatively();
console.log(`native CLI: ${native.seconds.toFixed(2)} s`);
const server = await serve(WWW);
try {
  const run = await mergeInBrowser(server);
  const { peak, peakSincePage, idle } = run;
  const lines = [
    `TIES, ${SHAPE} bf16, 2 fine-tunes + base (synthetic, 100 MB shards)`,
    `browser (${DEVICE}): ${run.seconds.toFixed(1)} s${run.stopped ? ' (stopped early)' : ` — ${run.device}`}`,
    `native CLI: ${native.seconds.toFixed(2)} s`,
    `peak page memory: ${mb(peak.total)} = renderer (page + worker) ${mb(peak.renderer)} + the ` +
      `merge's growth of the GPU process ${mb(peak.GPU)} and of the other processes ${mb(peak.other)} ` +
      `(renderer before the merge ${mb(idle.renderer)}; worker's wasm memory ${mb(run.wasm)})`,
    `GPU process RSS: ${mb(idle.gpuRss)} before the merge, ${mb(peak.gpuRss)} at the peak`,
    `everything the page added to the browser since it opened, at its peak: ${mb(peakSincePage.total)} ` +
      `(renderer ${mb(peakSincePage.renderer)}, GPU process +${mb(peakSincePage.GPU)}, ` +
      `other processes +${mb(peakSincePage.other)})`,
  ];
  if (!run.stopped) {
    const same = JSON.stringify(run.hashes) === JSON.stringify(sliceHashes(native.out));
    lines.push(`output identical to the native CLI: ${same ? 'yes' : 'NO'}`);
    if (!same) process.exitCode = 1;
  }
  console.log(lines.join('\n'));
  if (peak.total >= 400e6) {
    console.log('page memory is not under 400 MB');
    process.exitCode = 1;
  }
} finally {
  await server.close();
}
