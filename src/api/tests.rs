//! Connection handling against small servers on 127.0.0.1 that count what
//! they see: keep-alive reuse, servers that close, proxies, and what the
//! client makes of a dropped answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::conn::{Connections, Proxy};
use super::*;

/// What a test server does after each answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// Keeps the connection for the next request.
    KeepOpen,
    /// Closes it, without saying so in the answer.
    Close,
    /// Closes it without answering at all.
    Drop,
}

/// A server that answers every request with a dispatch answer, counting
/// connections and requests.
struct TestServer {
    /// `http://127.0.0.1:port`.
    origin: Uri,
    /// Connections accepted.
    connections: Arc<AtomicUsize>,
    /// Requests read whole.
    requests: Arc<AtomicUsize>,
}

impl TestServer {
    async fn start(after: After) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (conn_count, request_count) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                conn_count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, after, request_count.clone()));
            }
        });
        TestServer {
            origin: format!("http://127.0.0.1:{port}").parse().unwrap(),
            connections,
            requests,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers the requests on one connection.
async fn serve(mut stream: TcpStream, after: After, requests: Arc<AtomicUsize>) {
    while read_request(&mut stream).await.is_some() {
        requests.fetch_add(1, Ordering::SeqCst);
        if after == After::Drop {
            return;
        }
        let body = r#"{"success":true,"requestId":7}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(answer.as_bytes()).await.is_err() || after == After::Close {
            return;
        }
    }
}

/// Reads one request's head and body; `None` at the end of the stream.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(str::to_string)
        })
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head)
}

/// A client for `origin` that keeps up to `max_idle` connections.
fn client(origin: &Uri, max_idle: usize) -> Arc<ApiClient> {
    let settings = ClientSettings {
        base_url: format!("{origin}api/v1").replace("//api", "/api"),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        max_idle,
    };
    Arc::new(ApiClient::new(&settings, &ApiKey::sandbox()).unwrap())
}

/// Dispatches one call to a fixed number.
async fn dispatch(client: &ApiClient) -> (Verdict, Option<u16>) {
    let context = CallContext::default();
    let body = DispatchBody {
        agent_id: 1,
        to_number: "+12015550101",
        from_number_id: None,
        call_context: &context,
    };
    client.dispatch(&body).await
}

#[tokio::test]
async fn requests_in_turn_share_one_kept_connection() {
    let server = TestServer::start(After::KeepOpen).await;
    let client = client(&server.origin, 4);
    for _ in 0..5 {
        let (verdict, status) = dispatch(&client).await;
        assert_eq!(verdict, Verdict::Dispatched { request_id: 7 });
        assert_eq!(status, Some(200));
    }
    assert_eq!(server.requests(), 5);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn requests_at_once_open_a_connection_each_and_keep_at_most_max_idle() {
    let server = TestServer::start(After::KeepOpen).await;
    let client = client(&server.origin, 2);
    let answers = dispatch_at_once(&client, 4).await;
    assert!(answers.iter().all(|(_, s)| *s == Some(200)));
    assert_eq!(server.connections(), 4);

    // Two were kept; the next two requests need no new connection.
    dispatch_at_once(&client, 2).await;
    assert_eq!(server.connections(), 4);
    assert_eq!(server.requests(), 6);
}

/// Dispatches `n` calls at once: each task finds no idle connection
/// before the others finish, so each opens one.
async fn dispatch_at_once(client: &Arc<ApiClient>, n: usize) -> Vec<(Verdict, Option<u16>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        tasks.spawn(async move { dispatch(&client).await });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn a_server_that_closes_after_each_answer_gets_each_request_once() {
    let server = TestServer::start(After::Close).await;
    let client = client(&server.origin, 4);
    for _ in 0..5 {
        let (verdict, _) = dispatch(&client).await;
        assert_eq!(verdict, Verdict::Dispatched { request_id: 7 });
        // The server closed before its answer was read; let the client
        // see it. (A request sent before the close is seen would be lost
        // in the race every HTTP/1.1 client has, and be unknown.)
        tokio::task::yield_now().await;
    }
    assert_eq!(server.requests(), 5);
    assert_eq!(server.connections(), 5);
}

#[tokio::test]
async fn an_answer_dropped_after_the_request_left_is_unknown_and_not_sent_again() {
    let server = TestServer::start(After::Drop).await;
    let client = client(&server.origin, 4);
    let (verdict, status) = dispatch(&client).await;
    assert!(matches!(verdict, Verdict::Unknown(_)), "{verdict:?}");
    assert_eq!(status, None);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_not_sent() {
    // Bind, then close, so the port is very likely refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin: Uri = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    drop(listener);
    let (verdict, _) = dispatch(&client(&origin, 1)).await;
    assert!(
        matches!(verdict, Verdict::Retry(ref m) if m.starts_with("not sent")),
        "{verdict:?}"
    );
}

/// A CONNECT proxy that records each request head and tunnels to where it
/// is asked.
async fn start_proxy() -> (Uri, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let head = read_request(&mut client).await.unwrap();
                let target = head.split_whitespace().nth(1).unwrap().to_string();
                seen.lock().unwrap().push(head);
                let mut upstream = TcpStream::connect(target).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (uri, heads)
}

#[tokio::test]
async fn connections_go_through_a_proxy_with_connect_and_its_credentials() {
    let server = TestServer::start(After::KeepOpen).await;
    let (proxy_uri, heads) = start_proxy().await;
    let proxy = Proxy {
        uri: proxy_uri,
        auth: Some(http::HeaderValue::from_static("Basic dXNlcjpwYXNz")),
    };
    let connections = Connections::new(
        server.origin.clone(),
        Some(proxy),
        Duration::from_secs(5),
        1,
    )
    .unwrap();

    let mut sender = connections.open().await.unwrap();
    let mut request = Request::new(Full::new(Bytes::from_static(b"{}")));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = "/api/v1/calls/dispatch".parse().unwrap();
    request
        .headers_mut()
        .insert(HOST, HeaderValue::from_static("example.test"));
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);

    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1);
    let authority = server.origin.authority().unwrap().as_str();
    assert!(
        heads[0].starts_with(&format!("CONNECT {authority} HTTP/1.1")),
        "{}",
        heads[0]
    );
    assert!(heads[0].contains("Basic dXNlcjpwYXNz"), "{}", heads[0]);
    assert_eq!(server.requests(), 1);
}

#[test]
fn https_origins_get_a_tls_configuration() {
    let origin: Uri = "https://backend.omnidim.io".parse().unwrap();
    let connections = Connections::new(origin, None, Duration::from_secs(1), 1);
    assert!(connections.is_ok(), "{connections:?}");
}
