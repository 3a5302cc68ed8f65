// The page: draws the form, keeps the YAML panel in step, and asks the worker for everything.

import { Engine } from './engine.js';
import { WORDS, toYaml, fromConfig } from './recipe.js';
import { setupEvaluate, offerMergedResult } from './evaluate.js';
import { loadDemo, recipeText } from './demo.js';
import { setupAnatomy } from './anatomy.js';
import { setupVisualise, offerMergedToVisualise } from './visualise.js';
import { setupSearch } from './search.js';

const $ = (id) => document.getElementById(id);
const engine = new Engine();
const state = {
  methods: [],
  slots: [], // {id, el, name, files, hub, values, summary}: files picked, or a hub id streamed
  globals: {},
  nextSlot: 1,
  merge: null, // {id, started}
  demo: null, // {base, models, recipes} while starting from the demo
};

// ---------- formatting ----------

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(s) {
  if (!isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function showError(el, err) {
  el.textContent = err ? (err.message ?? String(err)) : '';
  el.dataset.kind = err?.name ?? '';
}

// ---------- model slots ----------

function currentMethod() {
  return state.methods.find((m) => m.key === $('method').value);
}

function baseName() {
  const checked = state.slots.find((s) => s.el.querySelector('[data-id=base]').checked);
  return checked ? checked.name : '';
}

function addSlot(name = `model-${state.nextSlot}`, values = {}) {
  const id = state.nextSlot++;
  const el = $('slot-template').content.firstElementChild.cloneNode(true);
  const slot = { id, el, name, files: null, hub: null, values: { weight: 0.5, density: 0.5, ...values }, summary: null };
  for (const label of el.querySelectorAll('label[data-for]')) {
    label.htmlFor = `slot${id}-${label.dataset.for}`;
  }
  for (const input of el.querySelectorAll('[data-id]')) input.id = `slot${id}-${input.dataset.id}`;
  const field = (key) => el.querySelector(`[data-id=${key}]`);
  field('name').value = name;
  field('name').addEventListener('input', () => { slot.name = field('name').value.trim(); formChanged(); });
  field('base').addEventListener('change', () => { renderParams(); formChanged(); });
  field('remove').addEventListener('click', () => removeSlot(slot));
  const pick = (input, fromFolder) => input.addEventListener('change', () => {
    const files = [...input.files];
    if (files.length === 0) return;
    slot.files = files;
    slot.hub = null;
    inspectSlot(slot);
    const folder = fromFolder ? files[0].webkitRelativePath.split('/')[0] : '';
    if (folder && folder !== slot.name) {
      slot.name = folder;
      field('name').value = folder;
      formChanged();
    } else {
      scheduleValidate(); // the config text stays as written
    }
  });
  pick(field('folder'), true);
  pick(field('files'), false);
  const stream = () => useHubModel(slot, field('hub').value, field('revision').value);
  field('stream').addEventListener('click', stream);
  for (const key of ['hub', 'revision']) {
    field(key).addEventListener('keydown', (e) => { if (e.key === 'Enter') stream(); });
  }
  // A recipe that names a hub model (mergekit's `owner/name[@revision]`) streams it.
  const hub = parseHubId(name);
  if (hub) {
    field('hub').value = hub.repo;
    field('revision').value = hub.revision === 'main' ? '' : hub.revision;
    slot.hub = name;
    queueMicrotask(() => inspectSlot(slot));
  }
  state.slots.push(slot);
  $('slots').append(el);
  numberSlots();
  renderParams();
  return slot;
}

function removeSlot(slot) {
  state.slots = state.slots.filter((s) => s !== slot);
  slot.el.remove();
  if (!state.slots.some((s) => s.el.querySelector('[data-id=base]').checked)) $('no-base').checked = true;
  numberSlots();
  renderParams();
  formChanged();
  state.slots.at(-1)?.el.querySelector('[data-id=name]').focus();
}

function numberSlots() {
  state.slots.forEach((slot, i) => {
    slot.el.querySelector('legend').textContent = `Model ${i + 1}`;
    slot.el.querySelector('[data-id=remove]').setAttribute('aria-label', `Remove model ${i + 1}`);
  });
}

/// `owner/name` or `owner/name@revision`, as the engine reads hub ids; null for anything else.
function parseHubId(text) {
  const m = /^([A-Za-z0-9_-][A-Za-z0-9._-]*\/[A-Za-z0-9._-]+)(?:@([A-Za-z0-9._\/-]+))?$/.exec(text.trim());
  if (!m || m[2]?.startsWith('/') || m[2]?.includes('..')) return null;
  return { repo: m[1], revision: m[2] ?? 'main' };
}

/// Points `slot` at a hub model: its name becomes the id the config uses.
function useHubModel(slot, repo, revision) {
  const error = slot.el.querySelector('[data-id=error]');
  const id = revision.trim() && revision.trim() !== 'main' ? `${repo.trim()}@${revision.trim()}` : repo.trim();
  if (!parseHubId(id)) {
    showError(error, { name: 'Config', message: `\`${id}\` is not a hub id: give owner/name and, optionally, a revision (a branch, tag or commit)` });
    return;
  }
  slot.hub = id;
  slot.files = null;
  for (const key of ['folder', 'files']) slot.el.querySelector(`[data-id=${key}]`).value = '';
  slot.name = id;
  slot.el.querySelector('[data-id=name]').value = id;
  inspectSlot(slot);
  formChanged();
}

/// What the engine is given for `slot`: `{name, files}` or `{name, hub}`.
function slotModel(slot) {
  return slot.hub ? { name: slot.name, hub: slot.hub } : { name: slot.name, files: slot.files };
}

/// Where hub models stream from; the token is read from the field each time, kept nowhere else.
function hubOptions() {
  return { endpoint: $('hub-endpoint').value.trim(), token: $('hub-token').value.trim() || null };
}

async function inspectSlot(slot) {
  const summary = slot.el.querySelector('[data-id=summary]');
  const error = slot.el.querySelector('[data-id=error]');
  summary.textContent = slot.hub ? `Listing ${slot.hub} and reading its headers from the hub…` : 'Reading headers…';
  showError(error, null);
  try {
    const s = await engine.call('inspect', { model: slotModel(slot), options: { hub: hubOptions() } });
    slot.summary = s;
    const dtypes = Object.entries(s.dtypes).map(([d, n]) => `${n} ${d}`).join(', ');
    summary.textContent = `${s.tensors} tensors, ${(s.parameters / 1e6).toFixed(2)} M parameters ` +
      `(${dtypes}), ${bytes(s.bytes)} in ${s.shards} shard${s.shards === 1 ? '' : 's'}` +
      `${s.architecture ? `, ${s.architecture}` : ''}${s.hasConfig ? '' : ', no config.json'}` +
      `${slot.hub ? `; streamed from ${hubOptions().endpoint || 'the hub'} as the merge reads it` : ''}.`;
  } catch (err) {
    slot.summary = null;
    summary.textContent = '';
    showError(error, err);
  }
}

// ---------- method parameters ----------

function paramInput(decl, value, id, label, onChange) {
  const wrap = document.createElement('span');
  wrap.className = 'param';
  const lab = document.createElement('label');
  lab.htmlFor = id;
  lab.textContent = label;
  let input;
  if (decl.kind === 'flag') {
    input = Object.assign(document.createElement('input'), { type: 'checkbox', checked: !!value });
    wrap.append(input, lab);
    lab.className = 'after';
  } else if (decl.kind in WORDS) {
    input = document.createElement('select');
    WORDS[decl.kind].forEach((word, i) => input.append(new Option(word, String(i))));
    input.value = String(value ?? decl.default ?? 0);
    wrap.append(lab, input);
  } else {
    input = Object.assign(document.createElement('input'), { type: 'number', step: 'any' });
    if (decl.min !== null) input.min = decl.min;
    if (decl.max !== null) input.max = decl.max;
    input.value = value ?? '';
    if (decl.default === null) input.required = true;
    wrap.append(lab, input);
  }
  input.id = id;
  input.addEventListener(decl.kind === 'number' ? 'input' : 'change', () => {
    onChange(decl.kind === 'flag' ? (input.checked ? 1 : 0)
      : input.value === '' ? '' : Number(input.value));
    formChanged();
  });
  return wrap;
}

function renderParams() {
  const method = currentMethod();
  if (!method) return;
  const globals = $('global-params');
  globals.replaceChildren();
  for (const decl of method.params.filter((p) => !p.perModel)) {
    const value = state.globals[decl.name] ?? decl.default ?? '';
    globals.append(paramInput(decl, value, `param-${decl.name}`, decl.name,
      (v) => { state.globals[decl.name] = v; }));
  }
  if (!globals.childElementCount) globals.textContent = 'This method has no global parameters.';
  const base = baseName();
  const mixup = $('mixup').checked;
  for (const slot of state.slots) {
    const row = slot.el.querySelector('[data-id=params]');
    row.replaceChildren();
    const isBase = base && slot.name === base && !method.mergesListedBase;
    for (const decl of method.params.filter((p) => p.perModel)) {
      if (isBase || (mixup && decl.name === 'weight')) continue;
      row.append(paramInput(decl, slot.values[decl.name] ?? decl.default ?? '',
        `slot${slot.id}-${decl.name}`, decl.name, (v) => { slot.values[decl.name] = v; }));
    }
    if (isBase) row.textContent = 'Base model: task vectors are taken relative to it.';
  }
}

// ---------- YAML panel and validation ----------

function formState() {
  return {
    method: currentMethod(),
    models: state.slots.map((s) => ({ name: s.name, values: s.values })),
    base: baseName(),
    globals: state.globals,
    mixup: $('mixup').checked ? { alpha: Number($('mixup-alpha').value), seed: Number($('mixup-seed').value) } : null,
    outDtype: $('out-dtype').value,
  };
}

function formChanged() {
  if (!currentMethod()) return;
  $('yaml').value = toYaml(formState());
  scheduleValidate();
}

function pickedModels() {
  return state.slots.filter((s) => s.files || s.hub).map(slotModel);
}

function mergeOptions() {
  const options = {
    maxShardBytes: Math.max(1, Math.round(Number($('shard-size').value || 5000) * 1e6)),
    device: $('device-choice').value,
    hub: hubOptions(),
  };
  if ($('seed').value !== '') options.seed = Number($('seed').value);
  return options;
}

let validateTimer = 0;
let validateRound = 0;
function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 250);
}

