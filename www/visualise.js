// The Visualise panel: the interpolation path and the plane through three models for the demo
// experts shipped in demo/ (fetched, no file to pick), computed by the evaluation engine in its
// own worker and drawn as the SVG the CLI's `mixmerge sweep` writes. The report behind each
// picture is kept in its figure's `data-report` (the CLI's JSON), for tests and curious readers.

import { Engine } from './engine.js';
import { evalBundleReady } from './eval-bundle.js';

const $ = (id) => document.getElementById(id);
const DEMO = './demo';
// train-demo's layout: the base model's folder, beside one folder per expert.
const DEMO_BASE = 'base';
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];

const state = {
  engine: null,
  waiting: false, // for the evaluation bundle to be built
  loaded: null, // {key, report} of the last loadSweep
  loading: null, // its promise while it runs
  running: null, // request id of the running sweep
  merged: null, // {name, folder} of the page's last merge
  pairs: [], // the ready-made pairs offered, [{name, a, b}]
};

function showError(err) {
  $('viz-error').textContent = err ? (err.message ?? String(err)) : '';
  $('viz-error').dataset.kind = err?.name ?? '';
}

function setBusy(busy) {
  for (const id of ['viz-path', 'viz-plane']) $(id).disabled = busy || !state.loaded;
  $('viz-score-merged').disabled = busy || !state.loaded || !state.merged;
  $('viz-stop').disabled = state.running === null;
  $('viz-body').setAttribute('aria-busy', String(busy));
}

async function fetchOk(url, as) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return as === 'json' ? response.json() : as === 'text' ? response.text() : response.blob();
}

/// A demo model folder as the worker takes it: {name, files}.
async function demoModel(name) {
  const files = await Promise.all(MODEL_FILES.map(async (file) =>
    new File([await fetchOk(`${DEMO}/${name}/${file}`)], file)));
  return { name, files };
}

/// Which models and tasks the demo has, from its scores.json: {scores, experts, tasks}.
async function demoContents() {
  const scores = await fetchOk(`${DEMO}/scores.json`, 'json');
  const experts = Object.keys(scores.scores).filter((name) => name !== DEMO_BASE);
  const tasks = scores.scores[DEMO_BASE].map((score) => score.task);
  return { scores, experts, tasks };
}

function loadOptions() {
  return { device: $('viz-device').value, examples: Math.max(1, Math.round(Number($('viz-examples').value) || 1)) };
}

/// Loads the demo into the worker (again when the device or example count changed).
async function ensureLoaded() {
  const options = loadOptions();
  const key = JSON.stringify(options);
  if (state.loaded?.key === key) return state.loaded.report;
  $('viz-status').textContent = 'Loading the demo experts…';
  const { scores, experts, tasks } = await demoContents();
  const [base, ...models] = await Promise.all([DEMO_BASE, ...experts].map(demoModel));
  const taskTexts = await Promise.all(tasks.map(async (name) =>
    ({ name, text: await fetchOk(`${DEMO}/tasks/${name}.jsonl`, 'text') })));
  const report = await state.engine.call('loadSweep',
    { base, experts: models, tasks: taskTexts, options: { ...options, scores } });
  const first = !state.loaded;
  state.loaded = { key, report };
  if (first) {
    fillPair(report);
    await fillReadyPairs(report.experts);
  }
  const d = report.device;
  $('viz-status').dataset.device = d.kind;
  $('viz-status').textContent = `Loaded ${report.experts.length} experts and ${report.tasks.length} tasks ` +
    `(${report.examplesPerTask} examples each) ${d.kind === 'webgpu' ? 'on WebGPU' : 'on the CPU'} ` +
    `(${d.description}) in ${report.seconds.toFixed(1)} s.${d.fallback ? ` WebGPU was not used: ${d.fallback}.` : ''}`;
  return report;
}

function fillPair(report) {
  for (const [id, chosen] of [['viz-a', report.defaultPair?.[0]], ['viz-b', report.defaultPair?.[1]]]) {
    $(id).replaceChildren(...report.experts.map((name) => new Option(name, name, false, name === chosen)));
  }
}

/// The ready-made pairs of demo/recipes/index.json (`pairs`: [{name, a, b}]) whose experts the
/// demo has; the chooser stays hidden when there are none.
async function fillReadyPairs(experts) {
  let pairs = [];
  try {
    pairs = (await fetchOk(`${DEMO}/recipes/index.json`, 'json')).pairs ?? [];
  } catch {
    // The recipes are optional: without them there is nothing to offer.
  }
  const usable = Array.isArray(pairs)
    ? pairs.filter((p) => p.a !== p.b && experts.includes(p.a) && experts.includes(p.b)) : [];
  state.pairs = usable;
  $('viz-pair').append(...usable.map((p, i) => new Option(p.name, String(i))));
  $('viz-pair-field').hidden = usable.length === 0;
}

function choosePair() {
  const chosen = $('viz-pair').value;
  if (chosen === '') return;
  const { a, b } = state.pairs[Number(chosen)];
  $('viz-a').value = a;
  $('viz-b').value = b;
}

