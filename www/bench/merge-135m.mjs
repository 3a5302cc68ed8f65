// The playground's "done when": two ~135M-parameter bf16 fine-tunes (synthetic, sharded) merged
// with TIES in headless Chromium on WebGPU (SwiftShader), saved to OPFS, compared byte for byte
// with the native CLI's output; prints wall times and the page's peak memory.
//
// Page memory, sampled every 250 ms from /proc (see `pageMemory`): the resident memory (RSS) of
// the page's renderer (page and worker share it), whole, plus what the merge adds to
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

/// The browser's process type from its command line: `browser`, `renderer`, `GPU`, a utility's
/// service name, `zygote`, ….
function processType(pid) {
  // Chromium rewrites its children's command lines into one space-separated string.
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
  const value = (flag) => args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
  const type = value('type');
  if (!type) return 'browser';
  if (type === 'gpu-process') return 'GPU';
  return type === 'utility' ? (value('utility-sub-type') ?? type) : type;
}

/// The browser process started with `profile` and all its descendants.
function browserProcesses(profile) {
  const children = new Map();
  let root = null;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith('--type='))) {
        root = pid;
      }
    } catch { /* exited meanwhile */ }
  }
  const found = [];
  for (let queue = root ? [root] : []; queue.length;) {
    const pid = queue.pop();
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/// {pid: {type, rss, anon, shmem}} of the browser's processes.
function processMemory(profile) {
  const processes = {};
  for (const pid of browserProcesses(profile)) {
    try {
      processes[pid] = { type: processType(pid), ...residentMemory(pid) };
    } catch { /* exited between the listing and the read */ }
  }
  return processes;
}

/// The page's renderer (the page and its worker share one): the one that grew most since
/// `before` (Chromium keeps a spare renderer ready, so the page's may predate the page).
function pageRenderer(now, before) {
  const grown = ([pid, p]) => p.rss - (before[pid]?.rss ?? 0);
  const renderers = Object.entries(now).filter(([, p]) => p.type === 'renderer');
  return renderers.sort((a, b) => grown(b) - grown(a))[0]?.[0];
}

/// What the page costs now: the whole RSS of its renderer, and the growth of every other
/// process over its RSS in `baseline`.
function pageMemory(now, baseline, renderer) {
  const parts = { total: 0, renderer: 0, GPU: 0, other: 0, gpuRss: 0 };
  for (const [pid, p] of Object.entries(now)) {
    const grown = Math.max(0, p.rss - (baseline[pid]?.rss ?? 0));
    if (pid === renderer) parts.renderer += p.rss;
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
  // A profile on disk, as a person's browser has: in a throwaway (incognito) context Chromium
  // keeps the origin private file system, and so the merged model, in memory.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mixmerge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-unsafe-webgpu'],
  });
  try {
    const before = processMemory(profile);
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
    const atStart = processMemory(profile);
    const renderer = pageRenderer(atStart, before);
    const idle = pageMemory(atStart, atStart, renderer);
    let peak = idle;
    let peakSincePage = pageMemory(atStart, before, renderer);
    const sample = async () => {
      const processes = processMemory(profile);
      const now = pageMemory(processes, atStart, renderer);
      const sincePage = pageMemory(processes, before, renderer);
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
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
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
