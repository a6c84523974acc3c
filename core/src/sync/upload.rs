//! A photo's upload from the device, in tus 1.0.0 (the server's `/v1/uploads`, the same
//! protocol stock tus clients speak): create with `Upload-Length` and the photo's SHA-256 in
//! `Upload-Metadata`, PATCH pieces at the server's offset, ask the offset with HEAD after a cut,
//! and wait while an earlier attempt of ours still holds the upload (423).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::client::{Http, SyncOptions, pause, with_retry};
use crate::error::{Error, Result};
use crate::sync::protocol::UPLOAD_OFFSET;

/// The tus version spoken.
const TUS_VERSION: &str = "1.0.0";

/// How many times a photo upload waits for the server to let go of an earlier, dead attempt
/// (with doubling pauses up to 5 s each: about a minute with the default backoff).
const BUSY_TRIES: u32 = 16;

/// Where the server stands with an upload: bytes held of the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Offset {
    offset: u64,
    length: u64,
}

impl Offset {
    fn done(self) -> bool {
        self.offset >= self.length
    }
}

fn header_u64(resp: &reqwest::blocking::Response, name: &str) -> Result<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::Network(format!("the server's answer lacks {name}")))
}

fn tus(rb: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
    rb.header("tus-resumable", TUS_VERSION)
}

/// A tiny base64 (standard alphabet, padded) for `Upload-Metadata`: the value is a 64-character
/// hex string, so no crate is needed for it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Create the upload (or find this device's earlier one): where it stands.
fn create(http: &Http, sha: &str, size: u64) -> Result<Offset> {
    let resp = http.send_raw(tus(http
        .request(reqwest::Method::POST, "/v1/uploads")
        .header("upload-length", size.to_string())
        .header(
            "upload-metadata",
            format!("sha256 {}", base64(sha.as_bytes())),
        )))?;
    Ok(Offset {
        offset: header_u64(&resp, UPLOAD_OFFSET)?,
        length: size,
    })
}

/// HEAD: where the server stands with this device's upload.
fn head(http: &Http, path: &str) -> Result<Offset> {
    let resp = http.send_raw(tus(http.request(reqwest::Method::HEAD, path)))?;
    Ok(Offset {
        offset: header_u64(&resp, UPLOAD_OFFSET)?,
        length: header_u64(&resp, "upload-length")?,
    })
}

/// PATCH `chunk` at `offset`: the server's new offset.
fn patch(http: &Http, path: &str, offset: u64, chunk: Vec<u8>, length: u64) -> Result<Offset> {
    let resp = http.send_raw(tus(http
        .request(reqwest::Method::PATCH, path)
        .header(UPLOAD_OFFSET, offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(chunk)))?;
    Ok(Offset {
        offset: header_u64(&resp, UPLOAD_OFFSET)?,
        length,
    })
}

/// Upload one photo, resuming from the server's offset; pieces of `opts.upload_chunk`.
pub(crate) fn upload_photo(
    http: &Http,
    file: &std::path::Path,
    sha: &str,
    size: u64,
    opts: &SyncOptions,
    cancel: &AtomicBool,
) -> Result<()> {
    let mut at = with_retry(opts, cancel, || create(http, sha, size))?;
    if at.done() {
        return Ok(());
    }
    let path = format!("/v1/uploads/{sha}");
    let bytes = std::fs::read(file)?;
    let mut busy_wait = opts.backoff;
    let mut busy_tries = 0;
    while !at.done() {
        let from = (at.offset as usize).min(bytes.len());
        let to = (from + opts.upload_chunk.max(1)).min(bytes.len());
        let chunk = bytes[from..to].to_vec();
        let sent = with_retry(opts, cancel, || {
            match patch(http, &path, from as u64, chunk.clone(), size) {
                // A cut: ask where the server got to, and go on from there.
                Err(Error::Network(e)) => match head(http, &path) {
                    Ok(now) if now.offset != from as u64 => Ok(now),
                    _ => Err(Error::Network(e)),
                },
                Err(Error::Server { code, .. }) if code == "offset_mismatch" => head(http, &path),
                other => other,
            }
        });
        at = match sent {
            // An earlier attempt of ours is still open on the server (a link that died without
            // closing): it lets go when it times out, so wait and ask again — a photo that is
            // busy is late, not refused.
            Err(Error::Server { code, .. }) if code == "upload_busy" && busy_tries < BUSY_TRIES => {
                busy_tries += 1;
                pause(busy_wait, cancel)?;
                busy_wait = busy_wait.saturating_mul(2).min(Duration::from_secs(5));
                head(http, &path)?
            }
            other => other?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"image/jpeg"), "aW1hZ2UvanBlZw==");
    }
}
