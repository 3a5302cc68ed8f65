// What the page saved in its browser storage (OPFS, folder mixmerge/), read from a test.

/// {file: sha256} of the output folder `name` in `page`'s OPFS.
export function savedFiles(page, name) {
  return page.evaluate(async (name) => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('mixmerge')).getDirectoryHandle(name);
    const files = {};
    for await (const [file, handle] of dir.entries()) {
      const bytes = await (await handle.getFile()).arrayBuffer();
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      files[file] = [...hash].map((b) => b.toString(16).padStart(2, '0')).join('');
    }
    return files;
  }, name);
}

/// Whether `page`'s OPFS holds an output folder `name` (a failed merge must leave none).
export function savedFolderExists(page, name) {
  return page.evaluate(async (name) => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('mixmerge');
    return root.getDirectoryHandle(name).then(() => true, () => false);
  }, name);
}
