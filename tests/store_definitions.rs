//! The store contract for custom field definitions, on both backends.

mod support;

use std::sync::Arc;

use footprint::store::{DefinitionWrite, FieldDefinition, FieldType, Store, MAX_DEFINITIONS};

on_both_stores!(
    definitions_start_empty,
    create_then_read_ordered_by_name,
    create_rejects_taken_name,
    create_stops_at_limit,
    replace_renames_and_frees_old_name,
    replace_rejects_taken_name,
    replace_needs_matching_id,
    delete_returns_definition_once,
);

fn definition(name: &str) -> FieldDefinition {
    FieldDefinition {
        id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        label: format!("Label of {name}"),
        kind: FieldType::SingleChoice,
        options: vec!["red".to_owned(), "green".to_owned()],
        default: Some("red".to_owned()),
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_001,
    }
}

fn names(definitions: &[FieldDefinition]) -> Vec<&str> {
    definitions.iter().map(|definition| definition.name.as_str()).collect()
}

async fn create(store: &dyn Store, definition: &FieldDefinition) {
    let outcome = store.create_field_definition(definition).await.expect("create");
    assert_eq!(outcome, DefinitionWrite::Written, "creating {}", definition.name);
}

async fn definitions_start_empty(store: Arc<dyn Store>) {
    assert_eq!(store.field_definitions().await.expect("list"), Vec::new());
    assert_eq!(store.field_definition("color").await.expect("get"), None);
}

async fn create_then_read_ordered_by_name(store: Arc<dyn Store>) {
    let color = definition("color");
    let age = FieldDefinition { kind: FieldType::Integer, options: Vec::new(), default: None, ..definition("age") };

    create(&*store, &color).await;
    create(&*store, &age).await;

    let all = store.field_definitions().await.expect("list");
    assert_eq!(names(&all), ["age", "color"]);
    assert_eq!(all[0], age, "every member round-trips");
    assert_eq!(store.field_definition("color").await.expect("get"), Some(color));
}

async fn create_rejects_taken_name(store: Arc<dyn Store>) {
    let first = definition("color");
    create(&*store, &first).await;

    let second = FieldDefinition { label: "Other".to_owned(), ..definition("color") };
    let outcome = store.create_field_definition(&second).await.expect("create");

    assert_eq!(outcome, DefinitionWrite::NameTaken);
    assert_eq!(store.field_definition("color").await.expect("get"), Some(first), "the first one stays");
}

async fn create_stops_at_limit(store: Arc<dyn Store>) {
    for index in 0..MAX_DEFINITIONS {
        create(&*store, &definition(&format!("field_{index}"))).await;
    }

    let outcome = store.create_field_definition(&definition("one_more")).await.expect("create");

    assert_eq!(outcome, DefinitionWrite::Full);
    assert_eq!(store.field_definitions().await.expect("list").len(), MAX_DEFINITIONS);
    assert_eq!(store.field_definition("one_more").await.expect("get"), None);
}

async fn replace_renames_and_frees_old_name(store: Arc<dyn Store>) {
    let color = definition("color");
    create(&*store, &color).await;

    let renamed = FieldDefinition { name: "colour".to_owned(), label: "Colour".to_owned(), ..color.clone() };
    let outcome = store.replace_field_definition("color", &renamed).await.expect("replace");

    assert_eq!(outcome, DefinitionWrite::Written);
    assert_eq!(store.field_definition("color").await.expect("get"), None);
    assert_eq!(store.field_definition("colour").await.expect("get"), Some(renamed.clone()));
    assert_eq!(names(&store.field_definitions().await.expect("list")), ["colour"]);

    let again = store.replace_field_definition("color", &renamed).await.expect("replace again");
    assert_eq!(again, DefinitionWrite::NotFound, "a repeated rename finds nothing under the old name");
}

async fn replace_rejects_taken_name(store: Arc<dyn Store>) {
    let color = definition("color");
    let size = definition("size");
    create(&*store, &color).await;
    create(&*store, &size).await;

    let clash = FieldDefinition { name: "size".to_owned(), ..color.clone() };
    let outcome = store.replace_field_definition("color", &clash).await.expect("replace");

    assert_eq!(outcome, DefinitionWrite::NameTaken);
    assert_eq!(store.field_definition("color").await.expect("get"), Some(color));
    assert_eq!(store.field_definition("size").await.expect("get"), Some(size));
}

async fn replace_needs_matching_id(store: Arc<dyn Store>) {
    let color = definition("color");
    create(&*store, &color).await;

    let stranger = FieldDefinition { label: "Changed".to_owned(), ..definition("color") };
    let wrong_id = store.replace_field_definition("color", &stranger).await.expect("replace");
    let missing = store.replace_field_definition("size", &definition("size")).await.expect("replace");

    assert_eq!(wrong_id, DefinitionWrite::NotFound);
    assert_eq!(missing, DefinitionWrite::NotFound);
    assert_eq!(store.field_definition("color").await.expect("get"), Some(color.clone()));

    let relabelled = FieldDefinition { label: "Changed".to_owned(), ..color };
    let outcome = store.replace_field_definition("color", &relabelled).await.expect("replace");
    assert_eq!(outcome, DefinitionWrite::Written);
    assert_eq!(store.field_definition("color").await.expect("get"), Some(relabelled));
}

async fn delete_returns_definition_once(store: Arc<dyn Store>) {
    let color = definition("color");
    create(&*store, &color).await;

    assert_eq!(store.delete_field_definition("color").await.expect("delete"), Some(color));
    assert_eq!(store.delete_field_definition("color").await.expect("delete again"), None);
    assert_eq!(store.field_definitions().await.expect("list"), Vec::new());

    let reused = definition("color");
    create(&*store, &reused).await;
    assert_eq!(store.field_definition("color").await.expect("get"), Some(reused), "the name is free again");
}
