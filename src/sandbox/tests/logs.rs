//! Call logs, end to end.

use serde_json::json;

use super::{call_to, dispatch, get, start};
use crate::sandbox::SandboxConfig;

/// Pins log fields, 1-based pagination, the page size default and the
/// filters.
#[tokio::test]
async fn logs_paginate_and_filter() {
    let sandbox = start(SandboxConfig {
        seed: 3,
        ..SandboxConfig::default()
    })
    .await;
    for i in 0..25 {
        let body = json!({ "agent_id": 1 + i % 2, "to_number": format!("+120155501{i:02}") });
        assert_eq!(dispatch(&sandbox, &body).await.unwrap().status, 200);
    }

    let first = get(&sandbox, "/api/v1/calls/logs").await.json();
    assert_eq!(first["total_records"], 25);
    let logs = first["call_log_data"].as_array().unwrap();
    assert_eq!(logs.len(), 10);
    let log = &logs[0];
    assert_eq!(log["to_number"], "+12015550100");
    assert_eq!(log["call_direction"], "outbound");
    assert_eq!(
        log["call_request_id"],
        json!({"id": 1, "type_of_request": "dispatch"})
    );
    assert_eq!(log["extracted_variables"], json!({}));
    for field in [
        "id",
        "from_number",
        "time_of_call",
        "call_status",
        "call_duration_in_seconds",
        "call_cost",
        "hangup_reason",
        "agent_id",
    ] {
        assert!(!log[field].is_null(), "{field}");
    }

    let last = get(&sandbox, "/api/v1/calls/logs?pageno=3&pagesize=10")
        .await
        .json();
    assert_eq!(last["call_log_data"].as_array().unwrap().len(), 5);
    assert_eq!(last["call_log_data"][0]["call_request_id"]["id"], 21);
    let agent = get(&sandbox, "/api/v1/calls/logs?agentid=2&pagesize=100")
        .await
        .json();
    assert_eq!(agent["total_records"], 12);
    assert!(
        agent["call_log_data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["agent_id"] == 2)
    );
    let bulk = get(&sandbox, "/api/v1/calls/logs?bulk_call_id=7")
        .await
        .json();
    assert_eq!(bulk["total_records"], 0);

    let mut by_status = 0;
    for status in ["completed", "busy", "no-answer", "failed"] {
        let page = get(
            &sandbox,
            &format!("/api/v1/calls/logs?call_status={status}&pagesize=500"),
        )
        .await
        .json();
        let logs = page["call_log_data"].as_array().unwrap();
        assert!(logs.iter().all(|l| l["call_status"] == status));
        assert!(
            logs.iter()
                .all(|l| (l["call_duration_in_seconds"] == 0) == (status != "completed"))
        );
        by_status += page["total_records"].as_u64().unwrap();
    }
    assert_eq!(by_status, 25);
    assert_eq!(
        get(&sandbox, "/api/v1/calls/logs?pageno=0").await.status,
        400
    );
    sandbox.shutdown().await;
}

/// A log by id comes wrapped in a one-element array; unknown ids are 404.
#[tokio::test]
async fn log_by_id() {
    let sandbox = start(SandboxConfig::default()).await;
    dispatch(&sandbox, &call_to("+12015550100")).await.unwrap();
    let list = get(&sandbox, "/api/v1/calls/logs").await.json();
    let id = &list["call_log_data"][0]["id"];

    let one = get(&sandbox, &format!("/api/v1/calls/logs/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["call_log_data"].as_array().unwrap().len(), 1);
    assert_eq!(one.json()["call_log_data"][0], list["call_log_data"][0]);
    for unknown in ["1", "999999999", "abc"] {
        let answer = get(&sandbox, &format!("/api/v1/calls/logs/{unknown}")).await;
        assert_eq!(answer.status, 404, "{unknown}");
        assert_eq!(answer.json()["success"], false);
    }
    sandbox.shutdown().await;
}