/// Checks the config against the picked files; returns the plan summary or null.
async function validate() {
  const round = ++validateRound;
  const plan = $('plan');
  if (pickedModels().length === 0) {
    plan.textContent = 'Pick the models’ files to check the config against them.';
    showError($('config-error'), null);
    $('lambda').textContent = '';
    return null;
  }
  try {
    const s = await engine.call('validate', { yaml: $('yaml').value, models: pickedModels(), options: mergeOptions() });
    if (round !== validateRound) return s;
    showError($('config-error'), null);
    plan.textContent = `Plan: ${s.method} of ${s.models.filter((m) => m !== s.base).join(', ')}${s.base ? ` onto base ${s.base}` : ''} → ` +
      `${s.tensors} tensors, ${bytes(s.outputBytes)} ${s.outDtype} in ${s.shards} shard${s.shards === 1 ? '' : 's'}; ` +
      `seed ${s.seed}.${s.warnings.map((w) => ` Note: ${w}`).join('')}`;
    $('lambda').textContent = s.mixupLambda ? `Drawn λ = ${s.mixupLambda}` : '';
    return s;
  } catch (err) {
    if (round === validateRound) {
      plan.textContent = '';
      $('lambda').textContent = '';
      showError($('config-error'), err);
    }
    return null;
  }
}

