//! A point of the search space written into the recipe: the mergekit YAML that point is, which
//! the evaluation parses like any recipe and the result hands to the normal merge.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::spec::{written_value, FreeParameter, Group, Place, SearchSpec};

/// Free values are written with this many decimals, and evaluated as written.
const DECIMALS: i32 = 4;

pub fn rounded(x: f64) -> f64 {
    let scale = libm::pow(10.0, f64::from(DECIMALS));
    libm::round(x * scale) / scale
}

impl SearchSpec {
    /// Each free parameter's start, in its own units.
    pub fn start(&self) -> Vec<f64> {
        self.free.iter().map(|f| f.start).collect()
    }

    /// `unit` (one coordinate in `[0, 1]` per free parameter, clamped) in the parameters' units,
    /// rounded as the recipe writes them.
    pub fn from_unit(&self, unit: &[f64]) -> Vec<f64> {
        self.free
            .iter()
            .zip(unit)
            .map(|(f, u)| {
                let u = u.clamp(0.0, 1.0);
                match f.place {
                    // A choice: the index of the model whose share of [0, 1] holds `u`.
                    Place::SliceModel(_) => (u * f.bounds.1).floor().min(f.bounds.1 - 1.0),
                    _ => rounded(f.bounds.0 + u * (f.bounds.1 - f.bounds.0)),
                }
            })
            .collect()
    }

    pub fn to_unit(&self, values: &[f64]) -> Vec<f64> {
        self.free
            .iter()
            .zip(values)
            .map(|(f, v)| match f.place {
                Place::SliceModel(_) => (v + 0.5) / f.bounds.1,
                _ => (v - f.bounds.0) / (f.bounds.1 - f.bounds.0),
            })
            .collect()
    }

    /// The recipe with `values` (one per free parameter) in place.
    pub fn recipe_at(&self, values: &[f64]) -> Mapping {
        assert_eq!(
            values.len(),
            self.free.len(),
            "one value per free parameter"
        );
        let mut by_place: BTreeMap<(Place, &str), Vec<(&FreeParameter, f64)>> = BTreeMap::new();
        for (f, &v) in self.free.iter().zip(values) {
            let key = f.param.map_or("alpha", |p| p.key());
            by_place.entry((f.place, key)).or_default().push((f, v));
        }
        let mut recipe = self.recipe.clone();
        for ((place, key), dims) in by_place {
            if let Place::SliceModel(slice) = place {
                let model = Value::String(self.choices[dims[0].1 as usize].clone());
                set_slice_model(&mut recipe, slice, model);
                continue;
            }
            let value = match place {
                Place::Mixup => number(dims[0].1),
                _ => composite(&dims, written_value(&self.recipe, place, key)),
            };
            set(&mut recipe, place, key, value);
        }
        recipe
    }

    /// [`Self::recipe_at`] as YAML text.
    pub fn recipe_text(&self, values: &[f64]) -> String {
        serde_yaml::to_string(&self.recipe_at(values)).expect("a mapping serialises")
    }
}

fn number(x: f64) -> Value {
    Value::Number(x.into())
}

/// One parameter's value from its free coordinates: a number, a gradient (`points` > 1), or a
/// list of `{filter, value}` per group ending in the catch-all (the `embeddings` group, or the
/// recipe's own value).
fn composite(dims: &[(&FreeParameter, f64)], written: Option<&Value>) -> Value {
    let of_group = |group: Option<Group>| -> Value {
        let values: Vec<f64> = dims
            .iter()
            .filter(|(f, _)| f.group == group)
            .map(|(_, v)| *v)
            .collect();
        match values.len() {
            1 => number(values[0]),
            _ => Value::Sequence(values.into_iter().map(number).collect()),
        }
    };
    if dims.iter().all(|(f, _)| f.group.is_none()) {
        return of_group(None);
    }
    let mut conditions = Vec::new();
    let mut catch_all = written.cloned();
    for group in Group::ALL {
        if !dims.iter().any(|(f, _)| f.group == Some(group)) {
            continue;
        }
        let value = of_group(Some(group));
        if group.filters().is_empty() {
            catch_all = Some(value);
            continue;
        }
        for filter in group.filters() {
            let mut condition = Mapping::new();
            condition.insert("filter".into(), Value::String((*filter).into()));
            condition.insert("value".into(), value.clone());
            conditions.push(Value::Mapping(condition));
        }
    }
    let mut last = Mapping::new();
    last.insert(
        "value".into(),
        catch_all.expect("the parser requires a catch-all value"),
    );
    conditions.push(Value::Mapping(last));
    Value::Sequence(conditions)
}

fn set(recipe: &mut Mapping, place: Place, key: &str, value: Value) {
    let parameters = match place {
        Place::Model(i) => {
            let Some(Value::Mapping(entry)) = recipe
                .get_mut("models")
                .and_then(|m| m.as_sequence_mut())
                .and_then(|m| m.get_mut(i))
            else {
                unreachable!("the parser checked models[{i}]")
            };
            mapping_entry(entry, "parameters")
        }
        Place::Top => mapping_entry(recipe, "parameters"),
        Place::Mixup => mapping_entry(recipe, "mixup"),
        Place::SliceModel(_) => unreachable!("written by set_slice_model"),
    };
    parameters.insert(Value::String(key.into()), value);
}

fn set_slice_model(recipe: &mut Mapping, slice: usize, model: Value) {
    let source = recipe
        .get_mut("slices")
        .and_then(|s| s.get_mut(slice))
        .and_then(|s| s.get_mut("sources"))
        .and_then(|s| s.get_mut(0))
        .and_then(Value::as_mapping_mut)
        .expect("the parser checked the slice's one source");
    source.insert("model".into(), model);
}

/// `map[key]` as a mapping, created (or replacing a `null`) when absent.
fn mapping_entry<'a>(map: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    let slot = map
        .entry(Value::String(key.into()))
        .or_insert(Value::Mapping(Mapping::new()));
    if !slot.is_mapping() {
        *slot = Value::Mapping(Mapping::new());
    }
    slot.as_mapping_mut().expect("just made a mapping")
}
