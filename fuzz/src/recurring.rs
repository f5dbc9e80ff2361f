//! Recurring schedule files, each input read both as YAML (Solid Queue's `recurring.yml`)
//! and as TOML. A file that loads has tasks whose schedule text parses again and runs
//! strictly later than any given time, whose arguments are JSON, and whose size stays within
//! a bound of the file's (YAML aliases must not multiply it); a file that does not load is
//! a `Recurring` error naming it.

use std::path::Path;

use trifecta::queue::{Error, Schedule, parse_schedule};
use trifecta::store::Timestamp;

/// Times the schedules are asked about: the epoch, 2023, and the year 3000.
const TIMES: [i64; 3] = [0, 1_700_000_000_000_000, 32_503_680_000_000_000];

/// Checks one schedule file.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["recurring.yml", "recurring.toml"] {
        let path = Path::new(name);
        match parse_schedule(text, path, "production") {
            Ok(tasks) => {
                let size: usize = tasks.iter().map(|t| t.args.len() + t.job.len()).sum();
                assert!(
                    size <= 64 * text.len() + 1024,
                    "{name}: {size} bytes of tasks"
                );
                for task in &tasks {
                    let again = Schedule::parse(&task.schedule_text).expect("schedule re-parses");
                    assert_eq!(format!("{again:?}"), format!("{:?}", task.schedule));
                    serde_json::from_str::<serde_json::Value>(&task.args).expect("args are JSON");
                    for t in TIMES {
                        if let Some(next) = task.schedule.next_after(Timestamp(t)) {
                            assert!(
                                next.0 > t,
                                "{:?}: {} is not after {t}",
                                task.schedule_text,
                                next.0
                            );
                        }
                    }
                }
            }
            Err(Error::Recurring { path: named, .. }) => assert_eq!(named, path),
            Err(other) => panic!("{name}: {other:?}, not a Recurring error"),
        }
    }
}
