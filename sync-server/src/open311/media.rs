//! A citizen report's photo named by `media_url`: fetched only from the hosts the city allows
//! (`--open311-media-host`; a host without a port allows its scheme's default port only), over
//! HTTP(S), without following redirects, a few at a time, within a time limit and the photo
//! size limit; the bytes are then checked like any upload (a real JPEG or PNG). What went wrong
//! is logged; the client is told only that the photo could not be fetched.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::state::AppState;

/// How long a fetch may take in all.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Fetches at once (each holds up to a photo's size in memory).
const FETCHES_AT_ONCE: usize = 4;

fn fetches() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(FETCHES_AT_ONCE))
}

fn http() -> Result<&'static reqwest::Client, String> {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = C.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "open311 media client");
            CANNOT.to_string()
        })?;
    Ok(C.get_or_init(|| c))
}

/// What the client is told when the photo could not be had.
const CANNOT: &str = "media_url could not be fetched as a photo";

/// True if `url`'s host (or `host:port`) is one of `allowed` (lower case).
pub fn host_allowed(url: &reqwest::Url, allowed: &[String]) -> bool {
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    // `port()` is None for the scheme's default port: a bare host allows only that.
    match url.port() {
        None => allowed.contains(&host),
        Some(p) => allowed.contains(&format!("{host}:{p}")),
    }
}

/// The photo's bytes, or what is wrong (for the client).
pub async fn fetch(state: &AppState, url: &str) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("media_url {url} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("media_url must be an http or https URL".into());
    }
    if !host_allowed(&parsed, &state.config.open311_media_hosts) {
        return Err(format!(
            "media_url host {} is not one this city fetches photos from; send the photo as the multipart field `media` instead",
            parsed.host_str().unwrap_or_default()
        ));
    }
    let _turn = fetches().acquire().await.map_err(|_| CANNOT.to_string())?;
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(url = %url, error = %e, "open311 media_url {what}");
        CANNOT.to_string()
    };
    let mut resp = http()?
        .get(parsed)
        .send()
        .await
        .map_err(|e| failed("not fetched", &e))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(failed("answered", &resp.status()));
    }
    let limit = state.config.max_photo_bytes;
    let too_big = || format!("media_url's photo is larger than {limit} bytes");
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| failed("not read", &e))? {
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_hosts_and_ports() {
        let allowed = vec![
            "photos.example.cn".to_string(),
            "127.0.0.1:8099".to_string(),
        ];
        let ok = |u: &str| host_allowed(&reqwest::Url::parse(u).expect("url"), &allowed);
        assert!(ok("https://photos.example.cn/a.jpg"));
        assert!(ok("http://PHOTOS.example.cn/a.jpg"));
        assert!(
            !ok("https://photos.example.cn:8443/a.jpg"),
            "a bare host: the default port only"
        );
        assert!(ok("http://127.0.0.1:8099/a.jpg"));
        assert!(!ok("http://127.0.0.1:8098/a.jpg"));
        assert!(!ok("http://127.0.0.1/a.jpg"));
        assert!(!ok("https://photos.example.cn.evil.com/a.jpg"));
        assert!(!ok("https://evil.com/photos.example.cn"));
    }
}
