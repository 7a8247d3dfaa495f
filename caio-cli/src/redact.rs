//! What a command may repeat of an argument it did not understand.
//!
//! A command-line parser names the argument it rejects ("unexpected argument
//! '...'"), which is what makes a typo easy to fix. But the argument an operator pastes
//! by mistake is as likely to be a private key: `-----BEGIN PRIVATE KEY-----` starts
//! with hyphens like a long option, and a PEM pasted after a token or a path is an
//! extra argument. Echoed, it lands in a terminal, a CI log or a bug report. So the
//! commands (`caio-verify` and `cargo xtask`) name a rejected argument only when it is
//! shaped like an option; anything else is described, not shown. This module decides
//! which is which; it knows nothing of any parser.

/// The longest option name (after its dashes) that is echoed.
const MAX_OPTION_NAME: usize = 40;

/// The message for a rejected argument `arg`, or `None` when `arg` is shaped like an
/// option (`-x`, `--some-flag`, lowercase ASCII letters, digits and inner hyphens) and
/// the parser's own message, which names it and may suggest the option meant, can be
/// shown as it is.
///
/// `arg` is `None` when the parser did not say which argument it rejected: then
/// nothing of its message can be trusted not to hold it, and a description is
/// returned.
pub fn unexpected_argument(arg: Option<&str>) -> Option<String> {
    let Some(arg) = arg else {
        return Some(
            "error: an unexpected argument (not shown)\n\nFor more information, try '--help'."
                .to_owned(),
        );
    };
    if is_option_shaped(arg) {
        return None;
    }
    let hint = if arg.starts_with('-') {
        "; to pass a value that starts with '-', put '--' before it"
    } else {
        ""
    };
    Some(format!(
        "error: an unexpected argument of {} bytes (not shown: it is not an option, and may be a key pasted by mistake){hint}\n\nFor more information, try '--help'.",
        arg.len()
    ))
}

fn is_option_shaped(arg: &str) -> bool {
    let name = arg
        .strip_prefix("--")
        .or_else(|| arg.strip_prefix('-'))
        .unwrap_or_default();
    (1..=MAX_OPTION_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_left_to_the_parser() {
        for arg in ["-x", "--jsn", "--allow-development", "--leeway2"] {
            assert_eq!(unexpected_argument(Some(arg)), None, "{arg}");
        }
    }

    #[test]
    fn anything_else_is_described_not_shown() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIODbDl56dxDHz/3kdOdKRMXzuShNPtS6rC7CqirIg4Dv\n-----END PRIVATE KEY-----";
        let body = "MC4CAQAwBQYDK2VwBCIEIODbDl56dxDHz/3kdOdKRMXzuShNPtS6rC7CqirIg4Dv";
        let seed_hex = "e0db0e5e7a7710c7cffde474e74a44c5f3b9284d3ed4baac2ec2aa2ac88380ef";
        for arg in [
            pem,
            body,
            seed_hex,
            "--at=2026-01-01",
            "--Upper",
            "--trailing-",
            "-----",
            "--an-option-name-longer-than-forty-characters-x",
        ] {
            let message = unexpected_argument(Some(arg)).unwrap_or_else(|| panic!("{arg:?} shown"));
            assert!(!message.contains(arg), "{message}");
            assert!(message.contains(&format!("{} bytes", arg.len())));
        }
        assert!(
            unexpected_argument(Some(pem))
                .unwrap()
                .contains("put '--' before it")
        );
        assert!(!unexpected_argument(Some(body)).unwrap().contains("'--'"));
        assert!(unexpected_argument(None).is_some());
    }
}
