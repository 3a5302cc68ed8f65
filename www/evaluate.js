// The Evaluate panel: loads a model (the merge's result, a picked folder or files) into the
// evaluation worker, then computes perplexity and streams generations. The worker, and with it
// the inference bundle, starts only when the panel is first opened.

import { Engine } from './engine.js';
import { evalBundleReady } from './eval-bundle.js';

const $ = (id) => document.getElementById(id);
const state = {
  engine: null,
  waiting: false, // for the evaluation bundle to be built
  merged: null, // {name, folder: FileSystemDirectoryHandle}
  loaded: null, // the loadModel report
  busy: false,
  generation: null, // request id while generating
};

function showError(err) {
  $('eval-error').textContent = err ? (err.message ?? String(err)) : '';
  $('eval-error').dataset.kind = err?.name ?? '';
}

const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

function describeDevice(device) {
  const why = device.fallback ? ` WebGPU was not used: ${device.fallback}.` : '';
  return device.kind === 'webgpu' ? `on WebGPU (${device.description})` : `on the CPU (${device.description}).${why}`;
}

const SVG = 'http://www.w3.org/2000/svg';
const CHART = { width: 600, height: 100 }; // viewBox units of the log-prob chart

function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/// One bar per scored token, as tall as its surprisal (−log p), under the perplexity line: the
/// tokens the model found hardest stand out. `null` clears the chart.
function drawLogProbs(logProbs, tokenIds) {
  $('eval-log-probs')?.remove();
  if (!logProbs?.length) return;
  const surprisal = logProbs.map((lp) => -lp);
  const highest = Math.max(...surprisal, 1e-6);
  const mean = surprisal.reduce((a, b) => a + b, 0) / surprisal.length;
  const { width, height } = CHART;
  const scale = height / highest;
  const barWidth = width / surprisal.length;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width: '100%', height, preserveAspectRatio: 'none', role: 'img',
    'aria-label': `Surprisal of each of ${surprisal.length} tokens`,
  });
  surprisal.forEach((s, i) => {
    const bar = svg('rect', {
      x: i * barWidth, y: height - s * scale, width: Math.max(barWidth - 0.5, 0.5), height: s * scale,
      fill: '#4a78c2', 'data-log-prob': logProbs[i],
    });
    bar.append(svg('title', {}, `token ${i + 1}${tokenIds ? ` (id ${tokenIds[i + 1]})` : ''}: ` +
      `log p = ${fixed(logProbs[i], 4)}`));
    chart.append(bar);
  });
  chart.append(svg('line', {
    x1: 0, x2: width, y1: height - mean * scale, y2: height - mean * scale,
    stroke: '#c2410c', 'stroke-dasharray': '4 3', 'vector-effect': 'non-scaling-stroke',
  }));
  const figure = document.createElement('figure');
  figure.id = 'eval-log-probs';
  figure.style.margin = '0.5em 0';
  const caption = document.createElement('figcaption');
  caption.textContent = `Surprisal (−log p, nats) of each token: highest ${fixed(highest, 2)}, ` +
    `mean ${fixed(mean, 2)} (dashed line). Hover a bar for its token.`;
  figure.append(chart, caption);
  $('eval-perplexity-result').after(figure);
}

function setBusy(busy) {
  state.busy = busy;
  $('eval-load').disabled = busy || !state.engine;
  $('eval-perplexity').disabled = busy || !state.loaded;
  $('eval-generate').disabled = busy || !state.loaded;
  $('eval-stop').disabled = state.generation === null;
  $('eval-body').setAttribute('aria-busy', String(busy));
}

function open() {
  const body = $('eval-body');
  body.hidden = !body.hidden;
  $('eval-open').setAttribute('aria-expanded', String(!body.hidden));
  $('eval-open').textContent = body.hidden ? 'Open evaluation' : 'Close evaluation';
  if (!body.hidden && !state.engine && !state.waiting) startEngine();
}

async function startEngine() {
  state.waiting = true;
  setBusy(state.busy);
  await evalBundleReady((message) => { $('eval-model').textContent = message; });
  state.engine = new Engine('./eval-worker.js');
  state.waiting = false;
  $('eval-model').textContent = 'No model loaded yet.';
  setBusy(state.busy);
}

/// The picked model as the worker takes it: {name, files}.
async function chosenModel() {
  const source = $('eval-source').value;
  if (source === 'merged') {
    if (!state.merged) throw new Error('Merge first: there is no merged result yet.');
    const files = [];
    for await (const handle of state.merged.folder.values()) {
      if (handle.kind === 'file') files.push(await handle.getFile());
    }
    return { name: state.merged.name, files };
  }
  const input = source === 'folder' ? $('eval-folder') : $('eval-files');
  const files = [...input.files];
  if (files.length === 0) {
    throw new Error(source === 'folder' ? 'Pick a model folder first.' : 'Pick the model\'s files first.');
  }
  const name = files[0].webkitRelativePath?.split('/')[0] || files[0].name.replace(/\.[^.]*$/, '');
  return { name, files };
}

