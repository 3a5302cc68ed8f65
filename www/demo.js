// The demo shipped with the page (www/demo, made by `mixmerge train-demo`): the base and its
// experts, fetched over HTTP as Files, and the recipes listed in demo/recipes/index.json.
// Which models exist is read from demo/scores.json, so retrained or renamed experts need no
// change here.

const ROOT = new URL('./demo/', import.meta.url);
/// train-demo writes the pre-trained model as base/; every other scored model is an expert.
const BASE = 'base';
/// What each demo folder holds (www/demo/README.md); the weights are required.
const FILES = [['config.json', false], ['model.safetensors', true], ['tokenizer.json', false]];

async function fetchOk(path) {
  const response = await fetch(new URL(path, ROOT));
  if (!response.ok) throw new Error(`demo/${path}: HTTP ${response.status}`);
  return response;
}

async function modelFiles(name) {
  const files = [];
  for (const [file, required] of FILES) {
    try {
      const blob = await (await fetchOk(`${name}/${file}`)).blob();
      files.push(new File([blob], file));
    } catch (err) {
      if (required) throw err;
    }
  }
  return files;
}

let loaded = null;

/// {base, models: [{name, files}] (the base first), recipes: [{name, file}]}, fetched once.
export function loadDemo() {
  loaded ??= (async () => {
    const scores = await (await fetchOk('scores.json')).json();
    const names = Object.keys(scores.scores ?? {});
    if (!names.includes(BASE)) throw new Error(`demo/scores.json scores no \`${BASE}\` model`);
    const ordered = [BASE, ...names.filter((n) => n !== BASE)];
    const models = await Promise.all(ordered.map(async (name) => ({ name, files: await modelFiles(name) })));
    const recipes = (await (await fetchOk('recipes/index.json')).json()).recipes;
    return { base: BASE, models, recipes };
  })();
  loaded.catch(() => { loaded = null; });
  return loaded;
}

/// The text of one demo recipe (its model paths are relative to the recipe: ../base, …).
export async function recipeText(file) {
  return (await fetchOk(`recipes/${file}`)).text();
}