async function applyYaml() {
  showError($('config-error'), null);
  const text = $('yaml').value;
  // Busy until the form holds the imported config (parsing goes through the worker).
  $('yaml').setAttribute('aria-busy', 'true');
  try {
    const form = fromConfig(await engine.call('parseYaml', { text }), state.methods);
    $('method').value = form.method.key;
    state.globals = { ...form.globals };
    const keep = new Map(state.slots.map((s) => [s.name, s]));
    for (const slot of state.slots) slot.el.remove();
    state.slots = [];
    for (const model of form.models) {
      // A recipe file's `../addition` is the slot `addition` (as the engine matches it); a hub
      // id is only ever its own slot.
      const old = keep.get(model.name) ?? (parseHubId(model.name) ? null : keep.get(lastPart(model.name)));
      if (old) {
        old.values = { ...old.values, ...model.values };
        state.slots.push(old);
        $('slots').append(old.el);
      } else {
        addSlot(model.name, model.values);
      }
    }
    for (const slot of state.slots) {
      slot.el.querySelector('[data-id=base]').checked = !!form.base &&
        (slot.name === form.base || slot.name === lastPart(form.base));
    }
    $('no-base').checked = !form.base;
    $('mixup').checked = !!form.mixup;
    if (form.mixup) {
      $('mixup-alpha').value = form.mixup.alpha;
      $('mixup-seed').value = form.mixup.seed;
    }
    $('out-dtype').value = form.outDtype;
    numberSlots();
    renderParams();
    $('yaml').value = text; // the imported text is merged as written
    if (form.notes.length) {
      $('plan').textContent = `The form cannot show ${form.notes.join(', ')}; the YAML is used as written.`;
    }
    await validate();
  } catch (err) {
    showError($('config-error'), err);
  } finally {
    $('yaml').removeAttribute('aria-busy');
  }
}