async function loadModel() {
  showError(null);
  $('eval-model').textContent = 'Loading…';
  let model;
  try {
    model = await chosenModel();
  } catch (err) {
    $('eval-model').textContent = state.loaded ? 'The model loaded before stays loaded.' : 'No model loaded.';
    showError(err);
    return;
  }
  state.loaded = null;
  setBusy(true);
  $('eval-model').textContent = `Loading ${model.name}…`;
  try {
    const report = await state.engine.call('loadModel', { model, options: { device: $('eval-device').value } });
    state.loaded = report;
    const m = report.model;
    $('eval-model').dataset.device = report.device.kind;
    $('eval-model').textContent = `Loaded ${m.name}${m.architecture ? ` (${m.architecture})` : ''}: ` +
      `${(m.parameters / 1e6).toFixed(2)} M parameters, vocabulary ${m.vocabSize}` +
      `${m.context ? `, context ${m.context}` : ''}, in ${fixed(report.seconds, 1)} s ` +
      `${describeDevice(report.device)}`;
  } catch (err) {
    $('eval-model').textContent = 'No model loaded.';
    showError(err);
  } finally {
    setBusy(false);
  }
}

async function computePerplexity() {
  showError(null);
  setBusy(true);
  $('eval-perplexity-result').textContent = 'Computing…';
  drawLogProbs(null);
  try {
    const r = await state.engine.call('perplexity', { text: $('eval-text').value, options: {} });
    const out = $('eval-perplexity-result');
    out.dataset.perplexity = String(r.perplexity);
    out.dataset.logProbs = JSON.stringify(r.logProbs);
    out.textContent = `Perplexity ${fixed(r.perplexity, 4)} (mean NLL ${fixed(r.meanNll, 4)} nats/token) ` +
      `over ${r.tokens} tokens, window ${r.window}: ${fixed(r.tokensPerSecond, 1)} tokens/s ` +
      `${describeDevice(r.device)}`;
    drawLogProbs(r.logProbs, r.tokenIds);
  } catch (err) {
    $('eval-perplexity-result').textContent = '';
    showError(err);
  } finally {
    setBusy(false);
  }
}

function generateOptions() {
  const number = (id, fallback) => {
    const v = Number($(id).value);
    return $(id).value !== '' && Number.isFinite(v) ? v : fallback;
  };
  return {
    maxNewTokens: Math.max(1, Math.round(number('eval-max-tokens', 32))),
    temperature: Math.max(0, number('eval-temperature', 0)),
    topP: Math.min(1, Math.max(0, number('eval-top-p', 1))),
    seed: Math.max(0, Math.round(number('eval-seed', 0))),
  };
}

async function generate() {
  showError(null);
  const output = $('eval-output');
  output.textContent = '';
  $('eval-generation-result').textContent = 'Generating…';
  const request = state.engine.start('generate', { prompt: $('eval-prompt').value, options: generateOptions() },
    (event) => output.append(event.text));
  state.generation = request.id;
  setBusy(true);
  $('eval-stop').focus();
  try {
    const r = await request.promise;
    output.textContent = r.text;
    $('eval-generation-result').textContent = `${r.tokens.length} new tokens ` +
      `(${r.stoppedBy === 'eos' ? 'ended by the model' : 'the limit'}). Prompt: ${r.promptTokens} tokens, ` +
      `${fixed(r.promptTokensPerSecond, 1)} tokens/s; generation: ` +
      `${fixed(r.generationTokensPerSecond, 1)} tokens/s ${describeDevice(r.device)}`;
  } catch (err) {
    const cancelled = err.name === 'EvaluationCancelled';
    $('eval-generation-result').textContent = cancelled ? 'Stopped.' : '';
    if (!cancelled) showError(err);
  } finally {
    state.generation = null;
    setBusy(false);
    $('eval-generate').focus();
  }
}

/// Called by the page after a merge: the result becomes the first choice of the panel.
export function offerMergedResult(name, folder) {
  state.merged = { name, folder };
  const option = $('eval-source').querySelector('option[value=merged]');
  option.disabled = false;
  option.textContent = `the merged result (${name})`;
  $('eval-source').value = 'merged';
}

export function setupEvaluate() {
  $('eval-open').addEventListener('click', open);
  $('eval-load').addEventListener('click', loadModel);
  $('eval-perplexity').addEventListener('click', computePerplexity);
  $('eval-generate').addEventListener('click', generate);
  $('eval-stop').addEventListener('click', () => {
    if (state.generation !== null) state.engine.cancel(state.generation);
  });
  for (const id of ['eval-folder', 'eval-files']) {
    $(id).addEventListener('change', () => { $('eval-source').value = id === 'eval-folder' ? 'folder' : 'files'; });
  }
}
