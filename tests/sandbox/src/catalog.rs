//! The sandbox city's services and their definitions: every datatype, every service type, and
//! the Bikeville sample's own (where bike racks should go).

use serde_json::{json, Value};

/// The service list, as GeoReport v2 JSON.
pub(crate) fn services() -> Value {
    json!([
        {"service_code": "pothole", "service_name": "Pothole", "description": "A hole in the road or bike lane.",
         "metadata": true, "type": "realtime", "keywords": "road,street,bike lane", "group": "Streets"},
        {"service_code": "streetlight", "service_name": "Street light out", "description": "A street light that is dark or flickering.",
         "metadata": false, "type": "batch", "keywords": "light,lamp", "group": "Streets"},
        {"service_code": "graffiti", "service_name": "Graffiti", "description": "Paint or tags on public property.",
         "metadata": false, "type": "realtime", "keywords": "paint,tag", "group": "Cleanliness"},
        {"service_code": "parks/tree trimming", "service_name": "Tree trimming", "description": "Branches over a path or road.",
         "metadata": true, "type": "realtime", "keywords": "tree,branch", "group": "Parks"},
        {"service_code": "bike_rack", "service_name": "A place for bike racks", "description": "Suggest where the city should put bike racks.",
         "metadata": true, "type": "realtime", "keywords": "bike,bicycle,parking,rack", "group": "Cycling"}
    ])
}

/// The definition of `code`, if it has one.
pub(crate) fn definition(code: &str) -> Option<Value> {
    match code {
        "pothole" => Some(json!({"service_code": "pothole", "attributes": [
            {"variable": false, "code": "INFO", "datatype": "text", "required": false, "order": 1,
             "datatype_description": "", "description": "Potholes are usually repaired within 3 working days.", "values": []},
            {"variable": true, "code": "WHERE", "datatype": "singlevaluelist", "required": true, "order": 2,
             "datatype_description": "", "description": "Where is it?",
             "values": [{"key": "road", "name": "Road"}, {"key": "bike", "name": "Bike lane"}, {"key": "sidewalk", "name": "Sidewalk"}]},
            {"variable": true, "code": "DEPTH", "datatype": "number", "required": true, "order": 3,
             "datatype_description": "Centimetres", "description": "How deep is it?", "values": []},
            {"variable": true, "code": "SEEN", "datatype": "datetime", "required": false, "order": 4,
             "datatype_description": "When you first saw it", "description": "First seen", "values": []},
            {"variable": true, "code": "LANE", "datatype": "string", "required": false, "order": 5,
             "datatype_description": "", "description": "Which lane?", "values": []},
            {"variable": true, "code": "HAZARDS", "datatype": "multivaluelist", "required": false, "order": 6,
             "datatype_description": "", "description": "Any hazards?",
             "values": [{"key": "water", "name": "Standing water"}, {"key": "glass", "name": "Broken glass"}, {"key": "traffic", "name": "Fast traffic"}]},
            {"variable": true, "code": "NOTES", "datatype": "text", "required": false, "order": 7,
             "datatype_description": "", "description": "Anything else?", "values": []}
        ]})),
        "parks/tree trimming" => Some(
            json!({"service_code": "parks/tree trimming", "attributes": [
                {"variable": true, "code": "SIZE", "datatype": "singlevaluelist", "required": true, "order": 1,
                 "datatype_description": "", "description": "How big is the branch?",
                 "values": [{"key": "S", "name": "Small"}, {"key": "L", "name": "Large"}]}
            ]}),
        ),
        "bike_rack" => Some(json!({"service_code": "bike_rack", "attributes": [
            {"variable": true, "code": "RACKS", "datatype": "number", "required": true, "order": 1,
             "datatype_description": "Bikes", "description": "How many bikes should it hold?", "values": []},
            {"variable": true, "code": "PLACE", "datatype": "singlevaluelist", "required": true, "order": 2,
             "datatype_description": "", "description": "What kind of place is it?",
             "values": [{"key": "sidewalk", "name": "Sidewalk"}, {"key": "plaza", "name": "Plaza"},
                        {"key": "park", "name": "Park"}, {"key": "station", "name": "Near a station"}]},
            {"variable": true, "code": "WHY", "datatype": "text", "required": false, "order": 3,
             "datatype_description": "", "description": "Why here?", "values": []}
        ]})),
        _ => None,
    }
}

/// The service's entry in the list.
pub(crate) fn service(code: &str) -> Option<Value> {
    services()
        .as_array()?
        .iter()
        .find(|s| s["service_code"] == code)
        .cloned()
}
