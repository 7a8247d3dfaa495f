//! Pause points that let the crash and concurrency tests stop a manifest edit at an
//! exact step, from outside the process.
//!
//! With `CAIO_XTASK_TEST_PAUSE_AT=<point>` in its environment, a debug build of xtask
//! (what `cargo xtask` runs) prints `test hook: paused at <point>` on stderr when it
//! reaches that point, and waits for a line on stdin (or its end) before it goes on.
//! A test then kills it there (and checks the manifest is the old one or the new one,
//! never a mix) or lets it go on (and checks a second edit waited for the lock). A
//! pause only delays: it cannot change what is read or written. Release builds compile
//! it out. The points are named where [`pause`] is called, in `keys/edit.rs`.

/// The environment variable naming the point to pause at.
pub const ENV: &str = "CAIO_XTASK_TEST_PAUSE_AT";

/// Pauses here when the test hook names `point`; otherwise returns at once.
pub fn pause(point: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if std::env::var_os(ENV).is_some_and(|wanted| wanted == point) {
        eprintln!("test hook: paused at {point}");
        let mut line = String::new();
        // Any line, the end of stdin, or an error all mean "go on".
        let _ = std::io::stdin().read_line(&mut line);
    }
}
