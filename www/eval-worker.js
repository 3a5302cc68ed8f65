// The evaluation engine's thread: the `mixmerge_eval` bundle (burn inference, WebGPU or CPU),
// fetched only when the page's Evaluate panel first opens, so merging never pays for it.
// Messages in: {id, type: 'loadModel' | 'perplexity' | 'generate' | 'loadSweep' | 'sweepPath' |
// 'sweepPlane' | 'scoreOnSweepTasks' | 'searchFiles' | 'runSearch' | 'cancel', ...}.
// Messages out: {id, type: 'result', result} | {id, type: 'error', error: {name, message}} |
// {id, type: 'progress', progress: {token, text}} (each generated token) | {id, type: 'progress',
// progress: {done, total}} (each scored point of a sweep) | {id, type: 'progress', progress:
// {done, budget, best, convergence, front, weights}} (each generation of a search).

import init, * as engine from './pkg/mixmerge_eval.js';

const ready = init();
const running = new Map(); // request id → its control object

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  if (type === 'cancel') {
    const control = running.get(data.target);
    if (control) control.cancelled = true;
    return;
  }
  const control = newControl(id);
  running.set(id, control);
  try {
    await ready;
    const result = await handle(type, data, control);
    self.postMessage({ id, type: 'result', result });
  } catch (err) {
    self.postMessage({ id, type: 'error', error: describe(err) });
  } finally {
    running.delete(id);
  }
};

function handle(type, data, control) {
  switch (type) {
    case 'loadModel':
      return engine.loadModel(data.model, data.options);
    case 'perplexity':
      return engine.perplexity(data.text, data.options, control);
    case 'generate':
      return engine.generate(data.prompt, data.options, control);
    case 'loadSweep':
      return engine.loadSweep(data.base, data.experts, data.tasks, data.options);
    case 'sweepPath':
      return engine.sweepPath(data.options, control);
    case 'sweepPlane':
      return engine.sweepPlane(data.options, control);
    case 'scoreOnSweepTasks':
      return engine.scoreOnSweepTasks(data.model);
    case 'searchFiles':
      return engine.searchFiles(data.search);
    case 'runSearch':
      return engine.runSearch(data.search, data.models, data.tasks, data.baselines, data.options, control);
    default:
      throw new Error(`unknown request ${type}`);
  }
}

/// What the wasm side polls between forward passes: `pause()` yields to this worker's event
/// loop at most every 50 ms (so a `cancel` message gets read), `onToken` streams to the page.
function newControl(id) {
  let lastYield = -Infinity; // the first pass always yields: a cancel sent at once is seen
  return {
    cancelled: false,
    pause() {
      if (performance.now() - lastYield < 50) return null;
      lastYield = performance.now();
      return yieldToEventLoop();
    },
    onToken(event) {
      self.postMessage({ id, type: 'progress', progress: event });
    },
    onPoint(event) {
      self.postMessage({ id, type: 'progress', progress: event });
    },
    onGeneration(event) {
      self.postMessage({ id, type: 'progress', progress: event });
    },
  };
}

/// A macrotask without setTimeout's 4 ms clamp: a message to ourselves.
function yieldToEventLoop() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

function describe(err) {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}
