//! Browser tier: the ward board's kept snapshot takes a bed's state by the instant it was
//! stamped, whatever the stamp's spelling (the comparison uses the browser's `Date.parse`).

use caresync::platform::ward::{not_older, KeptSnapshot};
use caresync_contract::facility::{BedDto, SnapshotDto};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn bed(status: &str, at: &str) -> BedDto {
    BedDto {
        bed_id: "bed-1".into(),
        location_id: "ward-a".into(),
        label: "Bed 1".into(),
        status: status.into(),
        status_updated_at: at.into(),
        housekeeping_status: "clean".into(),
        housekeeping_updated_at: "2026-11-24T10:00:00.000Z".into(),
    }
}

fn kept(with: BedDto) -> KeptSnapshot {
    KeptSnapshot {
        snapshot: SnapshotDto {
            node_id: "node".into(),
            generated_at: "2026-11-24T10:00:00.000Z".into(),
            ttl_seconds: 60,
            change_seq: 0,
            nodes: vec![],
            locations: vec![],
            beds: vec![with],
            memberships: vec![],
        },
        fetched_at: 0.0,
    }
}

#[wasm_bindgen_test]
fn stamps_compare_as_instants_not_as_text() {
    // As text, ".5Z" sorts after ".400Z"; as instants it is later, and ".500Z" is the same.
    assert!(not_older(
        "2026-11-24T10:00:00.5Z",
        "2026-11-24T10:00:00.400Z"
    ));
    assert!(not_older(
        "2026-11-24T10:00:00.500Z",
        "2026-11-24T10:00:00.5Z"
    ));
    // As text "+01:00" looks later; it is an hour earlier.
    assert!(!not_older(
        "2026-11-24T10:30:00+01:00",
        "2026-11-24T10:00:00Z"
    ));
    assert!(not_older(
        "2026-11-24T10:00:01Z",
        "2026-11-24T10:00:00.999Z"
    ));
}

#[wasm_bindgen_test]
fn a_stamp_that_does_not_parse_never_overwrites_a_known_state() {
    assert!(!not_older("yesterday", "2026-11-24T10:00:00Z"));
    assert!(not_older("2026-11-24T10:00:00Z", "yesterday"));
}

#[wasm_bindgen_test]
fn merge_keeps_the_later_state_whatever_the_stamps_spelling() {
    let mut k = kept(bed("occupied", "2026-11-24T11:00:00.000Z"));
    // An older state, spelled with an offset that sorts later as text: not taken.
    k.merge(&bed("vacant", "2026-11-24T11:30:00+01:00"));
    assert_eq!(k.snapshot.beds[0].status, "occupied");
    // A newer one without milliseconds: taken.
    k.merge(&bed("cleaning", "2026-11-24T11:00:01Z"));
    assert_eq!(k.snapshot.beds[0].status, "cleaning");
    assert_eq!(k.snapshot.beds[0].status_updated_at, "2026-11-24T11:00:01Z");
}
