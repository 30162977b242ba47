//! Any bytes as a photo file (JPEG, PNG, WebP or anything): a typed error or a photo, never
//! a crash, within the pipeline's memory bounds.
#![no_main]

use curbside_core::photo::{process, PhotoProfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::write(&input, data).unwrap();
    let profile = PhotoProfile {
        max_edge: 256,
        ..PhotoProfile::default()
    };
    let _ = process(&input, &dir.path().join("out"), &profile);
});
