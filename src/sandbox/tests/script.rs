//! Scripted answers, end to end, including the cases' own scripts.

use std::time::{Duration, SystemTime};

use super::{call_to, dispatch, scripted, start};
use crate::sandbox::{SandboxConfig, Script};

/// A sequence is consumed in order, unlisted numbers get the default,
/// repeat_last repeats, and a request past the end is a script fault.
#[tokio::test]
async fn script_sequences() {
    let sandbox = start(scripted(
        r#"{
        "match_on": "to_number",
        "default": {"status": 200,
            "body": {"success": true, "status": "dispatched", "requestId": "auto"}},
        "sequences": {
            "+12015550311": [
                {"status": 429, "headers": {"Retry-After": "2"},
                    "body": {"success": false, "error": "slow down"}},
                {"status": 200,
                    "body": {"success": true, "status": "dispatched", "requestId": 9311}}
            ],
            "+12015550316": [{"status": 503, "body": {"success": false, "error": "busy"}}],
            "+12015550324": [{"status": 504, "record_dispatch": true, "requestId": 9324,
                "raw_body": "<html>504</html>", "headers": {"Content-Type": "text/html"}}]
        },
        "repeat_last": {"+12015550316": true}
    }"#,
    ))
    .await;

    let limited = dispatch(&sandbox, &call_to("+12015550311")).await.unwrap();
    assert_eq!(
        (limited.status, limited.header("retry-after")),
        (429, Some("2"))
    );
    let placed = dispatch(&sandbox, &call_to("+12015550311")).await.unwrap();
    assert_eq!(placed.json()["requestId"], 9311);
    let beyond = dispatch(&sandbox, &call_to("+12015550311")).await.unwrap();
    assert_eq!(beyond.status, 500);
    assert_eq!(
        beyond.json()["error"],
        "sandbox script exhausted for +12015550311"
    );
    for _ in 0..3 {
        assert_eq!(
            dispatch(&sandbox, &call_to("+12015550316"))
                .await
                .unwrap()
                .status,
            503
        );
    }
    let gateway = dispatch(&sandbox, &call_to("+12015550324")).await.unwrap();
    assert_eq!(
        (gateway.status, gateway.header("content-type")),
        (504, Some("text/html"))
    );
    assert_eq!(gateway.body, b"<html>504</html>");
    let unlisted = dispatch(&sandbox, &call_to("+12015550399")).await.unwrap();
    assert_eq!(unlisted.json()["requestId"], 1);

    let ids: Vec<_> = sandbox.calls().iter().map(|c| c.request_id).collect();
    assert_eq!(ids, [9311, 9324, 1]);
    assert_eq!(
        sandbox.script_faults(),
        ["sandbox script exhausted for +12015550311"]
    );
    let beyond_record = &sandbox.requests()[2];
    assert_eq!(
        (beyond_record.status, beyond_record.placed),
        (Some(500), false)
    );
    sandbox.shutdown().await;
}

/// A date offset header becomes a valid IMF-fixdate about N s from now.
#[tokio::test]
async fn retry_after_http_date() {
    let sandbox = start(scripted(
        r#"{"default": {"status": 429, "headers": {"Retry-After": {"http_date_offset_s": 6}},
            "body": {"success": false, "error": "rate limit exceeded"}}}"#,
    ))
    .await;
    let before = SystemTime::now();
    let answer = dispatch(&sandbox, &call_to("+12015550312")).await.unwrap();
    let after = SystemTime::now();

    let text = answer.header("retry-after").unwrap();
    assert!(text.ends_with(" GMT") && text.len() == 29, "{text}");
    let date = httpdate::parse_http_date(text).unwrap();
    // The header has whole seconds, so it may fall up to 1 s short.
    assert!(
        date + Duration::from_secs(1) >= before + Duration::from_secs(6),
        "{text}"
    );
    assert!(date <= after + Duration::from_secs(6), "{text}");
    assert!(sandbox.calls().is_empty());
    sandbox.shutdown().await;
}

/// A hang places the call, stays silent for hang_s, then closes.
#[tokio::test(start_paused = true)]
async fn hang_records_as_placed() {
    let sandbox = start(scripted(
        r#"{"sequences": {"+12015550322": [
            {"action": "hang", "hang_s": 120, "record_dispatch": true, "requestId": 9322}]}}"#,
    ))
    .await;
    let started = tokio::time::Instant::now();
    assert!(dispatch(&sandbox, &call_to("+12015550322")).await.is_none());
    assert!(started.elapsed() >= Duration::from_secs(120));

    let calls = sandbox.calls();
    assert_eq!((calls.len(), calls[0].request_id), (1, 9322));
    let request = &sandbox.requests()[0];
    assert_eq!(
        (request.status, request.placed, request.request_id),
        (None, true, Some(9322))
    );
    sandbox.shutdown().await;
}

/// The case scripts run as their cases describe.
#[tokio::test(start_paused = true)]
async fn case_script_timeout_no_double_dial() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/cases/timeout-no-double-dial/server_script.json");
    let config = SandboxConfig {
        script: Some(Script::from_path(&path).unwrap()),
        ..SandboxConfig::default()
    };
    let sandbox = start(config).await;
    assert!(dispatch(&sandbox, &call_to("+12015550322")).await.is_none());
    assert_eq!(
        dispatch(&sandbox, &call_to("+12015550323"))
            .await
            .unwrap()
            .status,
        503
    );
    assert_eq!(
        dispatch(&sandbox, &call_to("+12015550323"))
            .await
            .unwrap()
            .json()["requestId"],
        9323
    );
    assert_eq!(
        dispatch(&sandbox, &call_to("+12015550324"))
            .await
            .unwrap()
            .status,
        504
    );

    let ids: Vec<_> = sandbox.calls().iter().map(|c| c.request_id).collect();
    assert_eq!(ids, [9322, 9323, 9324]);
    assert!(sandbox.script_faults().is_empty());
    sandbox.shutdown().await;
}
