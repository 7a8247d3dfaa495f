//! Placeholder: the verifier is being written.
