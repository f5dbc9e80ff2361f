//! Keys as Solid Cache stores them: `namespace:key`, hashed down to 1024 bytes when longer, and
//! the signed 64-bit `key_hash` every lookup goes through.

use sha2::{Digest, Sha256};

/// Longest stored key, in bytes (Solid Cache's `max_key_bytesize`).
pub const MAX_KEY_BYTES: usize = 1024;

/// Hex digits of the digest appended to a shortened key (`ActiveSupport::Digest.hexdigest`
/// keeps 32).
const DIGEST_HEX: usize = 32;

/// A normalized key: the bytes stored in the `key` column and their hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Stored key bytes (namespaced, at most [`MAX_KEY_BYTES`]).
    pub bytes: Vec<u8>,
    /// First 8 bytes of SHA-256 of `bytes`, as a signed big-endian integer.
    pub hash: i64,
}

impl Key {
    /// Normalizes `key` under `namespace`.
    pub fn new(namespace: Option<&str>, key: &str) -> Self {
        let mut bytes = match namespace {
            Some(ns) => {
                let mut b = Vec::with_capacity(ns.len() + 1 + key.len());
                b.extend_from_slice(ns.as_bytes());
                b.push(b':');
                b.extend_from_slice(key.as_bytes());
                b
            }
            None => key.as_bytes().to_vec(),
        };
        if bytes.len() > MAX_KEY_BYTES {
            let digest = hex(&Sha256::digest(&bytes));
            let suffix = format!(":hash:{}", &digest[..DIGEST_HEX]);
            bytes.truncate(MAX_KEY_BYTES - suffix.len());
            bytes.extend_from_slice(suffix.as_bytes());
        }
        let hash = key_hash(&bytes);
        Self { bytes, hash }
    }
}

/// Solid Cache's `key_hash`: `SHA256(key)[0..8].unpack("q>")`.
pub(crate) fn key_hash(bytes: &[u8]) -> i64 {
    let digest = Sha256::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_the_signed_big_endian_prefix_of_sha256() {
        // SHA-256("hello") = 2cf24dba5fb0a30e...; 0x2cf24dba5fb0a30e as i64.
        assert_eq!(key_hash(b"hello"), 0x2cf2_4dba_5fb0_a30e);
        // A digest starting with a high bit reads as negative (SHA-256("a") = ca978112...).
        assert!(key_hash(b"a") < 0);
    }

    #[test]
    fn namespace_prefixes_the_key() {
        let k = Key::new(Some("production"), "views/1");
        assert_eq!(k.bytes, b"production:views/1");
        assert_eq!(k.hash, key_hash(b"production:views/1"));
    }

    #[test]
    fn long_keys_are_shortened_with_a_digest_suffix() {
        let long = "x".repeat(2000);
        let k = Key::new(None, &long);
        assert_eq!(k.bytes.len(), MAX_KEY_BYTES);
        let digest = hex(&Sha256::digest(long.as_bytes()));
        let suffix = format!(":hash:{}", &digest[..32]);
        assert!(k.bytes.ends_with(suffix.as_bytes()));
        assert!(k.bytes.starts_with(&[b'x'; 900]));
        // Two long keys that share their first 1024 bytes stay distinct.
        let other = Key::new(None, &format!("{long}y"));
        assert_ne!(k, other);
        // A key of exactly the limit is kept as it is.
        let edge = "y".repeat(MAX_KEY_BYTES);
        assert_eq!(Key::new(None, &edge).bytes, edge.as_bytes());
    }
}
