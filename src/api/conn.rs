//! Connections to the API: opening them (TCP, a CONNECT tunnel through the
//! proxy the environment names, TLS) and keeping idle ones for the next
//! request. One request at a time per connection (HTTP/1.1), as many
//! connections as requests in flight.
//!
//! We drive hyper's connection API directly rather than a general-purpose
//! client: at full speed the layers such a client adds (redirects, pool
//! keys, URL conversions on every request) cost more CPU than the request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tower_service::Service;

/// The sending half of one open connection.
pub type Sender = SendRequest<Full<Bytes>>;

/// Why no connection could be had. Nothing was sent on it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No connection within the connect timeout.
    #[error("no connection within {0:?}")]
    TimedOut(Duration),
    /// Refused, unreachable, DNS, the proxy's CONNECT, or TLS.
    #[error("{0}")]
    Failed(String),
}

/// Opens connections to one origin, and keeps idle ones.
#[derive(Debug)]
pub struct Connections {
    /// `scheme://host:port` of the API.
    origin: Uri,
    /// The host name TLS checks the certificate against; `None` for http.
    tls: Option<Tls>,
    /// The CONNECT tunnel when the environment names a proxy for the API.
    tunnel: Option<Tunnel<HttpConnector>>,
    /// Plain TCP connections, with the connect timeout and no Nagle delay.
    tcp: HttpConnector,
    /// Time allowed to connect, tunnel and shake hands.
    connect_timeout: Duration,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<Sender>>,
    /// Most idle connections kept.
    max_idle: usize,
}

/// TLS settings for an https origin.
#[derive(Debug, Clone)]
struct Tls {
    /// Root certificates and protocol settings.
    config: Arc<rustls::ClientConfig>,
    /// The name the certificate must carry.
    server_name: rustls::pki_types::ServerName<'static>,
}

/// An HTTP proxy that connections go through with CONNECT.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The proxy's `http://host:port`.
    pub uri: Uri,
    /// Its `Proxy-Authorization`, from the user and password in its URL.
    pub auth: Option<http::HeaderValue>,
}

impl Proxy {
    /// The proxy that `HTTPS_PROXY`, `ALL_PROXY` (or `HTTP_PROXY` for
    /// http) names for `origin`, unless `NO_PROXY` excludes its host.
    pub fn from_env(origin: &Uri) -> Option<Proxy> {
        let intercept = Matcher::from_env().intercept(origin)?;
        Some(Proxy {
            uri: intercept.uri().clone(),
            auth: intercept.basic_auth().cloned(),
        })
    }
}

impl Connections {
    /// Prepares connections to `origin` (`scheme://host[:port]`), through
    /// `proxy` if one is given.
    pub fn new(
        origin: Uri,
        proxy: Option<Proxy>,
        connect_timeout: Duration,
        max_idle: usize,
    ) -> anyhow::Result<Connections> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.enforce_http(false);
        let tls = match origin.scheme_str() {
            Some("https") => Some(Tls::for_host(origin.host().unwrap_or_default())?),
            _ => None,
        };
        let tunnel = proxy.map(|proxy| {
            let tunnel = Tunnel::new(proxy.uri, tcp.clone());
            match proxy.auth {
                Some(auth) => tunnel.with_auth(auth),
                None => tunnel,
            }
        });
        Ok(Connections {
            origin,
            tls,
            tunnel,
            tcp,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    /// An idle connection ready for a request, if one is kept.
    pub fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(sender) = idle.pop() {
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Keeps a connection whose last exchange ended cleanly.
    pub fn put_idle(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(sender);
        }
    }

    /// Opens a new connection. Nothing is sent on it yet.
    pub async fn open(&self) -> Result<Sender, ConnectError> {
        tokio::time::timeout(self.connect_timeout, self.open_now())
            .await
            .map_err(|_| ConnectError::TimedOut(self.connect_timeout))?
    }

    /// Opens a connection, however long it takes.
    async fn open_now(&self) -> Result<Sender, ConnectError> {
        let tcp = match &self.tunnel {
            Some(tunnel) => tunnel
                .clone()
                .call(self.origin.clone())
                .await
                .map_err(|err| failed("through the proxy", &err))?,
            None => self
                .tcp
                .clone()
                .call(self.origin.clone())
                .await
                .map_err(|err| failed("", &err))?,
        };
        match &self.tls {
            None => handshake(tcp).await,
            Some(tls) => {
                let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
                    .connect(tls.server_name.clone(), tcp.into_inner())
                    .await
                    .map_err(|err| failed("TLS", &err))?;
                handshake(TokioIo::new(stream)).await
            }
        }
    }
}

impl Tls {
    /// TLS with the bundled web root certificates, HTTP/1.1 only.
    fn for_host(host: &str) -> anyhow::Result<Tls> {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| anyhow::anyhow!("{host:?} is not a host name TLS can check"))?;
        Ok(Tls {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// Starts HTTP/1.1 on an open stream; the connection runs as its own task
/// until either side closes it.
async fn handshake<T>(io: T) -> Result<Sender, ConnectError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|err| failed("", &err))?;
    tokio::spawn(async move {
        // Its errors reach the request that was using it.
        let _ = connection.await;
    });
    Ok(sender)
}

/// A connect failure with its causes on one line.
fn failed(stage: &str, err: &(dyn std::error::Error + 'static)) -> ConnectError {
    let mut text = crate::api::error_chain(err);
    if !stage.is_empty() {
        text = format!("{stage}: {text}");
    }
    ConnectError::Failed(text)
}
