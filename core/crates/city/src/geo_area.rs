//! A city's service area, with the `geo` crate: is a report's position inside it?

use geo::{Contains, MultiPolygon, Point};

/// The area a city serves (polygons with holes).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceArea(MultiPolygon<f64>);

impl ServiceArea {
    /// Reads a GeoJSON Polygon or MultiPolygon, or a Feature / FeatureCollection of them.
    pub fn from_geojson(value: &serde_json::Value) -> Result<Self, String> {
        // The geojson crate indexes positions as it converts them: one with fewer than two
        // numbers would panic there (found by fuzzing), so every position is checked first.
        check_positions(value)?;
        let json: geojson::GeoJson =
            serde_json::from_value(value.clone()).map_err(|e| format!("not GeoJSON: {e}"))?;
        let geometry: geo::Geometry<f64> =
            geo::Geometry::try_from(json).map_err(|e| format!("unusable geometry: {e}"))?;
        let polygons = match geometry {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            geo::Geometry::GeometryCollection(c) => MultiPolygon(
                c.0.into_iter()
                    .flat_map(|g| match g {
                        geo::Geometry::Polygon(p) => vec![p],
                        geo::Geometry::MultiPolygon(m) => m.0,
                        _ => vec![],
                    })
                    .collect(),
            ),
            _ => return Err("must be a Polygon or MultiPolygon".into()),
        };
        if polygons.0.is_empty() {
            return Err("has no polygon".into());
        }
        Ok(ServiceArea(polygons))
    }

    /// True when the point (latitude, longitude) is inside (not in a hole).
    pub fn contains(&self, latitude: f64, longitude: f64) -> bool {
        self.0.contains(&Point::new(longitude, latitude))
    }
}

/// Every `coordinates` position in `value` (at any depth): two or three finite numbers.
fn check_positions(value: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    fn positions(v: &Value) -> Result<(), String> {
        match v {
            Value::Array(items) if items.iter().all(Value::is_number) => {
                let finite = items.iter().all(|n| n.as_f64().is_some_and(f64::is_finite));
                match (2..=3).contains(&items.len()) && finite {
                    true => Ok(()),
                    false => Err("a position must be [longitude, latitude]".into()),
                }
            }
            Value::Array(items) => items.iter().try_for_each(positions),
            _ => Err("coordinates must be arrays of positions".into()),
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(coordinates) = map.get("coordinates") {
                positions(coordinates)?;
            }
            map.iter()
                .filter(|(k, _)| *k != "coordinates")
                .try_for_each(|(_, v)| check_positions(v))
        }
        Value::Array(items) => items.iter().try_for_each(check_positions),
        _ => Ok(()),
    }
}
