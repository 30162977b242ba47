//! One lenient document tree for both formats: XML is converted to the JSON shape servers use
//! (the Spark convention), so the parsers in `parse.rs` read every response the same way.
//!
//! XML is read with quick-xml, which never expands entities: a document that declares any
//! (`<!ENTITY`, the XXE and billion-laughs vectors) is refused, and an undeclared reference
//! such as `&nbsp;` is kept as literal text.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

/// Deepest element nesting accepted; real Open311 documents are under 10 levels.
const MAX_DEPTH: usize = 64;

/// Converts an XML document to `{root_name: content}`. An element with children becomes an
/// object (repeated names become arrays); one without becomes its trimmed text. Attributes
/// (such as `is_array="true"`) are ignored.
pub(crate) fn xml_to_value(text: &str) -> Result<Value, String> {
    struct Frame {
        name: String,
        children: Map<String, Value>,
        text: String,
    }
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML: {e}"))?;
        match event {
            Event::DocType(doctype) => {
                if doctype.contains("ENTITY") {
                    return Err("XML entity declarations are not accepted".into());
                }
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("XML nested too deeply".into());
                }
                stack.push(Frame {
                    name: start.local_name().as_ref().to_string(),
                    children: Map::new(),
                    text: String::new(),
                });
            }
            Event::Empty(empty) => {
                let name = empty.local_name().as_ref().to_string();
                match stack.last_mut() {
                    Some(parent) => {
                        insert(&mut parent.children, name, Value::String(String::new()))
                    }
                    None => root = Some(single(name, Value::String(String::new()))),
                }
            }
            Event::Text(t) => {
                if let Some(frame) = stack.last_mut() {
                    frame.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(frame) = stack.last_mut() {
                    frame.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(frame) = stack.last_mut() {
                    if r.is_char_ref() {
                        if let Ok(Some(c)) = r.resolve_char_ref() {
                            frame.text.push(c);
                        }
                    } else if let Some(s) = resolve_predefined_entity(&r) {
                        frame.text.push_str(s);
                    } else {
                        frame.text.push('&');
                        frame.text.push_str(&r);
                        frame.text.push(';');
                    }
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or("unbalanced XML")?;
                let value = if frame.children.is_empty() {
                    Value::String(frame.text.trim().to_string())
                } else {
                    Value::Object(frame.children)
                };
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.children, frame.name, value),
                    None => root = Some(single(frame.name, value)),
                }
            }
            Event::Eof if stack.is_empty() => break,
            Event::Eof => return Err("XML ends inside an element".into()),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    root.ok_or_else(|| "no XML root element".into())
}

fn single(name: String, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(name, value);
    Value::Object(map)
}

fn insert(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// `value` as a list: an array's items, a lone object as one item, nothing for empty or null.
/// Servers (and XML with a single child) send one record where a list is meant.
pub(crate) fn items(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(other) => vec![other],
    }
}

/// A field as text: strings trimmed, numbers and booleans written out; empty means absent.
pub(crate) fn text(obj: &Value, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A field as a flag: `true`, `"true"`, `1`, `"1"`, `"yes"` (any case) are true.
pub(crate) fn flag(obj: &Value, key: &str) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64() != Some(0.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A field as a finite number, from a JSON number or a numeric string.
pub(crate) fn number(obj: &Value, key: &str) -> Option<f64> {
    let n = match obj.get(key)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_becomes_the_json_shape() {
        let v = xml_to_value(
            r#"<?xml version="1.0"?><services is_array="true"><service><service_code>001</service_code>
               <metadata>true</metadata></service><service><service_code>002</service_code><group/></service></services>"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"services": {"service": [
                {"service_code": "001", "metadata": "true"},
                {"service_code": "002", "group": ""}]}})
        );
    }

    #[test]
    fn text_keeps_escapes_and_spaces_between_them() {
        let v = xml_to_value("<d>Fish &amp; chips &#8211; &lt;b&gt; &nbsp;x <![CDATA[<raw>]]></d>")
            .unwrap();
        assert_eq!(v["d"], "Fish & chips – <b> &nbsp;x <raw>");
    }

    #[test]
    fn entity_declarations_are_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><d>&lol2;</d>"#;
        assert!(xml_to_value(laughs).unwrap_err().contains("entity"));
        let xxe = r#"<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>"#;
        assert!(xml_to_value(xxe).is_err());
    }

    #[test]
    fn broken_and_deep_documents_are_errors() {
        assert!(xml_to_value("<a><b></a>").is_err());
        assert!(xml_to_value("<html><body>Login to Wi-Fi").is_err());
        assert!(xml_to_value(&"<a>".repeat(100)).is_err());
        assert!(xml_to_value("just text").is_err());
    }

    #[test]
    fn lenient_fields() {
        let o = json!({"id": 638344, "s": " x ", "e": "", "b1": "true", "b2": 1, "b3": "False",
                       "lat": "41.3", "long": -72.9, "nan": "NaN"});
        assert_eq!(text(&o, "id").as_deref(), Some("638344"));
        assert_eq!(text(&o, "s").as_deref(), Some("x"));
        assert_eq!(text(&o, "e"), None);
        assert_eq!(flag(&o, "b1"), Some(true));
        assert_eq!(flag(&o, "b2"), Some(true));
        assert_eq!(flag(&o, "b3"), Some(false));
        assert_eq!(number(&o, "lat"), Some(41.3));
        assert_eq!(number(&o, "long"), Some(-72.9));
        assert_eq!(number(&o, "nan"), None);
        assert_eq!(items(Some(&json!({"a": 1}))).len(), 1);
        assert_eq!(items(Some(&json!(""))).len(), 0);
    }
}