/// `../demo/addition` → `addition`.
function lastPart(name) {
  return name.split('/').filter(Boolean).pop() ?? name;
}

// ---------- the demo or your own models ----------

function clearSlots() {
  for (const slot of state.slots) slot.el.remove();
  state.slots = [];
}

/// Starts from the shipped demo (its experts in the slots, a demo recipe in the config) or from
/// two empty slots for your own files.
async function useSource(source) {
  showError($('config-error'), null);
  if (source === 'demo') {
    $('demo-status').textContent = 'Fetching the demo experts…';
    try {
      state.demo = await loadDemo();
      const choice = $('demo-recipe');
      if (choice.options.length === 0) {
        for (const r of state.demo.recipes) choice.append(new Option(r.name, r.file));
      }
      await useDemoRecipe(choice.value);
      $('demo-recipe-field').hidden = false;
      $('demo-status').textContent = `Demo: ${state.demo.base} and its experts ` +
        `${state.demo.models.filter((m) => m.name !== state.demo.base).map((m) => m.name).join(', ')} ` +
        '(www/demo, trained by mixmerge train-demo). Press Merge, or pick your own folders in any slot.';
      return;
    } catch (err) {
      state.demo = null;
      $('demo-status').textContent = `The demo could not be loaded (${err.message}); pick your own models.`;
      $('model-source').value = 'own';
    }
  }
  state.demo = null;
  $('demo-recipe-field').hidden = true;
  if (source === 'own') $('demo-status').textContent = '';
  clearSlots();
  $('method').value = 'linear';
  $('no-base').checked = true;
  addSlot('model-a');
  addSlot('model-b');
  renderParams();
  formChanged();
}

/// Every demo model in a slot, then the recipe's text applied as written.
let demoRound = 0;
async function useDemoRecipe(file) {
  const round = ++demoRound;
  const text = await recipeText(file);
  if (round !== demoRound) return; // a later choice wins
  await useDemoRecipeText(text);
}

/// A recipe over the demo models (`../base`, `../sorting`…) in the form, every demo model in a
/// slot: a demo recipe, or a point the Search panel found.
async function useDemoRecipeText(text) {
  if (!state.demo) {
    $('model-source').value = 'demo';
    state.demo = await loadDemo();
    $('demo-recipe-field').hidden = false;
  }
  clearSlots();
  for (const model of state.demo.models) {
    const slot = addSlot(model.name);
    slot.files = model.files;
    inspectSlot(slot);
  }
  $('yaml').value = text;
  await applyYaml();
}

/// The anatomy's models: the demo's when starting from it, else every picked slot.
function anatomyModels() {
  if (state.demo) return { base: state.demo.base, models: state.demo.models };
  return { base: baseName(), models: pickedModels(), hub: hubOptions() };
}

// ---------- merging ----------

