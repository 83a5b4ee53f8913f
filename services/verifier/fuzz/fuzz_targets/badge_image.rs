//! Badge images as an issuer's editor uploads them and display renders
//! them: PNG headers, SVG parsing, `<use>` expansion and the allow-list
//! sanitizer must answer, never panic, recurse away the stack or balloon.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = akashi_image::check_png(data);
    if akashi_image::check_svg(data).is_ok() {
        // What passes the checks sanitizes, and the result passes them too.
        let clean = akashi_image::sanitize_svg(data).expect("a checked SVG sanitizes");
        akashi_image::check_svg(clean.as_bytes()).expect("a sanitized SVG passes the checks");
    }
});
