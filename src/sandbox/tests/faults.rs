//! Random faults, latency and their seeded repeatability, end to end.

use std::time::Duration;

use super::{call_to, dispatch, start};
use crate::sandbox::{FaultRates, SandboxConfig};

/// accept-drop places the call and closes unanswered; drop places nothing.
#[tokio::test]
async fn drops_close_without_answering() {
    let accept_drop = FaultRates {
        drop_after_accept: 1.0,
        ..FaultRates::default()
    };
    let sandbox = start(SandboxConfig {
        faults: accept_drop,
        ..SandboxConfig::default()
    })
    .await;
    assert!(dispatch(&sandbox, &call_to("+12015550100")).await.is_none());
    assert_eq!(sandbox.calls().len(), 1);
    let request = &sandbox.requests()[0];
    assert_eq!(
        (request.status, request.placed, request.request_id),
        (None, true, Some(1))
    );
    sandbox.shutdown().await;

    let drop = FaultRates {
        drop: 1.0,
        ..FaultRates::default()
    };
    let sandbox = start(SandboxConfig {
        faults: drop,
        ..SandboxConfig::default()
    })
    .await;
    assert!(dispatch(&sandbox, &call_to("+12015550100")).await.is_none());
    assert!(sandbox.calls().is_empty());
    let request = &sandbox.requests()[0];
    assert_eq!((request.status, request.placed), (None, false));
    sandbox.shutdown().await;
}

/// Sends `count` dispatches one after another under `faults` and `seed`,
/// returning (status or none, placed) per request.
async fn fault_run(faults: &str, seed: u64, count: usize) -> Vec<(Option<u16>, bool)> {
    let config = SandboxConfig {
        faults: faults.parse().unwrap(),
        seed,
        ..SandboxConfig::default()
    };
    let sandbox = start(config).await;
    for i in 0..count {
        let answer = dispatch(&sandbox, &call_to(&format!("+1201555{i:04}"))).await;
        if let Some(answer) = &answer
            && answer.status == 429
        {
            assert_eq!(answer.header("retry-after"), Some("1"));
        }
    }
    let outcome = sandbox
        .requests()
        .iter()
        .map(|r| (r.status, r.placed))
        .collect();
    sandbox.shutdown().await;
    outcome
}

/// The same seed gives the same faults in the same order; another seed
/// gives others. Every kind of fault shows up and behaves as documented.
#[tokio::test]
async fn seeded_faults_repeat() {
    let spec = "429=0.15,500=0.1,502=0.1,503=0.1,drop=0.1,accept-drop=0.1";
    let first = fault_run(spec, 7, 60).await;
    assert_eq!(first, fault_run(spec, 7, 60).await);
    assert_ne!(first, fault_run(spec, 8, 60).await);

    for expected in [
        (Some(200), true),
        (Some(429), false),
        (Some(500), false),
        (Some(502), false),
    ] {
        assert!(first.contains(&expected), "{expected:?} never drawn");
    }
    for expected in [(Some(503), false), (None, false), (None, true)] {
        assert!(first.contains(&expected), "{expected:?} never drawn");
    }
    assert_eq!(first.len(), 60);
}

/// `slow` answers normally after at least 2 s; latency delays every answer.
#[tokio::test(start_paused = true)]
async fn slow_and_latency_delay_answers() {
    let slow = FaultRates {
        slow: 1.0,
        ..FaultRates::default()
    };
    let config = SandboxConfig {
        faults: slow,
        latency_ms: 100,
        ..SandboxConfig::default()
    };
    let sandbox = start(config).await;
    let started = tokio::time::Instant::now();
    let answer = dispatch(&sandbox, &call_to("+12015550100")).await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(sandbox.calls().len(), 1);
    sandbox.shutdown().await;

    let sandbox = start(SandboxConfig {
        latency_ms: 1500,
        ..SandboxConfig::default()
    })
    .await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        dispatch(&sandbox, &call_to("+12015550100"))
            .await
            .unwrap()
            .status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
    sandbox.shutdown().await;
}