async function runMerge() {
  showError($('run-error'), null);
  $('result').hidden = true;
  $('progress').value = 0;
  $('progress-text').textContent = '';
  const outName = $('out-name').value.trim();
  if (!outName || /[\\/]/.test(outName)) {
    showError($('run-error'), new Error('Give the output folder a plain name (no slashes).'));
    return;
  }
  let directory = null;
  if ($('destination').value === 'directory') {
    try {
      directory = await window.showDirectoryPicker({ mode: 'readwrite', id: 'mixmerge-output' });
    } catch (err) {
      if (err.name !== 'AbortError') showError($('run-error'), err);
      return;
    }
  }
  const summary = await validate();
  if (!summary) {
    showError($('run-error'), new Error('Fix the config first (see the message above).'));
    return;
  }
  setRunning(true);
  const started = performance.now();
  const request = engine.start('merge', {
    yaml: $('yaml').value, models: pickedModels(), options: mergeOptions(), outName, directory,
  }, (p) => drawProgress(p, started));
  state.merge = { id: request.id };
  try {
    const report = await request.promise;
    await showResult(report, directory);
  } catch (err) {
    $('progress-text').textContent = err.name === 'Cancelled' ? 'Cancelled; the partial output was removed.' : '';
    if (err.name !== 'Cancelled') showError($('run-error'), err);
  } finally {
    state.merge = null;
    setRunning(false);
  }
}

function setRunning(running) {
  $('merge').disabled = running;
  $('cancel').disabled = !running;
  if (running) {
    $('progress').value = 0;
    $('progress-text').textContent = 'Starting…';
    $('cancel').focus();
  } else {
    $('merge').focus();
  }
}

function drawProgress(p, started) {
  const seconds = (performance.now() - started) / 1000;
  const speed = p.bytesWritten / Math.max(seconds, 1e-3);
  const eta = p.bytesWritten > 0 ? (p.bytesTotal - p.bytesWritten) / speed : Infinity;
  $('progress').max = Math.max(p.bytesTotal, 1);
  $('progress').value = p.bytesWritten;
  $('progress-text').textContent = `${bytes(p.bytesWritten)} of ${bytes(p.bytesTotal)} · ` +
    `${p.tensorsDone} of ${p.tensorsTotal} tensors · ${bytes(speed)}/s · ETA ${duration(eta)}`;
}

async function outputFolder(report, directory) {
  if (directory) return directory.getDirectoryHandle(report.outName);
  const root = await navigator.storage.getDirectory();
  return (await root.getDirectoryHandle('mixmerge')).getDirectoryHandle(report.outName);
}

async function showResult(report, directory) {
  $('progress').value = $('progress').max;
  $('progress-text').textContent = `Done in ${duration(report.seconds)}.`;
  const lambda = report.mixupLambda ? ` Mixup λ = ${report.mixupLambda}.` : '';
  $('result-summary').textContent = `Merged ${report.tensors} tensors (${bytes(report.bytesWritten)} written, ` +
    `${bytes(report.bytesRead)} read) in ${duration(report.seconds)}, seed ${report.seed}.${lambda} ` +
    `Saved to ${report.location}.${report.warnings.map((w) => ` Note: ${w}`).join('')}`;
  $('result-device').textContent = describeRun(report.device);
  $('result-device').dataset.device = report.device.kind;
  const folder = await outputFolder(report, directory);
  const rows = [];
  for (const name of report.files) {
    const file = await (await folder.getFileHandle(name)).getFile();
    const row = document.createElement('tr');
    const link = document.createElement('td');
    if (!directory) {
      const a = Object.assign(document.createElement('a'), {
        href: URL.createObjectURL(file), download: name, textContent: 'Download',
      });
      a.setAttribute('aria-label', `Download ${name}`);
      link.append(a);
    } else {
      link.textContent = 'saved';
    }
    row.append(Object.assign(document.createElement('td'), { textContent: name }),
      Object.assign(document.createElement('td'), { textContent: bytes(file.size) }), link);
    rows.push(row);
  }
  $('result-files').tBodies[0].replaceChildren(...rows);
  $('result').hidden = false;
  offerMergedResult(report.outName, folder);
  offerMergedToVisualise(report.outName, folder);
}

