//! Dispatch answers, validation, auth, routing and the introspection
//! endpoints, end to end.

use serde_json::{Value, json};

use super::{Client, call_to, dispatch, get, start};
use crate::sandbox::SandboxConfig;

/// Pins the success body, increasing ids from `first_request_id`, the
/// variable count and the record of placed calls; also pins keep-alive.
#[tokio::test]
async fn dispatch_succeeds_with_increasing_ids() {
    let sandbox = start(SandboxConfig {
        first_request_id: 100,
        ..SandboxConfig::default()
    })
    .await;
    let mut client = Client::connect(sandbox.addr()).await;
    let with_context = json!({
        "agent_id": 42, "to_number": "+12015550100", "from_number_id": 23,
        "call_context": { "name": "Jane", "plan": "gold" }
    });
    let first = client
        .send(
            "POST",
            "/api/v1/calls/dispatch",
            &[],
            &with_context.to_string(),
        )
        .await
        .unwrap();
    let second_body = call_to("+12015550101").to_string();
    let second = client
        .send("POST", "/api/v1/calls/dispatch", &[], &second_body)
        .await
        .unwrap();

    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let expected = json!({
        "success": true, "status": "dispatched", "requestId": 100,
        "custom_variables_count": 2
    });
    assert_eq!(first.json(), expected);
    assert_eq!(second.json()["requestId"], 101);
    assert_eq!(second.json()["custom_variables_count"], 0);

    let calls = sandbox.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].request_id, calls[0].from_number_id),
        (100, Some(23))
    );
    assert_eq!(calls[0].call_context.as_ref().unwrap()["plan"], "gold");
    assert_eq!(
        (calls[1].request_id, calls[1].to_number.as_str()),
        (101, "+12015550101")
    );
    sandbox.shutdown().await;
}

/// Each bad field gets a 400 naming it, is recorded, and places nothing.
#[tokio::test]
async fn bad_bodies_get_400() {
    let sandbox = start(SandboxConfig::default()).await;
    let cases = [
        ("{", "JSON"),
        ("[]", "object"),
        (r#"{"to_number": "+12015550100"}"#, "agent_id"),
        (
            r#"{"agent_id": "42", "to_number": "+12015550100"}"#,
            "agent_id",
        ),
        (r#"{"agent_id": 42}"#, "to_number"),
        (
            r#"{"agent_id": 42, "to_number": "2015550100"}"#,
            "to_number",
        ),
        (
            r#"{"agent_id": 42, "to_number": "+12015550100", "from_number_id": 2.5}"#,
            "from_number_id",
        ),
        (
            r#"{"agent_id": 42, "to_number": "+12015550100", "call_context": "x"}"#,
            "call_context",
        ),
    ];
    for (body, field) in cases {
        let mut client = Client::connect(sandbox.addr()).await;
        let answer = client
            .send("POST", "/api/v1/calls/dispatch", &[], body)
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.json()["success"], false);
        assert!(
            answer.json()["error"].as_str().unwrap().contains(field),
            "{body}"
        );
    }

    assert!(sandbox.calls().is_empty());
    let requests = sandbox.requests();
    assert_eq!(requests.len(), cases.len());
    assert!(requests.iter().all(|r| r.status == Some(400) && !r.placed));
    assert_eq!(requests[5].to_number.as_deref(), Some("2015550100"));
    assert_eq!(requests[0].to_number, None);
    sandbox.shutdown().await;
}

/// With a key set, dispatch and logs demand it; the key is never echoed.
#[tokio::test]
async fn api_key_is_enforced() {
    let key = "sk-rehearsal-key";
    let sandbox = start(SandboxConfig {
        api_key: Some(key.into()),
        ..SandboxConfig::default()
    })
    .await;
    let body = call_to("+12015550100").to_string();
    let bearer = format!("Bearer {key}");
    let attempts: [(&[(&str, &str)], u16); 3] = [
        (&[], 401),
        (&[("Authorization", "Bearer wrong-key")], 401),
        (&[("Authorization", bearer.as_str())], 200),
    ];
    for (headers, status) in attempts {
        let mut client = Client::connect(sandbox.addr()).await;
        let answer = client
            .send("POST", "/api/v1/calls/dispatch", headers, &body)
            .await
            .unwrap();
        assert_eq!(answer.status, status);
        assert!(!String::from_utf8_lossy(&answer.body).contains(key));
    }
    assert_eq!(get(&sandbox, "/api/v1/calls/logs").await.status, 401);
    assert_eq!(get(&sandbox, "/__sandbox/calls").await.status, 200);

    let statuses: Vec<_> = sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(401), Some(401), Some(200)]);
    assert_eq!(sandbox.calls().len(), 1);
    sandbox.shutdown().await;
}

/// Pins the JSON shapes of `/__sandbox/calls` and `/__sandbox/requests`.
#[tokio::test]
async fn introspection_shapes() {
    let sandbox = start(SandboxConfig::default()).await;
    let body = json!({ "agent_id": 42, "to_number": "+12015550100", "call_context": { "k": "v" } });
    dispatch(&sandbox, &body).await.unwrap();
    dispatch(&sandbox, &json!({ "agent_id": 42, "to_number": "bad" }))
        .await
        .unwrap();

    let calls = get(&sandbox, "/__sandbox/calls").await.json();
    let call = &calls.as_array().unwrap()[0];
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert_eq!(call["request_id"], 1);
    assert_eq!(call["agent_id"], 42);
    assert_eq!(call["to_number"], "+12015550100");
    assert_eq!(call["from_number_id"], Value::Null);
    assert_eq!(call["call_context"], json!({ "k": "v" }));
    let at = call["received_at"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && at.split('.').nth(1).unwrap().len() == 7,
        "{at}"
    );
    let at: jiff::Timestamp = at.parse().unwrap();
    let unix_ms = call["received_unix_ms"].as_f64().unwrap();
    assert!((unix_ms - at.as_millisecond() as f64).abs() < 1.0);

    let requests = get(&sandbox, "/__sandbox/requests").await.json();
    let expected_first = json!({
        "seq": 1, "to_number": "+12015550100", "status": 200, "placed": true, "request_id": 1,
        "received_unix_ms": unix_ms,
    });
    assert_eq!(requests[0], expected_first);
    assert_eq!(requests[1]["seq"], 2);
    assert_eq!(requests[1]["to_number"], "bad");
    assert_eq!(requests[1]["status"], 400);
    assert_eq!(requests[1]["placed"], false);
    assert_eq!(requests[1]["request_id"], Value::Null);
    sandbox.shutdown().await;
}

/// Unknown paths get a JSON 404; known paths with the wrong method a 405.
#[tokio::test]
async fn unknown_paths() {
    let sandbox = start(SandboxConfig::default()).await;
    let missing = get(&sandbox, "/api/v1/agents").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["success"], false);
    let wrong = get(&sandbox, "/api/v1/calls/dispatch").await;
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    assert!(sandbox.requests().is_empty());
    sandbox.shutdown().await;
}
