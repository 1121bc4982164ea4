//! The sandbox's HTTP side: the accept loop, one task per connection,
//! routing, the bearer check and the JSON response helpers.
//!
//! We drive hyper directly rather than through a framework because the
//! faults need a handler that can give no answer at all: when a service
//! returns `Err`, hyper's HTTP/1 side closes the connection without writing
//! anything, which is exactly "accepted, then dropped". (Over HTTP/2 the
//! same `Err` resets only that stream.) The endpoints themselves live in
//! `dispatch.rs` and `logs.rs`; the books in `state.rs`.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::SandboxConfig;
use super::state::State;
use super::{dispatch, logs};

/// Every answer the sandbox sends.
pub(crate) type Reply = Response<Full<Bytes>>;

/// Where dispatches go.
const DISPATCH_PATH: &str = "/api/v1/calls/dispatch";

/// Where the log list is.
const LOGS_PATH: &str = "/api/v1/calls/logs";

/// The sandbox's own record of placed calls.
const CALLS_PATH: &str = "/__sandbox/calls";

/// The sandbox's own record of dispatch requests.
const REQUESTS_PATH: &str = "/__sandbox/requests";

/// How long to wait after a failed `accept` (say, out of file descriptors)
/// before trying again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Returned by a handler to make hyper close the connection unanswered.
#[derive(Debug, thiserror::Error)]
#[error("the sandbox closed the connection without answering, as planned")]
pub(crate) struct DropConnection;

/// Which endpoint a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `POST /api/v1/calls/dispatch`.
    Dispatch,
    /// `GET /api/v1/calls/logs`.
    Logs,
    /// `GET /api/v1/calls/logs/{id}`.
    Log(String),
    /// `GET /__sandbox/calls`.
    Calls,
    /// `GET /__sandbox/requests`.
    Requests,
    /// A known path with the wrong method; holds the allowed one.
    WrongMethod(&'static str),
    /// Anything else.
    NotFound,
}

/// Binds the sandbox's listener on 127.0.0.1, never any other address.
pub(crate) async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| format!("binding the sandbox to 127.0.0.1:{port}"))
}

/// Accepts connections until `shutdown_rx` fires (a send, or the sender
/// being dropped with the `Sandbox`).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown_rx: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tokio::spawn(serve_connection(stream, Arc::clone(&state), shutdown_rx.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "sandbox could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = shutdown_rx.changed() => break,
        }
    }
    tracing::debug!("sandbox stopped accepting connections");
}

/// Serves one connection, HTTP/1.1 with keep-alive or HTTP/2, until the
/// client closes it, a handler drops it, or the sandbox shuts down.
async fn serve_connection(
    stream: TcpStream,
    state: Arc<State>,
    mut shutdown_rx: watch::Receiver<()>,
) {
    // Small answers must not sit waiting for Nagle's algorithm; a failure
    // here only costs latency, so it is not worth refusing the client.
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "sandbox could not set TCP_NODELAY");
    }
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { route(&state, request).await }
    });
    let builder = Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);

    tokio::select! {
        result = connection => {
            // Planned drops end here too, so this is not worth a warning.
            if let Err(err) = result {
                tracing::debug!(error = %err, "sandbox connection ended with an error");
            }
        }
        _ = shutdown_rx.changed() => {}
    }
}

/// Sends a request to its endpoint.
async fn route(state: &State, request: Request<Incoming>) -> Result<Reply, DropConnection> {
    let route = route_of(request.method(), request.uri().path());
    let reply = match route {
        Route::Dispatch => return dispatch::handle(state, request).await,
        Route::Logs | Route::Log(_) => {
            if let Err(reason) = authorize(&state.config, request.headers()) {
                return Ok(json_response(StatusCode::UNAUTHORIZED, error_body(reason)));
            }
            match route {
                Route::Log(id) => logs::one(state, &id),
                _ => logs::list(state, request.uri().query()),
            }
        }
        Route::Calls => json_response(StatusCode::OK, Bytes::from(state.calls_json())),
        Route::Requests => json_response(StatusCode::OK, Bytes::from(state.requests_json())),
        Route::WrongMethod(allowed) => {
            let message = format!("{} is not allowed here; use {allowed}", request.method());
            let mut reply = json_response(StatusCode::METHOD_NOT_ALLOWED, error_body(&message));
            reply
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allowed));
            reply
        }
        Route::NotFound => {
            let message = format!(
                "no such endpoint: {} {}",
                request.method(),
                request.uri().path()
            );
            json_response(StatusCode::NOT_FOUND, error_body(&message))
        }
    };
    Ok(reply)
}

