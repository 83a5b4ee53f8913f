//! JSON-LD credentials: expansion in safe mode, RDFC-1.0, and the
//! Blockcerts target hash (template and general paths).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let _ = akashi_ld::canonicalize(&document).await;
        let _ = akashi_ld::blockcerts::certificate_target_hash(&document).await;
    });
});
