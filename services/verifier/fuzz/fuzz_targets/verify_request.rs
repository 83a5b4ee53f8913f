//! The body of POST /verify and what it carries: the JSON request, a
//! compact JWS's header and payload.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<verifier::routes::verify::VerifyRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verifier::checks::ob2_signed::jws_header(text);
        let _ = verifier::checks::ob2_signed::jws_payload(text);
    }
});
