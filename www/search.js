// The Search panel: a search file from demo/search (or edited by hand) run by the evaluation
// engine in its worker, with the CLI's figures redrawn after every generation, the result and
// its baselines in a table, and "Merge this" handing a point's recipe to the Merge panel.
// The finished run's log and outcome (the CLI's evaluations.json and search.json) are kept in
// the table's `data-log` / `data-outcome`, for tests and curious readers.

import { Engine } from './engine.js';
import { evalBundleReady } from './eval-bundle.js';
import { loadDemo } from './demo.js';

const $ = (id) => document.getElementById(id);
const SEARCHES = './demo/search';
const DEMO = './demo';

const state = {
  engine: null,
  running: null, // request id of the running search
  useRecipe: null, // the page's "merge this recipe" callback
};

async function fetchOk(url, as) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return as === 'json' ? response.json() : as === 'text' ? response.text() : response.blob();
}

function showError(err) {
  $('search-error').textContent = err ? (err.message ?? String(err)) : '';
  $('search-error').dataset.kind = err?.name ?? '';
}

function setBusy(busy) {
  $('search-run').disabled = busy || !state.engine;
  $('search-stop').disabled = state.running === null;
  $('search-body').setAttribute('aria-busy', String(busy));
}

/// The task files the search file's `data.tasks` names, its `data.text`, and the baselines it
/// lists, fetched relative to the search folder (`../tasks`, `../texts/x.txt`,
/// `../recipes/ties.yml`).
async function searchInputs(text) {
  const files = await state.engine.call('searchFiles', { search: text });
  let tasks = [];
  if (files.tasks !== undefined && files.tasks !== null) {
    const scores = await fetchOk(`${DEMO}/scores.json`, 'json');
    const names = scores.scores.base.map((s) => s.task);
    tasks = await Promise.all(names.map(async (name) =>
      ({ name, text: await fetchOk(`${SEARCHES}/${files.tasks}/${name}.jsonl`, 'text') })));
  }
  const scoredText = files.text ? await fetchOk(`${SEARCHES}/${files.text}`, 'text') : undefined;
  const baselines = await Promise.all(files.baselines.map(async (file) =>
    ({ name: file.split('/').pop().replace(/\.ya?ml$/, ''), text: await fetchOk(`${SEARCHES}/${file}`, 'text') })));
  return { tasks, text: scoredText, baselines };
}

function drawGeneration(progress, started) {
  const seconds = (performance.now() - started) / 1000;
  $('search-status').textContent = `${progress.done} / ${progress.budget} evaluations ` +
    `(${(progress.done / seconds).toFixed(2)} per second); best ${progress.best.scalar.toFixed(3)} ` +
    `at evaluation ${progress.best.index}.`;
  $('search-convergence').innerHTML = progress.convergence;
  $('search-front').innerHTML = progress.front ?? '';
  $('search-weights').innerHTML = progress.weights;
}

function row(cells, recipe) {
  const tr = document.createElement('tr');
  for (const text of cells) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
  const last = document.createElement('td');
  if (recipe && state.useRecipe) {
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Merge this' });
    button.addEventListener('click', () => state.useRecipe(recipe));
    last.append(button);
  }
  tr.append(last);
  return tr;
}

function showResult(result) {
  const show = (values) => values.map((v) => v.toFixed(3)).join(' / ');
  const table = $('search-table');
  const rows = [
    ...result.outcome.results.map((r) => row([r.name, show(r.search), show(r.held_out)], r.recipe)),
    ...result.outcome.baselines.map((b) => row([`baseline: ${b.name}`, show(b.search), show(b.held_out)], b.recipe)),
  ];
  table.tBodies[0].replaceChildren(...rows);
  table.dataset.log = JSON.stringify(result.log);
  table.dataset.outcome = JSON.stringify(result.outcome);
  table.hidden = false;
  $('search-convergence').innerHTML = result.convergence;
  $('search-front').innerHTML = result.front ?? '';
  $('search-weights').innerHTML = result.weights ?? '';
  const d = result.device;
  $('search-status').textContent = `${result.log.evaluations.length} evaluations in ${result.seconds.toFixed(1)} s ` +
    `(${result.evaluationsPerSecond.toFixed(2)} per second) ${d.kind === 'webgpu' ? 'on WebGPU' : 'on the CPU'}` +
    `${d.fallback ? ` (WebGPU was not used: ${d.fallback})` : ''}. Objectives: ` +
    `${result.log.objectives.map((o) => o.name).join(' / ')}, higher is better.`;
  $('search-status').dataset.device = d.kind;
}

async function runSearch() {
  showError(null);
  $('search-table').hidden = true;
  setBusy(true);
  $('search-status').textContent = 'Loading the demo models…';
  try {
    const text = $('search-yaml').value;
    const { tasks, text: scoredText, baselines } = await searchInputs(text);
    // The demo's model folders, fetched once for the whole page (demo.js).
    const { models } = await loadDemo();
    const started = performance.now();
    const request = state.engine.start('runSearch', {
      search: text, models, tasks, baselines,
      options: { device: $('search-device').value, baseDir: 'demo/search', text: scoredText },
    }, (progress) => drawGeneration(progress, started));
    state.running = request.id;
    setBusy(true);
    showResult(await request.promise);
  } catch (err) {
    $('search-status').textContent = err.name === 'Cancelled' ? 'Stopped.' : '';
    if (err.name !== 'Cancelled') showError(err);
  } finally {
    state.running = null;
    setBusy(false);
  }
}

async function chooseSearch() {
  $('search-yaml').value = await fetchOk(`${SEARCHES}/${$('search-file').value}`, 'text');
}

async function open() {
  const body = $('search-body');
  body.hidden = !body.hidden;
  $('search-open').setAttribute('aria-expanded', String(!body.hidden));
  $('search-open').textContent = body.hidden ? 'Open search' : 'Close search';
  if (body.hidden || state.engine) return;
  showError(null);
  try {
    const { searches } = await fetchOk(`${SEARCHES}/index.json`, 'json');
    $('search-file').replaceChildren(...searches.map((s) => new Option(s.name, s.file)));
    await chooseSearch();
    await evalBundleReady((message) => { $('search-status').textContent = message; });
    state.engine = new Engine('./eval-worker.js');
    $('search-status').textContent = 'Ready: press Search.';
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
  }
}

/// `useRecipe(yaml)` puts a recipe (paths relative to demo/search, like demo/recipes') into
/// the Merge panel with the demo models in its slots.
export function setupSearch(useRecipe) {
  state.useRecipe = useRecipe;
  $('search-open').addEventListener('click', open);
  $('search-run').addEventListener('click', runSearch);
  $('search-file').addEventListener('change', () => chooseSearch().catch(showError));
  $('search-stop').addEventListener('click', () => {
    if (state.running !== null) state.engine.cancel(state.running);
  });
}
