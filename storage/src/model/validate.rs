//! Field checks shared by the models. Each returns [`Error::Invalid`] naming the field.

use crate::error::{Error, Result};

/// Trims and lower-cases a hostname, then rejects what cannot be a Redis key segment or a
/// literal host: empty, whitespace, glob characters, hash-tag braces and `:`.
pub(crate) fn hostname(field: &'static str, raw: &str) -> Result<String> {
    let host = raw.trim().to_lowercase();
    if host.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| c.is_whitespace() || "*?[]{}:".contains(*c))
    {
        return Err(Error::invalid(field, format!("must not contain {bad:?}")));
    }
    Ok(host)
}

/// An absolute `http` or `https` URL with a host.
pub(crate) fn http_url(field: &'static str, raw: &str) -> Result<()> {
    let url = url::Url::parse(raw).map_err(|e| Error::invalid(field, e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(field, "scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "must name a host"));
    }
    Ok(())
}

/// A path that starts with `/`.
pub(crate) fn path(field: &'static str, raw: &str) -> Result<()> {
    if raw.starts_with('/') {
        Ok(())
    } else {
        Err(Error::invalid(field, "must start with `/`"))
    }
}

/// A record id usable as a key segment: letters, digits, `-`, `_`, `.`.
pub(crate) fn record_id(field: &'static str, raw: &str) -> Result<()> {
    if raw.is_empty() || raw.len() > 128 {
        return Err(Error::invalid(field, "must be 1 to 128 characters"));
    }
    if raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must contain only letters, digits, `-`, `_` and `.`",
        ))
    }
}
