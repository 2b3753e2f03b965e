//! The tray icon of each state, drawn here rather than shipped as files: a dot in the
//! state's colour with a darker rim, which reads on light and dark panels alike. Syncing is
//! a ring (a distinct shape, not only a colour); attention carries an exclamation mark.

use tauri::image::Image;

use super::model::Glyph;

/// The icon's side in pixels; panels scale it.
const SIZE: u32 = 32;

/// The icon of `glyph`.
pub fn image(glyph: Glyph) -> Image<'static> {
    let (fill, rim) = colours(glyph);
    let centre = (SIZE as f32 - 1.0) / 2.0;
    let mut rgba = vec![0u8; (SIZE * SIZE * 4) as usize];
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - centre, y as f32 - centre);
            let distance = (dx * dx + dy * dy).sqrt();
            let colour = if distance > 14.5 {
                continue;
            } else if distance > 12.0 {
                rim
            } else if glyph == Glyph::Syncing && distance < 7.0 {
                continue;
            } else if glyph == Glyph::Attention && exclamation(dx, dy) {
                [255, 255, 255]
            } else {
                fill
            };
            let at = ((y * SIZE + x) * 4) as usize;
            rgba[at..at + 3].copy_from_slice(&colour);
            rgba[at + 3] = 255;
        }
    }
    Image::new_owned(rgba, SIZE, SIZE)
}

/// Fill and rim of each state.
fn colours(glyph: Glyph) -> ([u8; 3], [u8; 3]) {
    match glyph {
        Glyph::UpToDate => ([46, 157, 91], [24, 96, 54]),
        Glyph::Syncing => ([47, 125, 225], [22, 72, 140]),
        Glyph::Paused => ([138, 143, 152], [80, 84, 92]),
        Glyph::Attention => ([232, 131, 42], [150, 78, 16]),
    }
}

/// Whether a point (from the centre) is on the exclamation mark: a bar, then a dot.
fn exclamation(dx: f32, dy: f32) -> bool {
    dx.abs() <= 1.6 && ((-8.0..=2.5).contains(&dy) || (5.0..=8.0).contains(&dy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_an_icon_of_its_own() {
        let icons: Vec<Vec<u8>> = [
            Glyph::UpToDate,
            Glyph::Syncing,
            Glyph::Paused,
            Glyph::Attention,
        ]
        .into_iter()
        .map(|g| image(g).rgba().to_vec())
        .collect();
        for (i, a) in icons.iter().enumerate() {
            assert_eq!(a.len(), (SIZE * SIZE * 4) as usize);
            for b in &icons[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The corners are see-through: a dot, not a square.
        assert_eq!(icons[0][3], 0);
    }
}
