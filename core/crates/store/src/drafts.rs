//! Rows of the `drafts` table.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use serde::{Deserialize, Serialize};

use curbside_open311::AttributeAnswer;
use curbside_types::{
    Contact, Draft, DraftFields, DraftId, Error, Location, LocationSource, Result,
};

/// The parts of `DraftFields` kept in the `details` JSON column.
#[derive(Default, Serialize, Deserialize)]
struct Details {
    #[serde(default)]
    address_string: Option<String>,
    #[serde(default)]
    attributes: Vec<AttributeAnswer>,
    #[serde(default)]
    contact: Contact,
    #[serde(default)]
    photos: Vec<String>,
    #[serde(default)]
    profile_id: Option<String>,
    #[serde(default)]
    definition: Option<curbside_open311::ServiceDefinition>,
    #[serde(default)]
    location_confirmed: bool,
}

const COLUMNS: &str = "id, service_code, description, latitude, longitude, accuracy_m,
                       location_source, location_time, created_at, updated_at, details";

fn details_json(fields: &DraftFields) -> String {
    serde_json::to_string(&Details {
        address_string: fields.address_string.clone(),
        attributes: fields.attributes.clone(),
        contact: fields.contact.clone(),
        photos: fields.photos.clone(),
        profile_id: fields.profile_id.clone(),
        definition: fields.definition.clone(),
        location_confirmed: fields.location_confirmed,
    })
    .expect("details serialize")
}

/// Inserts a new draft.
pub fn insert(conn: &Connection, draft: &Draft) -> Result<()> {
    let loc = draft.fields.location.as_ref();
    conn.execute(
        &format!(
            "INSERT INTO drafts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            draft.id.to_string(),
            draft.fields.service_code,
            draft.fields.description,
            loc.map(|l| l.latitude),
            loc.map(|l| l.longitude),
            loc.and_then(|l| l.accuracy_m),
            loc.map(|l| l.source.as_str()),
            loc.map(|l| l.captured_at.timestamp_millis()),
            draft.created_at.timestamp_millis(),
            draft.updated_at.timestamp_millis(),
            details_json(&draft.fields),
        ],
    )?;
    Ok(())
}

/// Saves a changed draft.
pub fn update(conn: &Connection, draft: &Draft) -> Result<()> {
    let loc = draft.fields.location.as_ref();
    conn.execute(
        "UPDATE drafts SET service_code = ?2, description = ?3, latitude = ?4, longitude = ?5,
             accuracy_m = ?6, location_source = ?7, location_time = ?8, updated_at = ?9, details = ?10
         WHERE id = ?1",
        params![
            draft.id.to_string(),
            draft.fields.service_code,
            draft.fields.description,
            loc.map(|l| l.latitude),
            loc.map(|l| l.longitude),
            loc.and_then(|l| l.accuracy_m),
            loc.map(|l| l.source.as_str()),
            loc.map(|l| l.captured_at.timestamp_millis()),
            draft.updated_at.timestamp_millis(),
            details_json(&draft.fields),
        ],
    )?;
    Ok(())
}

/// Returns whether a row was deleted.
pub fn delete(conn: &Connection, id: &DraftId) -> Result<bool> {
    Ok(conn.execute("DELETE FROM drafts WHERE id = ?1", [id.to_string()])? > 0)
}

/// One draft by id.
pub fn get(conn: &Connection, id: &DraftId) -> Result<Option<Draft>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1"),
        [id.to_string()],
        |row| Ok(from_row(row)),
    )
    .optional()?
    .transpose()
}

/// Every draft, newest first.
pub fn list(conn: &Connection) -> Result<Vec<Draft>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM drafts ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], |row| Ok(from_row(row)))?;
    rows.map(|row| row?).collect()
}

/// Reads a row; SQL errors and values no build of ours writes are told apart.
fn from_row(row: &Row<'_>) -> Result<Draft> {
    let id: String = row.get(0)?;
    let id = DraftId::parse(&id).map_err(|_| Error::CorruptData("draft id".into()))?;
    let latitude: Option<f64> = row.get(3)?;
    let location = match latitude {
        None => None,
        Some(latitude) => {
            let source: String = row.get(6)?;
            Some(Location {
                latitude,
                longitude: row.get(4)?,
                accuracy_m: row.get(5)?,
                source: LocationSource::parse(&source)
                    .map_err(|_| Error::CorruptData("location source".into()))?,
                captured_at: time(row.get(7)?)?,
            })
        }
    };
    let details: String = row.get(10)?;
    let details: Details =
        serde_json::from_str(&details).map_err(|_| Error::CorruptData("draft details".into()))?;
    Ok(Draft {
        id,
        fields: DraftFields {
            service_code: row.get(1)?,
            location,
            description: row.get(2)?,
            address_string: details.address_string,
            attributes: details.attributes,
            contact: details.contact,
            photos: details.photos,
            profile_id: details.profile_id,
            definition: details.definition,
            location_confirmed: details.location_confirmed,
        },
        created_at: time(row.get(8)?)?,
        updated_at: time(row.get(9)?)?,
    })
}

fn time(millis: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| Error::CorruptData("timestamp".into()))
}

/// Removes every draft; how many.
pub fn clear(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM drafts", [])?)
}
