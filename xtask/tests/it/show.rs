//! `keys list` and `keys timeline`: each key's state at an instant, the JSON shape,
//! and the chart in text and SVG.

use test_support::run::assert_contains;

use crate::{Fixture, Key, fingerprint, listed, path};

fn five_states() -> Fixture {
    Fixture::new(
        "",
        &[
            Key {
                id: "expired",
                seed: 1,
                windows: "not_before = 2024-01-01T00:00:00Z\nsign_until = 2025-01-01T00:00:00Z\nnot_after = 2025-06-01T00:00:00Z\n",
            },
            Key {
                id: "verify-only",
                seed: 2,
                windows: "not_before = 2025-01-01T00:00:00Z\nsign_until = 2026-01-01T00:00:00Z\nnot_after = 2026-09-01T00:00:00Z\n",
            },
            Key {
                id: "signing",
                seed: 3,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\n",
            },
            Key {
                id: "pending",
                seed: 4,
                windows: "not_before = 2027-01-01T00:00:00Z\n",
            },
            Key {
                id: "revoked",
                seed: 5,
                windows: "not_before = 2025-06-01T00:00:00Z\nstatus = \"revoked\"\n",
            },
        ],
    )
}

#[test]
fn list_shows_each_state() {
    let f = five_states();
    let list = f.list("2026-06-01T00:00:00Z");
    for id in ["expired", "verify-only", "signing", "pending", "revoked"] {
        assert_eq!(listed(&list, id)["state"], id);
    }
    let signing = listed(&list, "signing");
    assert_eq!(signing["fingerprint"], fingerprint(3));
    assert_eq!(signing["public_key"], "signing.pem");
    assert_eq!(signing["not_before"], "2026-01-01T00:00:00Z");
    assert_eq!(signing["sign_until"], "2027-01-01T00:00:00Z");
    assert_eq!(signing["not_after"], serde_json::Value::Null);
    assert_eq!(
        listed(&list, "pending")["not_after"],
        serde_json::Value::Null
    );
    assert_eq!(listed(&list, "revoked")["status"], "revoked");
    assert_eq!(list["now"], "2026-06-01T00:00:00Z");
    assert_eq!(list["channel"], "production");

    let run = f.xtask(&["keys", "list", "--now", "2026-06-01"]).expect(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("verify-only "))
        .expect("a line per key");
    assert!(
        line.contains("verify-only") && line.contains(&fingerprint(2)),
        "{line}"
    );
}

#[test]
fn timeline_charts_every_key_and_writes_an_svg() {
    let f = five_states();
    let svg = f.path().join("timeline.svg");
    let run = f
        .cmd("keys timeline --svg {} --now 2026-06-01", &[path(&svg)])
        .expect(0);
    for id in ["expired", "verify-only", "signing", "pending", "revoked"] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(id)),
            "{id}: {}",
            run.stdout
        );
    }
    assert_contains(&run.stdout, "▼");
    assert_contains(&run.stdout, "now");
    let picture = std::fs::read_to_string(&svg).expect("the SVG is written");
    assert!(picture.starts_with("<svg ") && picture.trim_end().ends_with("</svg>"));
    for id in ["expired", "verify-only", "signing", "pending", "revoked"] {
        assert!(picture.contains(&format!(">{id} (")), "{id}");
    }
    assert!(picture.contains("now 2026-06-01"));
}
