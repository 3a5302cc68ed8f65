// The form's state ↔ mergekit YAML. The YAML text is what gets merged; the form writes it, and
// an imported config fills the form as far as the form can show it.

/// Words of the word-valued parameters, indexed by their encoded number (see catalog::encoded).
export const WORDS = {
  rescale: ['false', 'true', 'inverse'],
  consensus: ['sum', 'count'],
};

const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9._\/-]*$/;

function scalar(value) {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return PLAIN.test(value) && !['true', 'false', 'null', 'yes', 'no', 'on', 'off'].includes(value)
    ? value
    : JSON.stringify(value);
}

/// A parameter value as YAML: numbers stay numbers, flags become booleans, words stay words.
export function paramText(decl, value) {
  if (decl.kind === 'flag') return value ? 'true' : 'false';
  if (decl.kind in WORDS) return WORDS[decl.kind][value];
  return String(value);
}

/// state: {method (catalog entry), models: [{name, values: {param: number}}], base (name|''),
/// globals: {param: number}, mixup: {alpha, seed} | null, outDtype}.
export function toYaml(state) {
  const { method } = state;
  const lines = [`merge_method: ${method.key}`];
  const usesBase = Boolean(state.base);
  if (usesBase) lines.push(`base_model: ${scalar(state.base)}`);
  const perModel = method.params.filter((p) => p.perModel);
  lines.push('models:');
  for (const model of state.models) {
    const isBase = usesBase && model.name === state.base;
    lines.push(`  - model: ${scalar(model.name)}`);
    if (isBase && !method.mergesListedBase) continue;
    const params = perModel.filter((p) => !(state.mixup && p.name === 'weight'))
      .filter((p) => model.values[p.name] !== undefined && model.values[p.name] !== '');
    if (params.length === 0) continue;
    lines.push('    parameters:');
    for (const p of params) lines.push(`      ${p.name}: ${paramText(p, model.values[p.name])}`);
  }
  const globals = method.params.filter((p) => !p.perModel)
    .filter((p) => state.globals[p.name] !== undefined && state.globals[p.name] !== '')
    .filter((p) => p.default === null || Number(state.globals[p.name]) !== p.default);
  if (globals.length > 0) {
    lines.push('parameters:');
    for (const p of globals) lines.push(`  ${p.name}: ${paramText(p, state.globals[p.name])}`);
  }
  if (state.mixup) lines.push(`mixup: {alpha: ${state.mixup.alpha}, seed: ${state.mixup.seed}}`);
  if (state.outDtype) lines.push(`out_dtype: ${state.outDtype}`);
  return lines.join('\n') + '\n';
}

function numberOf(decl, value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const words = WORDS[decl.kind];
    if (words && words.includes(value)) return words.indexOf(value);
  }
  return undefined; // gradients and conditions: the form cannot show them
}

/// A parsed config (plain data from the engine's parseYaml) → the parts of the form state it
/// determines, plus notes on what the form cannot show.
export function fromConfig(config, methods) {
  const notes = [];
  const method = methods.find((m) => m.key === config?.merge_method);
  if (!method) throw new Error(`merge_method \`${config?.merge_method}\` is not a known method`);
  if (config.slices) notes.push('slices');
  const decl = (name) => method.params.find((p) => p.name === name);
  const models = [];
  for (const entry of config.models ?? []) {
    const name = typeof entry === 'string' ? entry : entry?.model;
    if (typeof name !== 'string') continue;
    const values = {};
    for (const [key, value] of Object.entries(entry?.parameters ?? {})) {
      const d = decl(key);
      const number = d && numberOf(d, value);
      if (number === undefined) notes.push(`${name}.${key}`);
      else values[key] = number;
    }
    models.push({ name, values });
  }
  // A sliced recipe's models are its slices' sources: each still needs a slot to read it from.
  for (const slice of config.slices ?? []) {
    for (const source of slice?.sources ?? []) {
      const name = source?.model;
      if (typeof name === 'string' && !models.some((m) => m.name === name)) models.push({ name, values: {} });
    }
  }
  const base = typeof config.base_model === 'string' ? config.base_model : '';
  if (base && !models.some((m) => m.name === base)) models.unshift({ name: base, values: {} });
  const globals = {};
  for (const [key, value] of Object.entries(config.parameters ?? {})) {
    const d = decl(key);
    const number = d && numberOf(d, value);
    if (number === undefined) notes.push(`parameters.${key}`);
    else globals[key] = number;
  }
  const mixup = config.mixup ? { alpha: config.mixup.alpha, seed: config.mixup.seed ?? 0 } : null;
  return { method, models, base, globals, mixup, outDtype: config.out_dtype ?? '', notes };
}
