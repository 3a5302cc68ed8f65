// A Hugging Face hub on 127.0.0.1 for tests without the internet: the API's file listing,
// `resolve` URLs that redirect LFS files to a second host (the "CDN"), byte ranges, CORS,
// ETag and hash headers, optional bearer-token gating, and injected faults.
//
// Layout of ROOT: ROOT/owner/name/ holds revision `main`; ROOT/owner/name@rev/ holds `rev`.
// Each revision's commit is sha1("owner/name@rev"), and resolves too.
//
// Used by the browser tests (import startHubEmulator) and the native ones:
//   node www/tests/hub-emulator.mjs ROOT [--fault 429|500|reset|short --every N]
//        [--corrupt] [--truncate] [--token T] [--stats]
// prints one JSON line {"endpoint", "cdn"} and serves until stdin closes (then, with --stats,
// a line of what it served on stderr).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const LFS_EXTENSIONS = ['.safetensors', '.gguf', '.bin', '.pt', '.pth', '.ckpt'];
const TRUNCATED_BY = 100;

const sha1 = (text) => crypto.createHash('sha1').update(text).digest('hex');
const gitBlobId = (bytes) =>
  crypto.createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
const isLfs = (name) => LFS_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

function listFiles(dir, prefix = '') {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(path.join(dir, entry.name), rel));
    else files.push(rel);
  }
  return files.sort();
}

/** The revisions under ROOT: `owner/name` → { rev or commit → { dir, commit } }. */
function scanRepos(root) {
  const repos = new Map();
  for (const owner of fs.readdirSync(root)) {
    const ownerDir = path.join(root, owner);
    if (!fs.statSync(ownerDir).isDirectory()) continue;
    for (const folder of fs.readdirSync(ownerDir)) {
      const [name, rev = 'main'] = folder.split('@');
      const repo = `${owner}/${name}`;
      const commit = sha1(`${repo}@${rev}`);
      const entry = { dir: path.join(ownerDir, folder), commit };
      if (!repos.has(repo)) repos.set(repo, new Map());
      repos.get(repo).set(rev, entry).set(commit, entry);
    }
  }
  return repos;
}

/** File metadata, hashed once: size, sha256 for LFS files, git blob id for the rest. */
function describe(file, cache) {
  if (!cache.has(file)) {
    const bytes = fs.readFileSync(file);
    cache.set(file, {
      size: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      blobId: gitBlobId(bytes),
    });
  }
  return cache.get(file);
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range, Authorization',
  'Access-Control-Expose-Headers':
    'Content-Range, Content-Length, ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size',
};

/**
 * Starts the emulator. options: { root, token?, fault?: { kind, every }, corrupt?, truncate? }.
 * Returns { endpoint, cdn, stats: { rangeRequests, faults, bytesServed }, close() }.
 */