async function open() {
  const body = $('viz-body');
  body.hidden = !body.hidden;
  $('viz-open').setAttribute('aria-expanded', String(!body.hidden));
  $('viz-open').textContent = body.hidden ? 'Open visualisation' : 'Close visualisation';
  if (body.hidden || state.engine || state.waiting) return;
  showError(null);
  setBusy(true);
  try {
    state.waiting = true;
    await evalBundleReady((message) => { $('viz-status').textContent = message; });
    state.waiting = false;
    state.engine = new Engine('./eval-worker.js');
    state.loading = ensureLoaded();
    await state.loading;
  } catch (err) {
    $('viz-status').textContent = 'The demo experts could not be loaded.';
    showError(err);
  } finally {
    state.loading = null;
    setBusy(false);
  }
}

const number = (id) => Number($(id).value);
const list = (id) => $(id).value.split(',').map((s) => s.trim()).filter(Boolean);

function pathOptions() {
  return {
    a: $('viz-a').value, b: $('viz-b').value, points: Math.round(number('viz-points')),
    methods: list('viz-methods'), density: number('viz-density'),
    samples: Math.round(number('viz-samples')), alpha: number('viz-alpha'),
  };
}

function planeOptions() {
  return {
    a: $('viz-a').value, b: $('viz-b').value, grid: Math.round(number('viz-grid')),
    min: number('viz-min'), max: number('viz-max'), merges: list('viz-merges'), density: number('viz-density'),
  };
}

/// Runs one sweep (`sweepPath` or `sweepPlane`) and draws its picture into `figure`.
async function sweep(type, options, figure, status) {
  showError(null);
  setBusy(true);
  $(status).textContent = 'Starting…';
  try {
    await ensureLoaded();
    const started = performance.now();
    const request = state.engine.start(type, { options }, ({ done, total }) => {
      $(status).textContent = `${done} / ${total} points scored (${((performance.now() - started) / 1000).toFixed(1)} s)`;
    });
    state.running = request.id;
    setBusy(true);
    const result = await request.promise;
    const seconds = (performance.now() - started) / 1000;
    $(figure).innerHTML = result.svg;
    $(figure).dataset.report = JSON.stringify(result.report);
    $(figure).dataset.seconds = String(seconds);
    const points = type === 'sweepPath'
      ? result.report.curves.reduce((n, c) => n + c.points.length, 0) + (result.report.mixup?.points.length ?? 0)
      : result.report.cells.length + result.report.markers.length;
    $(status).textContent = `${points} merges scored on ${result.report.tasks.length} tasks ` +
      `(${result.report.examples_per_task} examples each) in ${seconds.toFixed(1)} s ` +
      `${result.device.kind === 'webgpu' ? 'on WebGPU' : 'on the CPU'}.`;
  } catch (err) {
    $(status).textContent = err.name === 'Cancelled' ? 'Stopped.' : '';
    if (err.name !== 'Cancelled') showError(err);
  } finally {
    state.running = null;
    setBusy(false);
  }
}

async function scoreMerged() {
  showError(null);
  setBusy(true);
  const table = $('viz-merged-scores');
  try {
    await ensureLoaded();
    const files = [];
    for await (const handle of state.merged.folder.values()) {
      if (handle.kind === 'file') files.push(await handle.getFile());
    }
    const scores = await state.engine.call('scoreOnSweepTasks', { model: { name: state.merged.name, files } });
    table.tBodies[0].replaceChildren(...scores.map((s) => {
      const row = document.createElement('tr');
      const share = (v) => `${(100 * v).toFixed(1)} %`;
      for (const text of [s.task, share(s.exact_match), share(s.char_accuracy), s.answer_loss.toFixed(4)]) {
        row.append(Object.assign(document.createElement('td'), { textContent: text }));
      }
      return row;
    }));
    table.dataset.scores = JSON.stringify(scores);
    table.hidden = false;
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
  }
}

/// Called by the page after a merge: its result can be scored on the demo tasks.
export function offerMergedToVisualise(name, folder) {
  state.merged = { name, folder };
  setBusy(state.running !== null || state.loading !== null);
}

export function setupVisualise() {
  $('viz-open').addEventListener('click', open);
  $('viz-path').addEventListener('click', () => sweep('sweepPath', pathOptions(), 'viz-path-figure', 'viz-path-status'));
  $('viz-plane').addEventListener('click', () => sweep('sweepPlane', planeOptions(), 'viz-plane-figure', 'viz-plane-status'));
  $('viz-score-merged').addEventListener('click', scoreMerged);
  $('viz-pair').addEventListener('change', choosePair);
  // A pair picked by hand is no longer the ready-made one.
  for (const id of ['viz-a', 'viz-b']) $(id).addEventListener('change', () => { $('viz-pair').value = ''; });
  $('viz-stop').addEventListener('click', () => {
    if (state.running !== null) state.engine.cancel(state.running);
  });
}
