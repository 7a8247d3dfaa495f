//! Integration tests of the library as a product links it: properties over mutated
//! licenses, and the prepared signature check against `verify_strict`. The end-to-end
//! tests of the `caio-verify` command are in `caio-cli`.

mod differential;
mod mutation;
