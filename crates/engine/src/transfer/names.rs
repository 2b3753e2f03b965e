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
    let (fa, fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
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
}
