// The page's handle on a wasm engine: requests to its module worker, answered by id. The merge
// engine runs in worker.js; the evaluation engine (a larger bundle) in eval-worker.js, started
// only when the Evaluate panel is opened.

export class Engine {
  constructor(script = './worker.js') {
    this.worker = new Worker(new URL(script, import.meta.url), { type: 'module' });
    this.next = 1;
    this.pending = new Map();
    this.worker.onmessage = ({ data }) => {
      const request = this.pending.get(data.id);
      if (!request) return;
      if (data.type === 'progress') {
        request.onProgress?.(data.progress);
        return;
      }
      this.pending.delete(data.id);
      if (data.type === 'result') request.resolve(data.result);
      else request.reject(Object.assign(new Error(data.error.message), { name: data.error.name }));
    };
    this.worker.onerror = (event) => {
      // A worker that failed to load fails every request, later ones included.
      this.failure = new Error(event.message || `the engine's worker (${script}) failed to start`);
      for (const request of this.pending.values()) request.reject(this.failure);
      this.pending.clear();
    };
  }

  /// Sends a request; `onProgress` receives progress messages. Returns {id, promise}.
  start(type, payload = {}, onProgress = null) {
    const id = this.next++;
    const promise = new Promise((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else this.pending.set(id, { resolve, reject, onProgress });
    });
    this.worker.postMessage({ id, type, ...payload });
    return { id, promise };
  }

  call(type, payload = {}) {
    return this.start(type, payload).promise;
  }

  cancel(id) {
    this.worker.postMessage({ id: 0, type: 'cancel', target: id });
  }
}
