//! The macro's argument: nothing, or one string literal naming the manifest.
//!
//! This file only turns tokens into an [`Input`] and reports malformed arguments with
//! spans on the offending tokens. What the path means (relative to which file, and what
//! overrides it) is decided in `locate.rs`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// What `embed_keyring!(...)` was given.
pub struct Input {
    /// The manifest path as written, relative to the invoking source file; `None` for
    /// `embed_keyring!()`.
    pub path: Option<LitStr>,
}

impl Input {
    /// The path as written, unescaped.
    pub fn path_value(&self) -> Option<String> {
        self.path.as_ref().map(LitStr::value)
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Self { path: None });
        }
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected a string literal: the manifest's path relative to this file, \
                 or no argument for keys/keyring.toml of the workspace",
            ));
        }
        let path: LitStr = input.parse()?;
        if !path.suffix().is_empty() {
            return Err(syn::Error::new(
                path.span(),
                "the manifest path takes no literal suffix",
            ));
        }
        if path.value().is_empty() {
            return Err(syn::Error::new(
                path.span(),
                "the manifest path is empty; name a file, or pass no argument for keys/keyring.toml of the workspace",
            ));
        }
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("embed_keyring! takes one manifest path; remove this argument"));
        }
        Ok(Self { path: Some(path) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `source` and returns the path, or the error message.
    fn check(source: &str, expected: Result<Option<&str>, &str>) {
        let parsed = syn::parse_str::<Input>(source);
        let actual = parsed
            .as_ref()
            .map(Input::path_value)
            .map_err(ToString::to_string);
        let actual = match &actual {
            Ok(path) => Ok(path.as_deref()),
            Err(message) => Err(message.as_str()),
        };
        assert_eq!(actual, expected, "input: {source}");
    }

    #[test]
    fn accepts_nothing_or_one_path() {
        check("", Ok(None));
        check(r#""keys/keyring.toml""#, Ok(Some("keys/keyring.toml")));
        check(r#""keys/keyring.toml","#, Ok(Some("keys/keyring.toml")));
        check(
            r##"r#"a "quoted" dir/keyring.toml"#"##,
            Ok(Some(r#"a "quoted" dir/keyring.toml"#)),
        );
        check(r#""tab\there.toml""#, Ok(Some("tab\there.toml")));
    }

    #[test]
    fn rejects_anything_else() {
        let not_a_string = "expected a string literal: the manifest's path relative to this file, \
                            or no argument for keys/keyring.toml of the workspace";
        check("42", Err(not_a_string));
        check("keys", Err(not_a_string));
        check(r#"b"keys/keyring.toml""#, Err(not_a_string));
        check(",", Err(not_a_string));
        let extra = "embed_keyring! takes one manifest path; remove this argument";
        check(r#""a.toml", "b.toml""#, Err(extra));
        check(r#""a.toml" "b.toml""#, Err(extra));
        check(r#""a.toml",,"#, Err(extra));
        check(
            r#""a.toml"suffix"#,
            Err("the manifest path takes no literal suffix"),
        );
        check(
            r#""""#,
            Err(
                "the manifest path is empty; name a file, or pass no argument for keys/keyring.toml of the workspace",
            ),
        );
    }
}
