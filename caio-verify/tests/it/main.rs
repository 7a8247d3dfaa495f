//! Integration tests of the library as a product links it: properties over mutated
//! licenses. The end-to-end tests of the `caio-verify` command are in `caio-cli`.

mod mutation;
