//! Writing answers in JSON or XML, the XML in the spec's shape (`<service_requests><request>`).

use serde_json::Value;

/// The wire format, from the URL suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

impl Format {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// `value` as a document: in XML, a top-level array becomes `<root><item>…</item></root>`.
pub(crate) fn render(format: Format, root: &str, item: &str, value: &Value) -> String {
    match format {
        Format::Json => value.to_string(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            match value {
                Value::Array(items) => {
                    out.push_str(&format!("<{root}>"));
                    for v in items {
                        element(&mut out, item, v);
                    }
                    out.push_str(&format!("</{root}>"));
                }
                other => element(&mut out, root, other),
            }
            out
        }
    }
}

/// The element name of the items of a list called `list`.
fn item_name(list: &str) -> &str {
    match list {
        "attributes" => "attribute",
        "values" => "value",
        "notes" => "note",
        "endpoints" => "endpoint",
        "formats" => "format",
        "media_urls" => "media_url",
        "detail" => "list-item",
        _ => "item",
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for v in items {
                element(out, item_name(name), v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) if s.is_empty() => out.push_str(&format!("<{name}/>")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
