//! Photo bytes, wherever they live: a folder on this machine or an S3-compatible bucket, through
//! one [`object_store::ObjectStore`], so several server instances can share them. Every write is
//! a whole object (a crash never leaves half a photo under its name):
//!
//! - `ab/abcdef…` — a photo, named by its SHA-256 (the first two hex digits are a folder);
//! - `partial/SHA.DEVICE/000000000000` — the bytes of an upload in progress, one object per piece
//!   received, named by its offset; any instance can add the next piece or put them together;
//! - `thumbs/SHA.jpg`, `thumbs/SHA.undecodable` — a list thumbnail, or the mark that the photo
//!   could not be decoded.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use xuncha_core::store::sha256_hex;

/// Where photo bytes are kept.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// For logs and `usage`: the folder or bucket.
    pub describe: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

/// A storage failure, as the core's I/O error (the HTTP layer answers 500 and logs it).
fn io(e: object_store::Error) -> xuncha_core::Error {
    xuncha_core::Error::Io(std::io::Error::other(e.to_string()))
}

type BlobResult<T> = Result<T, xuncha_core::Error>;

/// A setting that cannot be used, naming it.
fn bad_setting(key: &'static str, why: &str) -> xuncha_core::Error {
    xuncha_core::Error::InvalidField {
        field: key,
        reason: why.to_string(),
    }
}

/// How to reach an S3-compatible bucket beyond what the `AWS_*` environment says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The service's address, e.g. `http://127.0.0.1:9000` or `https://oss-cn-hangzhou.aliyuncs.com`.
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`, which MinIO-likes accept).
    pub region: Option<String>,
    /// `bucket.endpoint/key` requests instead of `endpoint/bucket/key` (Aliyun OSS wants them).
    pub virtual_hosted: bool,
}

/// Where photo bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PhotoLocation {
    /// `photos/` in the server's data folder.
    #[default]
    DataFolder,
    /// A folder of this machine.
    Folder(std::path::PathBuf),
    /// `s3://bucket/prefix`.
    S3 {
        /// The location.
        url: String,
        /// How to reach it.
        settings: S3Settings,
    },
}

impl PhotoLocation {
    /// `s3://…` is a bucket; anything else a folder.
    pub fn parse(value: &str, settings: S3Settings) -> Self {
        if value.starts_with("s3://") {
            PhotoLocation::S3 {
                url: value.to_string(),
                settings,
            }
        } else {
            PhotoLocation::Folder(value.into())
        }
    }
}

/// The pieces an upload keeps per photo and device are named by this tag of the device id
/// (any string a device chose, so never used in a name as it is).
fn device_tag(device_id: &str) -> String {
    sha256_hex(device_id.as_bytes())[..16].to_string()
}

impl Blobs {
    /// Photos in a folder of this machine (created if missing).
    pub fn local(dir: &FsPath) -> BlobResult<Self> {
        std::fs::create_dir_all(dir)?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(io)?
            .with_automatic_cleanup(true);
        Ok(Blobs {
            store: Arc::new(fs),
            describe: dir.display().to_string(),
        })
    }

    /// Photos in any object store.
    pub fn from_store(store: Arc<dyn ObjectStore>, describe: String) -> Self {
        Blobs { store, describe }
    }

