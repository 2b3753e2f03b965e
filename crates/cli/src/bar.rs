//! The progress bar on a terminal: a [`Sink`] that draws the job's snapshots with indicatif.

use indicatif::{ProgressBar, ProgressStyle};
use tidesync_engine::{JobEvent, Sink};

/// Draws overall bytes, files, rate, ETA and the files in flight.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar { bar }
    }
}

impl Sink for Bar {
    fn send(&self, event: JobEvent) -> bool {
        match event {
            JobEvent::Snapshot { snapshot } => {
                self.bar.set_length(snapshot.bytes_total);
                self.bar.set_position(snapshot.bytes_done);
                let current: Vec<&str> = snapshot
                    .in_flight
                    .iter()
                    .map(|f| f.path.as_str())
                    .take(2)
                    .collect();
                self.bar.set_message(format!(
                    "{}/{} files {}",
                    snapshot.files_done,
                    snapshot.files_total,
                    current.join(", ")
                ));
            }
            JobEvent::Finished { .. } | JobEvent::Failed { .. } => self.bar.finish_and_clear(),
            _ => {}
        }
        true
    }
}
