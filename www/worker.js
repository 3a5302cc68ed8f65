// The merge engine's thread: every wasm call runs here, never on the page's thread.
// Messages in: {id, type: 'hello' | 'parseYaml' | 'inspect' | 'validate' | 'merge' | 'anatomy' |
// 'cancel', ...}.
// Messages out: {id, type: 'result', result} | {id, type: 'error', error: {name, message}} |
// {id, type: 'progress', progress}.

import init, * as engine from './pkg/mixmerge.js';

const ready = init();
const running = new Map(); // merge id → {cancelled}

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  if (type === 'cancel') {
    const flag = running.get(data.target);
    if (flag) flag.cancelled = true;
    return;
  }
  try {
    await ready;
    const result = await handle(id, type, data);
    self.postMessage({ id, type: 'result', result });
  } catch (err) {
    self.postMessage({ id, type: 'error', error: describe(err) });
  }
};

async function handle(id, type, data) {
  switch (type) {
    case 'hello':
      return { version: engine.version(), methods: engine.methods(), gpu: await engine.gpuStatus() };
    case 'parseYaml':
      return engine.parseYaml(data.text);
    case 'inspect':
      return engine.inspect(data.model, data.options);
    case 'validate':
      return engine.validate(data.yaml, data.models, data.options);
    case 'merge':
      return merge(id, data);
    case 'anatomy':
      return engine.anatomy(data.models, data.options);
    default:
      throw new Error(`unknown request ${type}`);
  }
}

async function merge(id, { yaml, models, options, outName, directory }) {
  const flag = { cancelled: false };
  running.set(id, flag);
  const parent = directory ?? (await opfsRoot());
  // An earlier result with the same name is replaced.
  await parent.removeEntry(outName, { recursive: true }).catch(() => {});
  const folder = await parent.getDirectoryHandle(outName, { create: true });
  const sink = new FolderSink(folder, !directory);
  const started = performance.now();
  try {
    const report = await engine.merge(yaml, models, sink, options,
      (progress) => self.postMessage({ id, type: 'progress', progress }), flag);
    report.seconds = (performance.now() - started) / 1000;
    report.location = directory ? `${directory.name}/${outName}` : `browser storage: mixmerge/${outName}`;
    report.storage = directory ? 'directory' : 'opfs';
    report.outName = outName;
    return report;
  } catch (err) {
    await sink.abort();
    await parent.removeEntry(outName, { recursive: true }).catch(() => {});
    throw err;
  } finally {
    running.delete(id);
  }
}

async function opfsRoot() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle('mixmerge', { create: true });
}

/// The output sink the wasm side writes through: begin/write/end queue work in order, flush()
/// resolves once the queue is drained (or rejects with the first error). In browser storage
/// (OPFS) files are written with synchronous access handles; in a picked folder, with
/// createWritable streams.
class FolderSink {
  constructor(dir, useSyncHandles) {
    this.dir = dir;
    this.sync = useSyncHandles && 'createSyncAccessHandle' in FileSystemFileHandle.prototype;
    this.queue = Promise.resolve();
    this.error = null;
    this.file = null;
    this.name = '';
  }

  enqueue(step) {
    this.queue = this.queue.then(async () => {
      if (this.error) return;
      try {
        await step();
      } catch (err) {
        this.error = new Error(`${this.name}: ${err.message ?? err}`);
      }
    });
  }

  begin(name) {
    this.enqueue(async () => {
      this.name = name;
      const handle = await this.dir.getFileHandle(name, { create: true });
      if (this.sync) {
        this.file = await handle.createSyncAccessHandle();
        this.file.truncate(0);
        this.at = 0;
      } else {
        this.file = await handle.createWritable();
      }
    });
  }

  write(bytes) {
    this.enqueue(async () => {
      if (this.sync) {
        const written = this.file.write(bytes, { at: this.at });
        if (written !== bytes.length) throw new Error(`wrote ${written} of ${bytes.length} bytes`);
        this.at += written;
      } else {
        await this.file.write(bytes);
      }
      // The bytes are a copy made for this write: detaching frees them now, not at the next
      // garbage collection.
      bytes.buffer.transfer?.(0);
    });
  }

  end() {
    this.enqueue(async () => {
      const file = this.file;
      this.file = null;
      if (this.sync) {
        file.flush();
        file.close();
      } else {
        await file.close();
      }
    });
  }

  async flush() {
    await this.queue;
    if (this.error) throw this.error;
  }

  async abort() {
    await this.queue;
    if (!this.file) return;
    try {
      if (this.sync) this.file.close();
      else await this.file.abort();
    } catch { /* already closed */ }
    this.file = null;
  }
}

function describe(err) {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}