    /// Photos in an S3-compatible bucket (MinIO, Ceph, Aliyun OSS, Huawei OBS, AWS):
    /// `s3://bucket/prefix`, credentials and region from the standard `AWS_*` environment
    /// variables, the endpoint from `settings` or `AWS_ENDPOINT_URL`. Path-style requests unless
    /// told otherwise (what MinIO-likes expect); plain HTTP only to an `http://` endpoint.
    pub fn s3(url: &str, settings: &S3Settings) -> BlobResult<Self> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad_setting("photos", "an S3 location starts with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad_setting("photos", "s3:// needs a bucket name"));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(settings.virtual_hosted)
            // A bucket that does not answer fails a request within seconds (the phone retries
            // the sync), never holds it for minutes.
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(15),
                ..object_store::RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let endpoint = settings
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_default();
        if endpoint.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region(settings.region.as_deref().unwrap_or("us-east-1"));
        } else if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        let s3 = builder
            .build()
            .map_err(|e| bad_setting("photos", &e.to_string()))?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        Ok(Blobs {
            store,
            describe: format!(
                "{url} at {}",
                if endpoint.is_empty() {
                    "AWS"
                } else {
                    &endpoint
                }
            ),
        })
    }

    /// Can the store be reached and listed (checked once at start: a wrong bucket or key is a
    /// clear error then, not a 500 on the first photo)?
    pub async fn check(&self) -> BlobResult<()> {
        let mut list = self.store.list(Some(&Path::from("thumbs")));
        match list.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(bad_setting(
                "photos",
                &format!("cannot reach {}: {e}", self.describe),
            )),
        }
    }

    /// The key of a photo.
    pub fn photo_key(sha: &str) -> Path {
        Path::from(format!("{}/{sha}", &sha[..2]))
    }

    fn pieces_prefix(sha: &str, device_id: &str) -> Path {
        Path::from(format!("partial/{sha}.{}", device_tag(device_id)))
    }

    fn piece_key(sha: &str, device_id: &str, offset: u64) -> Path {
        Path::from(format!(
            "partial/{sha}.{}/{offset:012}",
            device_tag(device_id)
        ))
    }

    fn thumb_key(sha: &str) -> Path {
        Path::from(format!("thumbs/{sha}.jpg"))
    }

    fn failed_key(sha: &str) -> Path {
        Path::from(format!("thumbs/{sha}.undecodable"))
    }

    async fn get(&self, key: &Path) -> BlobResult<Option<Bytes>> {
        match self.store.get(key).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(io)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn size(&self, key: &Path) -> BlobResult<Option<u64>> {
        match self.store.head(key).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn put(&self, key: &Path, bytes: Bytes) -> BlobResult<()> {
        self.store
            .put(key, PutPayload::from_bytes(bytes))
            .await
            .map_err(io)?;
        Ok(())
    }

    /// Delete an object; the bytes it held (0 if it was not there).
    async fn delete(&self, key: &Path) -> BlobResult<u64> {
        let Some(size) = self.size(key).await? else {
            return Ok(0);
        };
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(size),
            Err(e) => Err(io(e)),
        }
    }

    /// The size of a held photo.
    pub async fn photo_size(&self, sha: &str) -> BlobResult<Option<u64>> {
        self.size(&Self::photo_key(sha)).await
    }

    /// A held photo's bytes.
    pub async fn read_photo(&self, sha: &str) -> BlobResult<Option<Bytes>> {
        self.get(&Self::photo_key(sha)).await
    }

    /// A held photo as a stream, with its size (for a download: a buffer at a time).
    pub async fn photo_stream(
        &self,
        sha: &str,
    ) -> BlobResult<Option<(u64, BoxStream<'static, std::io::Result<Bytes>>)>> {
        match self.store.get(&Self::photo_key(sha)).await {
            Ok(r) => {
                let size = r.meta.size;
                let stream = r
                    .into_stream()
                    .map(|c| c.map_err(|e| std::io::Error::other(e.to_string())))
                    .boxed();
                Ok(Some((size, stream)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Keep a checked photo under its hash (one whole write).
    pub async fn put_photo(&self, sha: &str, bytes: Bytes) -> BlobResult<()> {
        self.put(&Self::photo_key(sha), bytes).await
    }

    /// Delete a photo and what was made of it; the bytes freed.
    pub async fn delete_photo(&self, sha: &str) -> BlobResult<u64> {
        let freed = self.delete(&Self::photo_key(sha)).await?;
        self.delete(&Self::thumb_key(sha)).await?;
        self.delete(&Self::failed_key(sha)).await?;
        Ok(freed)
    }

    /// Keep a piece of `device_id`'s upload of `sha` that starts at `offset`.
    pub async fn put_piece(
        &self,
        sha: &str,
        device_id: &str,
        offset: u64,
        bytes: Bytes,
    ) -> BlobResult<()> {
        self.put(&Self::piece_key(sha, device_id, offset), bytes)
            .await
    }

    /// The pieces of an upload: `(offset, size)`, by offset.
    async fn pieces(&self, sha: &str, device_id: &str) -> BlobResult<Vec<(u64, u64, Path)>> {
        let prefix = Self::pieces_prefix(sha, device_id);
        let mut list = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(io)?;
            if let Some(offset) = meta.location.filename().and_then(|n| n.parse::<u64>().ok()) {
                out.push((offset, meta.size, meta.location));
            }
        }
        out.sort_by_key(|p| p.0);
        Ok(out)
    }

    /// How many bytes from 0 the kept pieces cover without a gap (what a crash between keeping
    /// a piece and recording it leaves: the upload goes on from here).
    pub async fn received(&self, sha: &str, device_id: &str) -> BlobResult<u64> {
        let mut end = 0;
        for (offset, size, _) in self.pieces(sha, device_id).await? {
            if offset == end {
                end += size;
            } else if offset > end {
                break;
            }
        }
        Ok(end)
    }

    /// The first `size` bytes of the upload, put together from its pieces (following them from
    /// 0: a piece left by an attempt that was cut and sent again is skipped); None if they do
    /// not reach `size`.
    pub async fn assemble(
        &self,
        sha: &str,
        device_id: &str,
        size: u64,
    ) -> BlobResult<Option<Vec<u8>>> {
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        for (offset, _, key) in self.pieces(sha, device_id).await? {
            if offset != out.len() as u64 {
                continue;
            }
            let Some(bytes) = self.get(&key).await? else {
                return Ok(None);
            };
            out.extend_from_slice(&bytes);
            if out.len() as u64 >= size {
                break;
            }
        }
        if (out.len() as u64) < size {
            return Ok(None);
        }
        out.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        Ok(Some(out))
    }

    /// Delete an upload's pieces from `from` on (all of them from 0); the bytes freed.
    pub async fn delete_pieces(&self, sha: &str, device_id: &str, from: u64) -> BlobResult<u64> {
        let mut freed = 0;
        for (offset, _, key) in self.pieces(sha, device_id).await? {
            if offset >= from {
                freed += self.delete(&key).await?;
            }
        }
        Ok(freed)
    }

    /// The thumbnail made earlier, or that decoding failed earlier; None if never tried.
    pub async fn thumb(&self, sha: &str) -> BlobResult<Option<Result<Bytes, ()>>> {
        if let Some(b) = self.get(&Self::thumb_key(sha)).await? {
            return Ok(Some(Ok(b)));
        }
        if self.size(&Self::failed_key(sha)).await?.is_some() {
            return Ok(Some(Err(())));
        }
        Ok(None)
    }

    /// Keep a decode's outcome: the thumbnail, or the mark that it failed.
    pub async fn put_thumb(&self, sha: &str, outcome: Option<&[u8]>) -> BlobResult<()> {
        match outcome {
            Some(t) => {
                self.put(&Self::thumb_key(sha), Bytes::copy_from_slice(t))
                    .await
            }
            None => self.put(&Self::failed_key(sha), Bytes::new()).await,
        }
    }

    /// Bytes of every object under `prefix` (`thumbs`, `partial`), or of everything.
    pub async fn bytes_under(&self, prefix: Option<&str>) -> BlobResult<u64> {
        let prefix = prefix.map(Path::from);
        let mut list = self.store.list(prefix.as_ref());
        let mut total = 0;
        while let Some(meta) = list.next().await {
            total += meta.map_err(io)?.size;
        }
        Ok(total)
    }
}

/// Run `fut` to its end from code that is not async (the demo seed, admin commands, tests):
/// on this runtime's blocking pool when there is one, else on a runtime of its own.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(fut)),
        Err(_) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(fut),
            Err(e) => panic!("cannot start a runtime for blocking storage work: {e}"),
        },
    }
}