export async function startHubEmulator(options) {
  const { root, token, fault, corrupt = false, truncate = false } = options;
  const meta = new Map();
  const stats = { rangeRequests: 0, faults: 0, bytesServed: 0 };
  const blobs = new Map(); // sha256 → absolute path
  let cdnUrl = '';

  const revision = (repo, rev) => scanRepos(root).get(repo)?.get(decodeURIComponent(rev));
  const authorised = (req) => !token || req.headers.authorization === `Bearer ${token}`;
  const send = (res, status, headers = {}, body = '') => {
    res.writeHead(status, { ...CORS, ...headers });
    res.end(body);
  };

  const listing = (repo, entry) => ({
    id: repo,
    sha: entry.commit,
    siblings: listFiles(entry.dir).map((rfilename) => {
      const info = describe(path.join(entry.dir, rfilename), meta);
      const sibling = { rfilename, size: info.size, blobId: info.blobId };
      if (isLfs(rfilename)) sibling.lfs = { sha256: info.sha256, size: info.size, pointerSize: 134 };
      return sibling;
    }),
  });

  /** Serves `file` whole or the byte range asked for; the CDN applies the faults. */
  function serveBytes(req, res, file, headers, faulty) {
    const full = fs.statSync(file).size;
    const size = faulty && truncate ? Math.max(0, full - TRUNCATED_BY) : full;
    // Only the bytes asked for are read, so big files serve at the disk's pace.
    const read = (first, last) => {
      const bytes = Buffer.alloc(last - first + 1);
      const fd = fs.openSync(file, 'r');
      try { fs.readSync(fd, bytes, 0, bytes.length, first); } finally { fs.closeSync(fd); }
      const middle = full >> 1;
      if (faulty && corrupt && middle >= first && middle <= last) bytes[middle - first] ^= 0xff;
      return bytes;
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!range) {
      stats.bytesServed += size;
      const body = req.method === 'HEAD' || size === 0 ? '' : read(0, size - 1);
      return send(res, 200, { ...headers, 'Content-Length': size }, body);
    }
    const first = Number(range[1]);
    let last = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (first >= size) {
      return send(res, 416, { 'Content-Range': `bytes */${size}` });
    }
    stats.rangeRequests += 1;
    const kind = faulty && fault && stats.rangeRequests % fault.every === 0 ? fault.kind : null;
    if (kind) stats.faults += 1;
    if (kind === '429' || kind === '500') {
      return send(res, Number(kind), { 'Retry-After': '0' }, 'injected fault');
    }
    if (kind === 'short') last = first + ((last - first) >> 1);
    const body = read(first, last);
    res.writeHead(206, {
      ...CORS,
      ...headers,
      'Content-Range': `bytes ${first}-${last}/${size}`,
      'Content-Length': body.length,
    });
    if (kind === 'reset') {
      res.write(body.subarray(0, body.length >> 1));
      stats.bytesServed += body.length >> 1;
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    stats.bytesServed += body.length;
    res.end(req.method === 'HEAD' ? '' : body);
  }

  const hub = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') return send(res, 204);
    const url = new URL(req.url, 'http://hub');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!api && !resolve) return send(res, 404, {}, 'not found');
    if (!authorised(req)) return send(res, 401, {}, 'gated: a token is required');
    if (api) {
      const entry = revision(api[1], api[2]);
      if (!entry) return send(res, 404, {}, 'Revision Not Found');
      return send(res, 200, { 'Content-Type': 'application/json' }, JSON.stringify(listing(api[1], entry)));
    }
    const [, repo, rev, name] = resolve;
    const entry = revision(repo, rev);
    const file = entry && path.join(entry.dir, decodeURIComponent(name));
    if (!file || !file.startsWith(entry.dir + path.sep) || !fs.existsSync(file)) {
      return send(res, 404, { 'X-Error-Code': 'EntryNotFound' }, 'Entry not found');
    }
    const info = describe(file, meta);
    const headers = { 'X-Repo-Commit': entry.commit };
    if (!isLfs(name)) return serveBytes(req, res, file, { ...headers, ETag: `"${info.blobId}"` }, false);
    blobs.set(info.sha256, file);
    send(res, 302, {
      ...headers,
      'X-Linked-Etag': `"${info.sha256}"`,
      'X-Linked-Size': info.size,
      ETag: `"${info.sha256}"`,
      Location: `${cdnUrl}/blobs/${info.sha256}?file=${encodeURIComponent(name)}`,
    });
  });

  const cdn = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') return send(res, 204);
    const url = new URL(req.url, 'http://cdn');
    const blob = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = blob && blobs.get(blob[1]);
    if (!file) return send(res, 403, {}, 'expired or unknown link');
    serveBytes(req, res, file, { ETag: `"cdn-${blob[1].slice(0, 16)}"` }, true);
  });

  const listen = (server) =>
    new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${server.address().port}`)));
  const endpoint = await listen(hub);
  cdnUrl = await listen(cdn);
  return {
    endpoint,
    cdn: cdnUrl,
    stats,
    close: () => Promise.all([hub, cdn].map((s) => new Promise((ok) => { s.closeAllConnections(); s.close(ok); }))),
  };
}

function parseArgs(argv) {
  const options = { root: argv[0] };
  for (let i = 1; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--fault') options.fault = { kind: argv[++i], every: options.fault?.every ?? 3 };
    else if (flag === '--every') options.fault = { ...options.fault, every: Number(argv[++i]) };
    else if (flag === '--corrupt') options.corrupt = true;
    else if (flag === '--truncate') options.truncate = true;
    else if (flag === '--token') options.token = argv[++i];
    else if (flag === '--stats') options.printStats = true;
    else throw new Error(`hub-emulator: unknown flag ${flag}`);
  }
  if (!options.root) throw new Error('usage: hub-emulator.mjs ROOT [flags]');
  return options;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = parseArgs(process.argv.slice(2));
  const emulator = await startHubEmulator(options);
  console.log(JSON.stringify({ endpoint: emulator.endpoint, cdn: emulator.cdn }));
  process.stdin.resume();
  process.stdin.on('end', async () => {
    if (options.printStats) console.error(JSON.stringify(emulator.stats));
    await emulator.close();
    process.exit(0);
  });
}
