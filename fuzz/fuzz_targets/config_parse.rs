#![no_main]
//! Fuzzes the whole configuration pipeline (preprocess, tree, typed model, validation).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut opts = keepalived_rs::config::LoadOptions::default();
    opts.preprocess.config_id = "fuzz".into();
    let _ = keepalived_rs::config::load_str("/nonexistent/fuzz.conf", &text, &opts);
});
