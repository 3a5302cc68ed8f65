// The playground's "done when": two ~135M-parameter bf16 fine-tunes (synthetic, sharded) merged
// with TIES in headless Chromium on WebGPU (SwiftShader), saved to OPFS, compared byte for byte
// with the native CLI's output; prints wall times and the browser's peak memory (RSS of the
// renderer — page and worker — and of the GPU process, sampled every 250 ms).
//
// `make browser-135m` runs it. Env: MIXMERGE (native binary, release), CHROMIUM, WORK_DIR
// (synthetic models are kept there between runs), DEVICE (`auto` or `cpu`).

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
const WORK = process.env.WORK_DIR ?? path.join(os.tmpdir(), 'mixmerge-135m');
const DEVICE = process.env.DEVICE ?? 'auto';
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

function synthesize() {
  for (const [name, variant] of MODELS) {
    const dir = path.join(WORK, 'models', name);
    if (fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) continue;
    execFileSync(MIXMERGE, ['synth', dir, '--shape', '135m', '--variant', String(variant),
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

/// Resident memory (bytes) of the browser's processes by type (`browser`, `renderer`, `GPU`, …),
/// the largest process of each type, from the process ids Chromium reports over CDP.
async function processMemory(cdp) {
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  const byType = {};
  for (const { type, id } of processInfo) {
    const status = fs.readFileSync(`/proc/${id}/status`, 'utf8');
    const rss = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
    byType[type] = Math.max(byType[type] ?? 0, rss);
  }
  return byType;
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
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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

    const peak = {};
    const sample = async () => {
      const now = await processMemory(cdp).catch(() => ({}));
      for (const [type, bytes] of Object.entries(now)) peak[type] = Math.max(peak[type] ?? 0, bytes);
    };
    await sample();
    const idle = { ...peak };
    const sampler = setInterval(sample, 250);
    const progress = setInterval(async () => {
      console.log(`  ${await page.locator('#progress-text').textContent().catch(() => '')}`);
    }, 30_000);
    const started = performance.now();
    await page.getByRole('button', { name: 'Merge', exact: true }).click();
    await page.waitForFunction(() => !document.getElementById('result').hidden
      || document.getElementById('run-error').textContent, null, { timeout: 0, polling: 500 });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    clearInterval(progress);
    await sample();
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
    return { seconds, device, peak, idle, hashes };
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
  const same = JSON.stringify(run.hashes) === JSON.stringify(sliceHashes(native.out));
  const lines = [
    `TIES, 135M-parameter bf16, 2 fine-tunes + base (synthetic, 100 MB shards)`,
    `browser (${DEVICE}): ${run.seconds.toFixed(1)} s — ${run.device}`,
    `native CLI: ${native.seconds.toFixed(2)} s`,
    `peak RSS: renderer (page + worker) ${mb(run.peak.renderer ?? 0)} (idle ${mb(run.idle.renderer ?? 0)}), ` +
      `GPU process ${mb(run.peak.GPU ?? 0)}, browser ${mb(run.peak.browser ?? 0)}`,
    `output identical to the native CLI: ${same ? 'yes' : 'NO'}`,
  ];
  console.log(lines.join('\n'));
  if (!same) process.exitCode = 1;
  if ((run.peak.renderer ?? 0) >= 400e6) {
    console.log('page memory is not under 400 MB');
    process.exitCode = 1;
  }
} finally {
  await server.close();
}
