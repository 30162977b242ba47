//! Any document as a city profile: refused with the field named, or a profile that works.
#![no_main]

use curbside_core::city::CityProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = CityProfile::parse(&String::from_utf8_lossy(data)) {
        let _ = profile.area();
    }
});
