//! Run folders: `runs/<experiment>/<run id>/`, with ids that sort by time.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// UTC time stamp `YYYYMMDD-HHMMSS` for seconds since the epoch.
pub fn stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// ISO 8601 UTC time for logs and metadata.
pub fn iso_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let s = stamp(secs);
    format!("{}-{}-{}T{}:{}:{}Z", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15])
}

/// Create a fresh run folder under `root/<experiment>/`.
pub fn create(root: &Path, experiment: &str) -> std::io::Result<PathBuf> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let base = root.join(experiment);
    std::fs::create_dir_all(&base)?;
    let id = stamp(secs);
    for n in 0.. {
        let dir = if n == 0 { base.join(&id) } else { base.join(format!("{id}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("an unbounded counter always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(stamp(0), "19700101-000000");
        // 2024-02-29 12:34:56 UTC (a leap day)
        assert_eq!(stamp(1_709_210_096), "20240229-123456");
        assert_eq!(stamp(951_782_400), "20000229-000000");
    }

    #[test]
    fn run_ids_never_collide() {
        let root = std::env::temp_dir().join(format!("seqlab-rundir-{}", std::process::id()));
        let a = create(&root, "exp").expect("first");
        let b = create(&root, "exp").expect("second");
        assert_ne!(a, b);
        assert!(a.is_dir() && b.is_dir());
    }
}
