//! A citizen report's photo named by `media_url`: fetched only from the hosts the city allows
//! (`--open311-media-host`), over HTTP(S), without following redirects, within a time limit and
//! the photo size limit; the bytes are then checked like any upload (a real JPEG or PNG).

use std::time::Duration;

use crate::state::AppState;

/// How long a fetch may take in all.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// True if `url`'s host (or `host:port`) is one of `allowed` (lower case).
pub fn host_allowed(url: &reqwest::Url, allowed: &[String]) -> bool {
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    let with_port = url.port().map(|p| format!("{host}:{p}"));
    allowed
        .iter()
        .any(|a| *a == host || with_port.as_deref() == Some(a.as_str()))
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
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| format!("media_url could not be fetched: {e}"))?;
    let mut resp = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| format!("media_url could not be fetched: {e}"))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("media_url answered {}", resp.status()));
    }
    let limit = state.config.max_photo_bytes;
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(format!("media_url's photo is larger than {limit} bytes"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("media_url could not be read: {e}"))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!("media_url's photo is larger than {limit} bytes"));
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
        assert!(ok("https://PHOTOS.example.cn:8443/a.jpg"));
        assert!(ok("http://127.0.0.1:8099/a.jpg"));
        assert!(!ok("http://127.0.0.1:8098/a.jpg"));
        assert!(!ok("http://127.0.0.1/a.jpg"));
        assert!(!ok("https://photos.example.cn.evil.com/a.jpg"));
        assert!(!ok("https://evil.com/photos.example.cn"));
    }
}
