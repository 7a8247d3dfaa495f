//! Placeholder: the command is being written.
fn main() {}
