//! Any command line: understood or refused by the parser, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let args = std::iter::once("curbside".into())
        .chain(text.split('\0').map(std::ffi::OsString::from))
        .take(64);
    let _ = curbside_cli::parse(args);
});
