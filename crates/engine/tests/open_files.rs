//! The engine raises the process's soft limit on open files when it opens: a macOS or iOS
//! process starts at 256, which two descriptors per transfer at the default ceiling of 128
//! would use up. Alone in its test binary, since it changes a limit of the whole process.
#![cfg(unix)]

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tidesync_engine::{Engine, EngineOptions};

#[tokio::test]
async fn opening_the_engine_raises_a_low_limit_on_open_files() {
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(256),
            maximum: hard,
        },
    )
    .expect("the soft limit can be lowered");
    let data = tempfile::tempdir().unwrap();
    let _engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .expect("the engine opens");
    let now = getrlimit(Resource::Nofile);
    let wanted = hard.map_or(4096, |hard| hard.min(4096));
    assert_eq!(now.current, Some(wanted), "raised as far as allowed");
    assert_eq!(now.maximum, hard, "the hard limit is left alone");
}
