//! Photo bytes: checked by [`super::photo_format`] (whole JPEG, PNG, WebP or HEIC files only),
//! SHA-256 content addressing, and crash-safe writes into the store's `photos/` folder (temp
//! file, fsync, rename), so a file under its hash name always holds exactly those bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::Location;
use crate::store::photo_format;

/// Where a photo to import comes from.
#[derive(Debug, Clone)]
pub enum PhotoSource {
    /// A file on the device (e.g. what the camera intent wrote).
    Path(PathBuf),
    /// Bytes already in memory.
    Bytes(Vec<u8>),
}

/// A photo to attach to a report, rectification, verification or comment.
#[derive(Debug, Clone)]
pub struct PhotoInput {
    /// The bytes or their file.
    pub source: PhotoSource,
    /// When it was taken (device clock, UTC ms).
    pub captured_at_ms: Option<i64>,
    /// Where it was taken.
    pub location: Option<Location>,
}

impl PhotoInput {
    /// A photo from a file path, without capture metadata.
    pub fn path(p: impl Into<PathBuf>) -> Self {
        PhotoInput {
            source: PhotoSource::Path(p.into()),
            captured_at_ms: None,
            location: None,
        }
    }

    /// A photo from bytes, without capture metadata.
    pub fn bytes(b: Vec<u8>) -> Self {
        PhotoInput {
            source: PhotoSource::Bytes(b),
            captured_at_ms: None,
            location: None,
        }
    }
}

/// A photo read, checked and hashed, not yet written.
#[derive(Debug, Clone)]
pub struct StagedPhoto {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Sniffed type.
    pub mime: &'static str,
    /// Capture metadata from the input.
    pub captured_at_ms: Option<i64>,
    /// Capture place from the input.
    pub location: Option<Location>,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Is `s` a lowercase hex SHA-256 (and so safe to use as a file name)?
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub use crate::limits::MAX_PHOTO_BYTES;

fn too_large(size: u64) -> Error {
    Error::InvalidField {
        field: "photo",
        reason: format!("{size} bytes is larger than the limit of {MAX_PHOTO_BYTES} bytes"),
    }
}

/// Read and check a photo without writing anything.
pub fn stage(input: PhotoInput) -> Result<StagedPhoto> {
    let bytes = match input.source {
        PhotoSource::Bytes(b) => b,
        PhotoSource::Path(p) => {
            let missing = || Error::PhotoNotFound(p.display().to_string());
            let meta = fs::metadata(&p).map_err(|_| missing())?;
            if !meta.is_file() {
                return Err(missing());
            }
            if meta.len() > MAX_PHOTO_BYTES {
                return Err(too_large(meta.len()));
            }
            fs::read(&p).map_err(|_| missing())?
        }
    };
    if bytes.len() as u64 > MAX_PHOTO_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let mime = photo_format::inspect(&bytes).map_err(Error::from)?.mime;
    if let Some(l) = &input.location {
        l.point().validate()?;
    }
    Ok(StagedPhoto {
        sha256: sha256_hex(&bytes),
        bytes,
        mime,
        captured_at_ms: input.captured_at_ms,
        location: input.location,
    })
}

/// The file that holds (or will hold) the photo with this hash.
pub fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(&sha256[..2]).join(sha256)
}

/// Write the staged photo under its hash unless an intact copy is already there. Durable when
/// it returns: the bytes and the directory entry are synced.
pub fn write_blob(root: &Path, photo: &StagedPhoto) -> Result<PathBuf> {
    let path = blob_path(root, &photo.sha256);
    if let Ok(meta) = fs::metadata(&path)
        && meta.len() == photo.bytes.len() as u64
    {
        return Ok(path);
    }
    let dir = root.join(&photo.sha256[..2]);
    fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", photo.sha256, std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&photo.bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    if let Ok(d) = fs::File::open(&dir) {
        // Persist the rename; not all platforms allow syncing a directory, which is fine.
        let _ = d.sync_all();
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&sha256_hex(b"")));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
