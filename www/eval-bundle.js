// Whether the evaluation bundle (burn, ~34 MB) is there yet. `make serve` serves the page as soon
// as the merge bundle is built and builds this one in the background, recording its progress in
// pkg/eval-status.json; the Evaluate and Visualise panels wait here until it exists.

const BUNDLE = './pkg/mixmerge_eval.js';
const STATUS = './pkg/eval-status.json';
const POLL_MS = 10_000;

async function exists(url) {
  try {
    const response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}

/// What pkg/eval-status.json says, or null where there is none (a bundle built by `make wasm`).
async function buildStatus() {
  try {
    const response = await fetch(STATUS, { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function waitingMessage(status) {
  if (status?.state === 'failed') {
    return `The evaluation bundle failed to build; its log is ${status.log}. ` +
      'Fix the cause and run `make wasm-eval` (this panel checks again every 10 s).';
  }
  if (status?.state === 'stopped') {
    return 'The evaluation bundle\'s build was stopped with the server: run `make serve` again ' +
      'or `make wasm-eval`. This panel starts by itself when it is there.';
  }
  if (status?.state === 'building') {
    const since = status.started ? ` since ${new Date(status.started * 1000).toLocaleTimeString()}` : '';
    return `The evaluation bundle is still building${since} (burn for wasm: about 10 minutes ` +
      'the first time). Merging works meanwhile; this panel starts by itself when it is there.';
  }
  return 'The evaluation bundle is not built: run `make wasm-eval` (or `make serve`). ' +
    'This panel starts by itself when it is there.';
}

/// Resolves once the bundle is served; `onWaiting(message)` is told why it is not yet, each time
/// it looks. A bundle whose build is running is not used until the build has finished.
export async function evalBundleReady(onWaiting) {
  for (;;) {
    const status = await buildStatus();
    if (status?.state !== 'building' && await exists(BUNDLE)) return;
    onWaiting(waitingMessage(status));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
