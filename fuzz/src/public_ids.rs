//! Public ids (sqids over the install's shuffled alphabet): a string decodes only when it
//! is the canonical encoding of one id, and every non-negative id round-trips.

use std::sync::LazyLock;

use trifecta::app::Ids;

static IDS: LazyLock<Ids> = LazyLock::new(|| Ids::new(b"fuzz secret key base"));

/// Checks one public id from a URL (UTF-8 text), and, read as a little-endian `i64`, the
/// encoding of the first 8 bytes.
pub fn run(data: &[u8]) {
    if let Ok(public) = std::str::from_utf8(data)
        && let Some(id) = IDS.decode(public)
    {
        assert!(id >= 0, "{public:?} decodes to negative {id}");
        assert_eq!(IDS.encode(id), public, "{public:?} is not canonical");
        assert!(public.len() <= 32);
    }
    if let Some(bytes) = data.first_chunk::<8>() {
        let id = i64::from_le_bytes(*bytes);
        let public = IDS.encode(id);
        if id < 0 {
            assert_eq!(public, "", "negative ids have no public form");
        } else {
            assert!(public.len() >= 8, "{public:?} shorter than the minimum");
            assert_eq!(IDS.decode(&public), Some(id), "{id} as {public:?}");
        }
    }
}
