//! Precompressed variants of the embedded assets, made once per process on a blocking
//! thread at startup, and `Accept-Encoding` negotiation over them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;

use super::Dist;

/// A content coding we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Brotli,
    Zstd,
    Gzip,
    Identity,
}

impl Encoding {
    /// `Content-Encoding` value.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Zstd => Some("zstd"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }

    /// Each variant has its own ETag.
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Self::Brotli => "-br",
            Self::Zstd => "-zst",
            Self::Gzip => "-gz",
            Self::Identity => "",
        }
    }

    /// The best coding the client accepts (q > 0) among those `available`; brotli first,
    /// as it is smallest, then zstd, then gzip.
    pub fn negotiate(headers: &HeaderMap, available: Option<[bool; 3]>) -> Self {
        let Some(available) = available else {
            return Self::Identity;
        };
        let accepted: Vec<(String, f32)> = headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|item| {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (name, q)
            })
            .collect();
        let ok = |name: &str| {
            accepted
                .iter()
                .find(|(n, _)| n == name)
                .or_else(|| accepted.iter().find(|(n, _)| n == "*"))
                .is_some_and(|(_, q)| *q > 0.0)
        };
        [Self::Brotli, Self::Zstd, Self::Gzip]
            .into_iter()
            .zip(available)
            .find(|(enc, have)| *have && enc.header().is_some_and(ok))
            .map_or(Self::Identity, |(enc, _)| enc)
    }
}

/// The compressed forms of one file (empty when compressing did not make it smaller).
#[derive(Debug, Default)]
pub(super) struct Variants {
    br: Vec<u8>,
    zstd: Vec<u8>,
    gzip: Vec<u8>,
}

impl Variants {
    /// Which of brotli, zstd, gzip exist.
    pub fn available(&self) -> [bool; 3] {
        [
            !self.br.is_empty(),
            !self.zstd.is_empty(),
            !self.gzip.is_empty(),
        ]
    }

    /// The bytes of `enc` (empty for identity).
    pub fn get(&self, enc: Encoding) -> &[u8] {
        match enc {
            Encoding::Brotli => &self.br,
            Encoding::Zstd => &self.zstd,
            Encoding::Gzip => &self.gzip,
            Encoding::Identity => &[],
        }
    }
}

static CACHE: OnceLock<HashMap<String, Variants>> = OnceLock::new();

/// The variants of `key`, once [`warm`] has run (until then the compression layer
/// compresses on the fly).
pub(super) fn variants(key: &str) -> Option<&'static Variants> {
    CACHE.get()?.get(key)
}

/// Compresses every text asset once per process. Blocking: run on a blocking thread.
pub(in crate::web) fn warm() {
    CACHE.get_or_init(|| {
        let started = std::time::Instant::now();
        let mut map = HashMap::new();
        for key in Dist::iter().filter(|k| k.starts_with("assets/")) {
            let Some(file) = Dist::get(&key) else {
                continue;
            };
            if !compressible(file.metadata.mimetype()) {
                continue;
            }
            map.insert(key.into_owned(), compress_all(&file.data));
        }
        tracing::info!(files = map.len(), elapsed = ?started.elapsed(), "precompressed assets");
        map
    });
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.contains("javascript")
        || mime.contains("json")
        || mime.contains("svg")
}

fn compress_all(data: &[u8]) -> Variants {
    let smaller = |v: Vec<u8>| if v.len() < data.len() { v } else { Vec::new() };
    Variants {
        br: smaller(brotli_bytes(data).unwrap_or_default()),
        zstd: smaller(zstd::bulk::compress(data, 19).unwrap_or_default()),
        gzip: smaller(gzip_bytes(data).unwrap_or_default()),
    }
}

fn brotli_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(data)?;
        w.flush()?;
    }
    Ok(out)
}

fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(data)?;
    w.finish()
}
