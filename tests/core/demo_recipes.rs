//! The page's demo recipe chooser reads www/demo/recipes/index.json: it must list exactly the
//! recipe files there, and each must plan against the shipped models.

use std::collections::BTreeSet;
use std::path::Path;

use mixmerge::native::{prepare, read_config};

#[test]
fn the_recipe_index_lists_every_demo_recipe_and_each_plans() {
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo/recipes");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(recipes.join("index.json")).unwrap())
            .unwrap();
    let listed: Vec<&str> = index["recipes"]
        .as_array()
        .expect("index.json: a `recipes` list")
        .iter()
        .map(|r| {
            assert!(r["name"].as_str().is_some_and(|n| !n.is_empty()), "{r}");
            r["file"].as_str().expect("each recipe names its file")
        })
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&recipes)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    let listed_set: BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        listed_set, on_disk,
        "index.json lists the recipe files, no more, no less"
    );
    assert_eq!(listed.len(), listed_set.len(), "each recipe once");
    for file in listed {
        let spec = read_config(&recipes.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        prepare(spec, Some(0)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}
