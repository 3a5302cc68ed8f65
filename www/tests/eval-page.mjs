// Driving the Evaluate panel as a person would (labels and buttons), for the browser tests.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

export const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MIXMERGE_EVAL = process.env.MIXMERGE_EVAL ?? 'mixmerge';

/// The native CLI (built with `--features eval`).
export function mixmergeEval(...args) {
  return execFileSync(MIXMERGE_EVAL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/// `mixmerge eval --per-token` on `model`: {perplexity, logProbs}.
export function nativePerplexity(model, textFile) {
  const report = mixmergeEval('eval', model, '--text', textFile, '--per-token');
  return {
    perplexity: Number(/^perplexity: (\S+)$/m.exec(report)[1]),
    logProbs: report.split('\n').filter((l) => /^\d+\t/.test(l)).map((l) => Number(l.split('\t')[2])),
  };
}

/// `mixmerge generate` on `model`: the continuation of `prompt` only.
export function nativeContinuation(model, prompt, ...args) {
  const out = mixmergeEval('generate', model, '--prompt', prompt, ...args);
  assert.ok(out.startsWith(prompt), out);
  return out.slice(prompt.length).replace(/\n$/, '');
}

/// A fresh playground page with the panel behind `button` open; console lines go to `lines`.
export async function openPanel(browser, url, lines, button) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.getByRole('button', { name: button }).click();
  return page;
}

/// A fresh playground page with the Evaluate panel open; console lines go to `lines`.
export function openEvaluate(browser, url, lines) {
  return openPanel(browser, url, lines, 'Open evaluation');
}

/// www/ served, Chromium (WebGPU on) launched and the panel behind `button` opened; `close()`
/// prints the page's console lines and stops both.
export async function startPanelSession(lines, button = 'Open evaluation') {
  const server = await serve(WWW);
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  }).catch(async (e) => { await server.close(); throw e; });
  const page = await openPanel(browser, server.url, lines, button);
  return {
    server, browser, page,
    async close() {
      if (lines.length) console.log(lines.join('\n'));
      await browser.close();
      await server.close();
    },
  };
}

/// [`startPanelSession`] for the Evaluate panel.
export function startEvaluateSession(lines) {
  return startPanelSession(lines);
}

/// Clicks Load model for what the panel has chosen; returns the model line once settled.
export async function loadChosen(page, timeout) {
  await page.getByRole('button', { name: 'Load model' }).click();
  await page.waitForFunction(() => /^(Loaded|No model loaded\.)/.test(
    document.getElementById('eval-model').textContent), null, { timeout });
  return page.locator('#eval-model').textContent();
}

/// Loads `files` (a folder path, or file paths) through the matching input on `device`.
export async function loadModel(page, { folder, files, device, timeout }) {
  await page.getByLabel('Run on').selectOption(device);
  const input = page.getByLabel(folder ? 'Model folder' : 'Model files');
  const picked = await input.evaluate((el) => [...el.files].map((f) => f.webkitRelativePath || f.name));
  const wanted = folder ? path.basename(folder) : files.map((f) => path.basename(f));
  // Playwright waits forever when a folder input is given the folder it already holds.
  const same = folder ? picked[0]?.split('/')[0] === wanted : JSON.stringify(picked) === JSON.stringify(wanted);
  if (!same) await input.setInputFiles(folder ?? files);
  await page.getByLabel('Model source').selectOption(folder ? 'folder' : 'files');
  return loadChosen(page, timeout);
}

/// Perplexity of `text`: {perplexity, logProbs, line}.
export async function measurePerplexity(page, text, timeout) {
  await page.getByLabel('Text for perplexity').fill(text);
  await page.locator('#eval-perplexity-result').evaluate((el) => { delete el.dataset.perplexity; });
  await page.getByRole('button', { name: 'Compute perplexity' }).click();
  await page.waitForFunction(() => document.getElementById('eval-perplexity-result').dataset.perplexity
    || document.getElementById('eval-error').textContent, null, { timeout });
  assert.equal(await page.locator('#eval-error').textContent(), '');
  const out = page.locator('#eval-perplexity-result');
  return {
    perplexity: Number(await out.getAttribute('data-perplexity')),
    logProbs: JSON.parse(await out.getAttribute('data-log-probs')),
    line: await out.textContent(),
  };
}

/// Generates from `prompt`: {text, line}.
export async function generateText(page, { prompt, maxTokens, temperature = 0, topP = 1, seed = 0, timeout }) {
  await page.getByLabel('Prompt').fill(prompt);
  await page.getByLabel('Max new tokens').fill(String(maxTokens));
  await page.getByLabel('Temperature').fill(String(temperature));
  await page.getByLabel('Top-p').fill(String(topP));
  await page.getByLabel('Sampling seed').fill(String(seed));
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(() => /new tokens/.test(document.getElementById('eval-generation-result').textContent)
    || document.getElementById('eval-error').textContent, null, { timeout });
  assert.equal(await page.locator('#eval-error').textContent(), '');
  return {
    text: await page.getByLabel('Generated text').textContent(),
    line: await page.locator('#eval-generation-result').textContent(),
  };
}