// ---------- start ----------

/// The device line under the title, from the worker's `gpuStatus`.
function describeDevice(gpu) {
  $('device').dataset.device = gpu.available ? 'webgpu' : 'cpu';
  $('device').textContent = gpu.available
    ? `Merging on WebGPU (${gpu.detail}, in a worker); methods without a GPU kernel merge on the CPU.`
    : `Merging on the CPU (WebAssembly, in a worker): ${gpu.detail}.`;
}

/// Which device merged, from the merge report's `device`.
function describeRun(device) {
  const cpuMethods = device.cpuMethods.length
    ? ` (no GPU kernel for ${device.cpuMethods.join(', ')})` : '';
  if (device.kind === 'webgpu') {
    const failed = device.fallback ? ` The GPU failed mid-merge (${device.fallback}); the rest ran on the CPU.` : '';
    return `Merged on WebGPU (${device.adapter}): ${device.tensorsOnGpu} tensors on the GPU, ` +
      `${device.tensorsOnCpu} on the CPU${cpuMethods}.${failed}`;
  }
  const why = device.fallback ? ` WebGPU was not used: ${device.fallback}.` : '';
  return `Merged on the CPU (WebAssembly).${why}`;
}

async function start() {
  if ('showDirectoryPicker' in window) {
    $('destination').append(new Option('a folder on this computer', 'directory'));
  }
  try {
    const hello = await engine.call('hello');
    state.methods = hello.methods;
    $('version').textContent = `mixmerge ${hello.version}`;
    describeDevice(hello.gpu);
  } catch (err) {
    $('device').textContent = `The merge engine failed to load: ${err.message}`;
    return;
  }
  for (const m of state.methods) $('method').append(new Option(m.key, m.key));
  $('method').value = 'linear';
  $('add-model').addEventListener('click', () => addSlot().el.querySelector('[data-id=name]').focus());
  // Another endpoint or token may change what a hub slot finds: read its headers again.
  for (const id of ['hub-endpoint', 'hub-token']) {
    $(id).addEventListener('change', () => {
      for (const slot of state.slots) if (slot.hub) inspectSlot(slot);
      scheduleValidate();
    });
  }
  $('no-base').addEventListener('change', () => { renderParams(); formChanged(); });
  $('method').addEventListener('change', () => { renderParams(); formChanged(); });
  $('mixup').addEventListener('change', () => { renderParams(); formChanged(); });
  for (const id of ['mixup-alpha', 'mixup-seed', 'out-dtype']) $(id).addEventListener('change', formChanged);
  for (const id of ['seed', 'shard-size']) $(id).addEventListener('change', scheduleValidate);
  $('yaml').addEventListener('input', scheduleValidate);
  $('apply-yaml').addEventListener('click', applyYaml);
  $('yaml-file').addEventListener('change', async () => {
    const file = $('yaml-file').files[0];
    if (!file) return;
    $('yaml').value = await file.text();
    await applyYaml();
  });
  $('export-yaml').addEventListener('click', () => {
    const a = Object.assign(document.createElement('a'), {
      href: URL.createObjectURL(new Blob([$('yaml').value], { type: 'text/yaml' })),
      download: 'mergekit_config.yml',
    });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  $('merge').addEventListener('click', runMerge);
  $('cancel').addEventListener('click', () => {
    if (state.merge) engine.cancel(state.merge.id);
    $('progress-text').textContent = 'Cancelling…';
  });
  setupEvaluate();
  setupVisualise();
  setupSearch(async (text) => {
    await useDemoRecipeText(text);
    $('yaml').scrollIntoView({ block: 'center' });
  });
  const anatomy = setupAnatomy(engine, anatomyModels);
  $('model-source').addEventListener('change', async () => {
    anatomy.clear();
    await useSource($('model-source').value);
    if (state.demo) anatomy.draw();
  });
  $('demo-recipe').addEventListener('change', () => useDemoRecipe($('demo-recipe').value));
  await useSource($('model-source').value);
  document.body.dataset.ready = 'true';
  anatomy.draw();
}

start();
