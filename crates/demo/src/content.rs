//! Deterministic sample content for the demo remote: the same seed always gives the same
//! files, byte for byte, so a demo sync can be checked by hash.

use std::path::{Path, PathBuf};

/// Bumped whenever the generator changes, so cached content is regenerated.
const GENERATOR_VERSION: u32 = 1;

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// What [`generate`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The folder to serve.
    pub root: PathBuf,
    pub files: usize,
    pub bytes: u64,
}

const WORDS: &[&str] = &[
    "tide", "sync", "harbour", "current", "shore", "wave", "folder", "notes", "draft", "summer",
    "été", "über", "naïve", "café", "群青", "海", "river", "delta", "north", "light", "quiet",
    "morning", "list", "plan", "idea", "photo", "trip", "report", "budget", "recipe",
];

/// Writes the sample content for `seed` under `dir/content` unless it is already there.
pub fn generate(dir: &Path, seed: u64) -> std::io::Result<Generated> {
    let root = dir.join("content");
    let marker = dir.join("generated");
    let stamp = format!("seed {seed} generator {GENERATOR_VERSION}\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) && root.is_dir() {
        return count(root);
    }
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let mut rng = Seeded::new(seed);
    let put = |path: &str, bytes: &[u8]| -> std::io::Result<()> {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap_or(&root))?;
        std::fs::write(full, bytes)
    };
    let doc_names = [
        "Résumé",
        "日本語メモ",
        "Ünïcödé ✓",
        "Meeting notes",
        "Packing list",
        "Ideas",
    ];
    for i in 0..60 {
        let name = doc_names[i % doc_names.len()];
        let ext = if i % 2 == 0 { "md" } else { "txt" };
        let len = 1_000 + rng.below(20_000) as usize;
        put(
            &format!("Documents/{name} {i:02}.{ext}"),
            text(&mut rng, len).as_bytes(),
        )?;
    }
    put("Documents/empty.txt", b"")?;
    for i in 0..40 {
        let year = 2024 + i % 2;
        put(
            &format!("Photos/{year}/IMG_{:04}.bmp", 1000 + i),
            &bitmap(&mut rng, 200, 150),
        )?;
    }
    for i in 0..8 {
        put(
            &format!("Music/track-{:02}.ogg", i + 1),
            &rng.bytes(2 * 1024 * 1024),
        )?;
    }
    for i in 0..3 {
        put(
            &format!("Videos/clip {}.mp4", i + 1),
            &rng.bytes(8 * 1024 * 1024),
        )?;
    }
    for i in 0..86 {
        let depth = [
            "Notes",
            "Notes/deep",
            "Notes/deep/er",
            "Notes/deep/er/and deeper",
        ][i % 4];
        let len = rng.below(4_096) as usize;
        put(
            &format!("{depth}/note {i:03}.txt"),
            text(&mut rng, len).as_bytes(),
        )?;
    }
    put("Notes/.hidden config", b"theme = tide\n")?;
    std::fs::create_dir_all(root.join("Empty folder"))?;
    std::fs::write(&marker, stamp)?;
    count(root)
}

/// Words until `len` bytes.
fn text(rng: &mut Seeded, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        out.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    out
}

/// A valid 24-bit BMP with a seeded gradient, so the demo has real pictures to show.
fn bitmap(rng: &mut Seeded, width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let pixels = row * height;
    let mut out = Vec::with_capacity(54 + pixels as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(54 + pixels).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&pixels.to_le_bytes());
    out.extend_from_slice(&[0; 16]);
    let (r0, g0, b0) = (
        rng.below(256) as u32,
        rng.below(256) as u32,
        rng.below(256) as u32,
    );
    for y in 0..height {
        for x in 0..width {
            out.push(((b0 + y) % 256) as u8);
            out.push(((g0 + x + y) % 256) as u8);
            out.push(((r0 + x) % 256) as u8);
        }
        out.extend(std::iter::repeat_n(0, (row - width * 3) as usize));
    }
    out
}

fn count(root: PathBuf) -> std::io::Result<Generated> {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    Ok(Generated { root, files, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_content_and_is_cached() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = generate(a.path(), 7).unwrap();
        assert!((190..=220).contains(&first.files), "{} files", first.files);
        assert!(
            (45..=55).contains(&(first.bytes / 1_000_000)),
            "{} bytes",
            first.bytes
        );
        let second = generate(b.path(), 7).unwrap();
        assert_eq!((first.files, first.bytes), (second.files, second.bytes));
        let photo = "Photos/2024/IMG_1000.bmp";
        assert_eq!(
            std::fs::read(first.root.join(photo)).unwrap(),
            std::fs::read(second.root.join(photo)).unwrap()
        );
        assert_eq!(&std::fs::read(first.root.join(photo)).unwrap()[..2], b"BM");
        let modified = std::fs::metadata(first.root.join(photo))
            .unwrap()
            .modified()
            .unwrap();
        generate(a.path(), 7).unwrap();
        assert_eq!(
            std::fs::metadata(first.root.join(photo))
                .unwrap()
                .modified()
                .unwrap(),
            modified,
            "cached, not rewritten"
        );
        let other = generate(a.path(), 8).unwrap();
        assert_ne!(
            std::fs::read(other.root.join("Music/track-01.ogg")).unwrap()[..64],
            std::fs::read(second.root.join("Music/track-01.ogg")).unwrap()[..64]
        );
    }
}
