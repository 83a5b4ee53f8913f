//! Blockcerts proof values: multibase, base58, CBOR receipts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(receipt) = akashi_ld::blockcerts::Receipt::decode(text) {
            let _ = receipt.path_leads_to_root();
            let _ = receipt.encode();
        }
    }
});
