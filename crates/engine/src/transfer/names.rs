//! Names and comparisons for conflicts: the conflict copy's name, and whether two local files
//! hold the same bytes (then there is no conflict to keep).

use std::path::Path;
use std::time::SystemTime;

/// `report (conflict 2024-06-01 093000).txt` for `report.txt`, at `when` (UTC); the `n`th
/// name of that second (from 2 on) is `report (conflict 2024-06-01 093000 2).txt`, so a second
/// conflict within the same second never lands on the first one's copy.
pub fn conflict_name(name: &str, when: SystemTime, n: u32) -> String {
    let secs = when
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let mut stamp = format!(
        "{y:04}-{m:02}-{d:02} {:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if n > 1 {
        stamp.push_str(&format!(" {n}"));
    }
    match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{} (conflict {stamp}){}", &name[..i], &name[i..]),
        None => format!("{name} (conflict {stamp})"),
    }
}

/// The other way: for a conflict copy's name, the name it was the conflict of and when (UTC,
/// to the second). `None` for any other name.
pub fn parse_conflict_name(name: &str) -> Option<(String, SystemTime)> {
    const MARK: &str = " (conflict ";
    let start = name.rfind(MARK)?;
    let rest = &name[start + MARK.len()..];
    let close = rest.find(')')?;
    let (stamp, extension) = (&rest[..close], &rest[close + 1..]);
    let mut parts = stamp.split(' ');
    let (date, time) = (parts.next()?, parts.next()?);
    if let Some(n) = parts.next() {
        n.parse::<u32>().ok().filter(|&n| n > 1)?;
    }
    if parts.next().is_some() || (!extension.is_empty() && !extension.starts_with('.')) {
        return None;
    }
    let numbers = |s: &str, widths: &[usize], sep: Option<char>| -> Option<Vec<i64>> {
        let pieces: Vec<&str> = match sep {
            Some(sep) => s.split(sep).collect(),
            None => {
                let mut at = 0;
                widths
                    .iter()
                    .map(|w| {
                        let piece = s.get(at..at + w);
                        at += w;
                        piece
                    })
                    .collect::<Option<_>>()?
            }
        };
        (pieces.len() == widths.len()
            && pieces
                .iter()
                .zip(widths)
                .all(|(p, w)| p.len() == *w && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| pieces.iter().map(|p| p.parse().unwrap_or(0)).collect())
    };
    let ymd = numbers(date, &[4, 2, 2], Some('-'))?;
    let hms = numbers(time, &[2, 2, 2], None)?;
    if time.len() != 6 || !(1..=12).contains(&ymd[1]) || !(1..=31).contains(&ymd[2]) {
        return None;
    }
    if hms[0] > 23 || hms[1] > 59 || hms[2] > 59 {
        return None;
    }
    let days = days_from_civil(ymd[0], ymd[1] as u32, ymd[2] as u32);
    let secs = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    let when = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).ok()?);
    Some((format!("{}{extension}", &name[..start]), when))
}

/// A (year, month, day) date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `seconds` since the epoch as `YYYY-MM-DD HH:MM UTC`, for people.
pub fn utc_minute(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
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

/// Whether two local files hold the same bytes.
pub fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    use tidesync_webdav::plain_file::open_plain;
    let (fa, fb) = (open_plain(a)?, open_plain(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = ra.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        rb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn conflict_names_keep_the_extension() {
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_717_234_200); // 2024-06-01 09:30:00
        assert_eq!(
            conflict_name("report.txt", when, 1),
            "report (conflict 2024-06-01 093000).txt"
        );
        assert_eq!(
            conflict_name("report.txt", when, 2),
            "report (conflict 2024-06-01 093000 2).txt"
        );
        assert_eq!(
            conflict_name("Makefile", when, 1),
            "Makefile (conflict 2024-06-01 093000)"
        );
        assert_eq!(
            conflict_name(".bashrc", when, 1),
            ".bashrc (conflict 2024-06-01 093000)"
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    proptest::proptest! {
        #[test]
        fn a_conflict_name_tells_its_original_and_time(
            stem in "[a-zA-Z0-9 ._()-]{1,20}",
            extension in proptest::option::of("[a-z0-9]{1,4}"),
            secs in 0u64..4_000_000_000,
            n in 1u32..5,
        ) {
            let name = match &extension {
                Some(extension) => format!("{stem}.{extension}"),
                None => stem.clone(),
            };
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let copy = conflict_name(&name, when, n);
            proptest::prop_assert_eq!(parse_conflict_name(&copy), Some((name, when)));
        }
    }

    #[test]
    fn other_names_are_no_conflict_copies() {
        for name in [
            "report.txt",
            "report (conflict).txt",
            "report (conflict 2024-13-01 093000).txt",
            "report (conflict 2024-06-01 096000).txt",
            "report (conflict 2024-06-01 093000 1).txt",
            "report (conflict 2024-06-01 093000)x",
            "report (conflict 24-06-01 093000).txt",
        ] {
            assert_eq!(parse_conflict_name(name), None, "{name}");
        }
    }
}
