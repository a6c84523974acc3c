//! Uploaded photo bytes, hostile: what the server does with a finished upload (type sniffing,
//! hashing, the structure walk) and with a photo shown in a list (decoding it into a thumbnail). Nothing may panic or
//! run away with memory, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = xuncha_core::store::sniff_image_type(data);
    let _ = xuncha_core::store::inspect_image(data);
    let _ = xuncha_core::store::sha256_hex(data);
    let _ = xuncha_server::handlers::thumbnails::make_thumbnail(data);
});