/// Maps a method and path to an endpoint.
fn route_of(method: &Method, path: &str) -> Route {
    let route = match path {
        DISPATCH_PATH => Route::Dispatch,
        LOGS_PATH => Route::Logs,
        CALLS_PATH => Route::Calls,
        REQUESTS_PATH => Route::Requests,
        _ => match path
            .strip_prefix(LOGS_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(id) if !id.is_empty() && !id.contains('/') => Route::Log(id.to_string()),
            _ => return Route::NotFound,
        },
    };
    let allowed = if route == Route::Dispatch {
        Method::POST
    } else {
        Method::GET
    };
    if *method == allowed {
        route
    } else if route == Route::Dispatch {
        Route::WrongMethod("POST")
    } else {
        Route::WrongMethod("GET")
    }
}

/// Checks the bearer key when the sandbox has one; the error is the
/// message for the 401. The key itself never appears in a message.
pub(crate) fn authorize(config: &SandboxConfig, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(key) = &config.api_key else {
        return Ok(());
    };
    let value = headers
        .get(AUTHORIZATION)
        .ok_or("missing Authorization header")?;
    let (scheme, token) = value
        .to_str()
        .ok()
        .and_then(|text| text.split_once(' '))
        .ok_or("Authorization header is not a Bearer token")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization header is not a Bearer token");
    }
    if token.trim() != key {
        return Err("invalid API key");
    }
    Ok(())
}

/// A JSON answer with `status` and `body`.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The body of an error answer: `{"success": false, "error": message}`.
pub(crate) fn error_body(message: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "success": false, "error": message }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the routing table, including wrong methods and stray paths.
    #[test]
    fn routes() {
        assert_eq!(route_of(&Method::POST, DISPATCH_PATH), Route::Dispatch);
        assert_eq!(
            route_of(&Method::GET, DISPATCH_PATH),
            Route::WrongMethod("POST")
        );
        assert_eq!(route_of(&Method::GET, LOGS_PATH), Route::Logs);
        assert_eq!(
            route_of(&Method::GET, "/api/v1/calls/logs/17"),
            Route::Log("17".into())
        );
        assert_eq!(
            route_of(&Method::DELETE, "/api/v1/calls/logs/17"),
            Route::WrongMethod("GET")
        );
        assert_eq!(
            route_of(&Method::GET, "/api/v1/calls/logs/"),
            Route::NotFound
        );
        assert_eq!(
            route_of(&Method::GET, "/api/v1/calls/logs/1/2"),
            Route::NotFound
        );
        assert_eq!(
            route_of(&Method::GET, "/api/v1/calls/logsx"),
            Route::NotFound
        );
        assert_eq!(route_of(&Method::GET, CALLS_PATH), Route::Calls);
        assert_eq!(route_of(&Method::GET, REQUESTS_PATH), Route::Requests);
        assert_eq!(route_of(&Method::GET, "/"), Route::NotFound);
    }

    /// The bearer check, with and without a configured key.
    #[test]
    fn bearer_check() {
        let open = SandboxConfig::default();
        assert!(authorize(&open, &HeaderMap::new()).is_ok());

        let keyed = SandboxConfig {
            api_key: Some("sk-rehearsal".into()),
            ..SandboxConfig::default()
        };
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            authorize(&keyed, &headers)
        };
        assert!(with("Bearer sk-rehearsal").is_ok());
        assert!(with("bearer sk-rehearsal").is_ok());
        assert_eq!(with("Bearer sk-other"), Err("invalid API key"));
        assert_eq!(
            with("Basic sk-rehearsal"),
            Err("Authorization header is not a Bearer token")
        );
        assert_eq!(
            authorize(&keyed, &HeaderMap::new()),
            Err("missing Authorization header")
        );
    }
}
