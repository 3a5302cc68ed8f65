// The Anatomy panel: asks the merge worker for the task-vector anatomy of the models in the
// form and shows the SVG it returns — the figure `mixmerge sweep anatomy --svg` writes, made by
// the same code — with its numbers (the CLI's --json) to download.

const $ = (id) => document.getElementById(id);

/// `models()` returns {base: name | '', models: [{name, files} | {name, hub}], hub?: {endpoint,
/// token}} (the base among the models).
export function setupAnatomy(engine, models) {
  const urls = [];
  let round = 0;

  async function draw() {
    const current = ++round;
    const { base, models: picked, hub } = models();
    $('anatomy-error').textContent = '';
    if (!base) {
      $('anatomy-error').textContent = 'Mark a base model: task vectors are taken relative to it.';
      return;
    }
    if (picked.length < 2) {
      $('anatomy-error').textContent = 'Pick at least one model besides the base.';
      return;
    }
    const options = { base, density: Number($('anatomy-density').value), seed: Number($('anatomy-seed').value) };
    if (hub) options.hub = hub;
    if ($('anatomy-tensor').value) options.tensor = $('anatomy-tensor').value;
    $('anatomy-status').textContent = 'Computing the task vectors…';
    $('anatomy-figure').setAttribute('aria-busy', 'true');
    const started = performance.now();
    try {
      const { json, svg } = await engine.call('anatomy', { models: picked, options });
      const seconds = (performance.now() - started) / 1000;
      if (current !== round) return;
      const report = JSON.parse(json);
      // The engine escapes every name it writes into the SVG.
      $('anatomy-figure').innerHTML = svg;
      $('anatomy-figure').dataset.tensor = report.masks.tensor;
      listTensors(report);
      offerDownloads(json, svg);
      const whole = report.pairs.map(([a, b], i) =>
        `${a} · ${b}: cosine ${fixed(report.overall[i].cosine)}, sign conflict ${fixed(report.overall[i].conflict)}`);
      $('anatomy-status').textContent = `Task vectors of ${report.models.join(', ')} relative to ${report.base}, ` +
        `whole model: ${whole.join('; ') || 'one expert, no pairs'}. Computed in ${seconds.toFixed(1)} s.`;
    } catch (err) {
      if (current !== round) return;
      $('anatomy-status').textContent = '';
      $('anatomy-figure').replaceChildren(); // not the figure of other models
      $('anatomy-downloads').hidden = true;
      $('anatomy-error').textContent = err.message ?? String(err);
      $('anatomy-error').dataset.kind = err.name ?? '';
    } finally {
      if (current === round) $('anatomy-figure').removeAttribute('aria-busy');
    }
  }

  function listTensors(report) {
    const select = $('anatomy-tensor');
    const names = report.tensors.map((t) => t.name);
    const known = [...select.options].map((o) => o.value).filter(Boolean);
    if (known.join('\n') !== names.join('\n')) {
      select.replaceChildren(...names.map((n) => new Option(n, n)));
    }
    select.value = report.masks.tensor;
  }

  function offerDownloads(json, svg) {
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const link = (id, text, type) => {
      const url = URL.createObjectURL(new Blob([text], { type }));
      urls.push(url);
      $(id).href = url;
    };
    link('anatomy-svg', svg, 'image/svg+xml');
    link('anatomy-json', json, 'application/json');
    $('anatomy-downloads').hidden = false;
  }

  /// Forgets the figure (the models changed): the next one starts from the default tensor.
  function clear() {
    round++;
    $('anatomy-figure').replaceChildren();
    $('anatomy-figure').removeAttribute('aria-busy');
    delete $('anatomy-figure').dataset.tensor;
    $('anatomy-status').textContent = '';
    $('anatomy-error').textContent = '';
    $('anatomy-downloads').hidden = true;
    $('anatomy-tensor').replaceChildren(new Option('first 2-D tensor of the lowest layer', ''));
  }

  $('anatomy-draw').addEventListener('click', draw);
  $('anatomy-tensor').addEventListener('change', draw);
  return { draw, clear };
}

function fixed(value) {
  return value === null ? 'undefined' : value.toFixed(3);
}
