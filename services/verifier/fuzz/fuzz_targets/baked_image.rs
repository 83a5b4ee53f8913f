//! Uploaded images: PNG chunks (bounded decompression) and SVG (no DOCTYPE,
//! no entities) must answer an error, never panic, hang or balloon.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verifier::domain::baked::extract(data);
});
