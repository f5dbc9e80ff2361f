//! Obfuscated ids: every id that leaves the server is a sqids string over an alphabet
//! shuffled per install from the secret key, so ids are neither sequential nor guessable
//! across installs. Decoding accepts only the canonical encoding of one id.

use sha2::{Digest, Sha256};
use sqids::Sqids;

/// Encoder/decoder of public ids. Cheap to clone.
#[derive(Clone)]
pub struct Ids {
    sqids: std::sync::Arc<Sqids>,
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ids(..)")
    }
}

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const MIN_LENGTH: u8 = 8;

impl Ids {
    /// The codec of the install whose secret key is `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let alphabet = shuffled_alphabet(secret);
        let sqids = Sqids::builder()
            .alphabet(alphabet)
            .min_length(MIN_LENGTH)
            .build()
            .unwrap_or_default();
        Self {
            sqids: std::sync::Arc::new(sqids),
        }
    }

    /// The public form of database id `id`.
    pub fn encode(&self, id: i64) -> String {
        u64::try_from(id)
            .ok()
            .and_then(|n| self.sqids.encode(&[n]).ok())
            .unwrap_or_default()
    }

    /// The database id behind `public`, or `None` for anything that is not the canonical
    /// encoding of exactly one id.
    pub fn decode(&self, public: &str) -> Option<i64> {
        if public.is_empty() || public.len() > 32 {
            return None;
        }
        let numbers = self.sqids.decode(public);
        let [n] = numbers.as_slice() else {
            return None;
        };
        let id = i64::try_from(*n).ok()?;
        (self.encode(id) == public).then_some(id)
    }
}

/// Fisher–Yates over the default alphabet, driven by SHA-256 of the secret in counter mode.
fn shuffled_alphabet(secret: &[u8]) -> Vec<char> {
    let mut chars: Vec<char> = ALPHABET.chars().collect();
    let mut stream = Vec::new();
    let mut counter: u32 = 0;
    for i in (1..chars.len()).rev() {
        if stream.len() < 8 {
            let mut h = Sha256::new();
            h.update(b"trifecta sqids alphabet");
            h.update(secret);
            h.update(counter.to_be_bytes());
            counter += 1;
            stream.extend_from_slice(&h.finalize());
        }
        let bytes: [u8; 8] = std::array::from_fn(|k| stream[k]);
        stream.drain(..8);
        let r = u64::from_be_bytes(bytes);
        let j = usize::try_from(r % (i as u64 + 1)).unwrap_or(0);
        chars.swap(i, j);
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_non_canonical() {
        let ids = Ids::new(b"secret-one");
        for id in [1_i64, 2, 42, 1_000_000, i64::from(u32::MAX)] {
            let s = ids.encode(id);
            assert!(s.len() >= usize::from(MIN_LENGTH));
            assert_eq!(ids.decode(&s), Some(id), "{s}");
        }
        assert_eq!(ids.decode(""), None);
        assert_eq!(ids.decode("!!!"), None);
        assert_eq!(ids.decode("1"), None);
        assert_eq!(ids.decode(&"a".repeat(100)), None);
    }

    #[test]
    fn alphabets_differ_per_secret() {
        let a = Ids::new(b"secret-one");
        let b = Ids::new(b"secret-two");
        assert_ne!(a.encode(7), b.encode(7));
        assert_eq!(b.decode(&a.encode(7)).filter(|id| *id == 7), None);
        assert_eq!(
            Ids::new(b"secret-one").encode(7),
            a.encode(7),
            "stable per secret"
        );
    }
}
