//! Custom field definitions on Redis: one hash from name to definition
//! JSON under its own hash tag, changed by scripts so that the name checks
//! and the write are atomic.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use super::decode::{self, corrupt};
use super::scripts::Scripts;
use crate::store::keys::Keys;
use crate::store::{DefinitionWrite, FieldDefinition, Result, MAX_DEFINITIONS};

fn decode_definition(json: &str) -> Result<FieldDefinition> {
    serde_json::from_str(json).map_err(|error| corrupt("field definition", error.to_string()))
}

fn encode_definition(definition: &FieldDefinition) -> Result<String> {
    serde_json::to_string(definition).map_err(|error| corrupt("field definition", error.to_string()))
}

fn decode_outcome(reply: &str) -> Result<DefinitionWrite> {
    match reply {
        "written" => Ok(DefinitionWrite::Written),
        "name_taken" => Ok(DefinitionWrite::NameTaken),
        "full" => Ok(DefinitionWrite::Full),
        "not_found" => Ok(DefinitionWrite::NotFound),
        other => Err(corrupt("field definition", format!("unexpected script reply {other:?}"))),
    }
}

pub(super) async fn all(connection: &mut ConnectionManager, keys: &Keys) -> Result<Vec<FieldDefinition>> {
    let reply: Value = connection.hgetall(keys.field_definitions()).await?;
    let mut definitions = Vec::new();
    for (_, json) in decode::hash(reply, "field definitions")? {
        definitions.push(decode_definition(&json)?);
    }
    definitions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(definitions)
}

pub(super) async fn get(
    connection: &mut ConnectionManager,
    keys: &Keys,
    name: &str,
) -> Result<Option<FieldDefinition>> {
    let json: Option<String> = connection.hget(keys.field_definitions(), name).await?;
    json.as_deref().map(decode_definition).transpose()
}

pub(super) async fn create(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    definition: &FieldDefinition,
) -> Result<DefinitionWrite> {
    let reply: String = scripts
        .create_definition
        .key(keys.field_definitions())
        .arg(&definition.name)
        .arg(encode_definition(definition)?)
        .arg(MAX_DEFINITIONS)
        .invoke_async(connection)
        .await?;
    decode_outcome(&reply)
}

pub(super) async fn replace(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    name: &str,
    definition: &FieldDefinition,
) -> Result<DefinitionWrite> {
    let reply: String = scripts
        .replace_definition
        .key(keys.field_definitions())
        .arg(name)
        .arg(definition.id.as_hyphenated().to_string())
        .arg(&definition.name)
        .arg(encode_definition(definition)?)
        .invoke_async(connection)
        .await?;
    decode_outcome(&reply)
}

pub(super) async fn delete(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    name: &str,
) -> Result<Option<FieldDefinition>> {
    let json: Option<String> =
        scripts.delete_definition.key(keys.field_definitions()).arg(name).invoke_async(connection).await?;
    json.as_deref().map(decode_definition).transpose()
}
