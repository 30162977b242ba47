//! Any server answer, read as every kind of Open311 document and as an error body.
#![no_main]

use curbside_core::open311::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse::error_messages(&text);
    if let Ok(doc) = parse::document(&text) {
        let offset = chrono::FixedOffset::east_opt(3600).unwrap();
        let _ = parse::requests(&doc, offset);
        let _ = parse::services(&doc);
        let _ = parse::definition(&doc, "pothole");
        let _ = parse::submission(&doc);
        let _ = parse::token_id(&doc);
        let _ = parse::discovery(&doc);
    }
});
