//! Broken upstreams for the record-fault tests: a port nothing listens on, a listener whose
//! accept queue is full, raw TCP servers that misbehave in one chosen way, and a TLS server with a
//! self-signed certificate.
//!
//! Each server counts the requests that reached it, so a test can prove the fault happened where
//! it meant it to (a reset after the request arrived, not a refused connection), and holds its
//! stalled connections open until it is dropped, so a timeout is the only way out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A throwaway self-signed leaf certificate for `127.0.0.1` (P-256, `CA:FALSE`, valid until
/// 2126), made with `openssl req -x509`. No client trusts it, which is the point.
const SELF_SIGNED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBsDCCAVagAwIBAgIUAc0lWZnx8tw9lXCjGpe8kp+kEYYwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVaXZzLXZjciB0ZXN0IHVwc3RyZWFtMCAXDTI2MTEyNjAzNTcx
OFoYDzIxMjYxMTAyMDM1NzE4WjAgMR4wHAYDVQQDDBVpdnMtdmNyIHRlc3QgdXBz
dHJlYW0wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARsCWoVKgjsNIEmisTmm6fs
IdP4P6NtxkUnJhOCHgJEtHUHiKqKZSoH9XuB568NuPc/cvP91ZhcxKji6x25RXib
o2wwajAdBgNVHQ4EFgQUTWMi2Q4mEoSccTO1dAwcNcusUtAwHwYDVR0jBBgwFoAU
TWMi2Q4mEoSccTO1dAwcNcusUtAwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0
MAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0EAwIDSAAwRQIgVcUeZlfSqOHYHlMhO99t
T3hLbSpCKkayC5nwMj0AWqgCIQCm+tfIaTkx9z2gXGc3sapZhk8UNBn2jpIoyl5C
WRRNgA==
-----END CERTIFICATE-----
";

/// The key of [`SELF_SIGNED_CERT`]; it protects nothing.
const SELF_SIGNED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6XkMUaIQ1g8+3A8i
UBHPT8rzt/FHyCTHbGS0FEyQbkqhRANCAARsCWoVKgjsNIEmisTmm6fsIdP4P6Nt
xkUnJhOCHgJEtHUHiKqKZSoH9XuB568NuPc/cvP91ZhcxKji6x25RXib
-----END PRIVATE KEY-----
";

/// An `http://` URL of a loopback port nothing listens on.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A listener that never completes another TCP handshake: its accept queue (backlog 0) is
/// already full with one connection nobody accepts, so Linux drops further SYNs and a connect
/// hangs until the client's connect timeout.
pub struct FullListener {
    addr: SocketAddr,
    _listener: TcpListener,
    _queued: TcpStream,
}

impl FullListener {
    pub async fn start() -> FullListener {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let queued = TcpStream::connect(addr).await.unwrap();
        FullListener {
            addr,
            _listener: listener,
            _queued: queued,
        }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What a [`FaultServer`] does with each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reads the request head, then resets the connection (RST) without answering.
    ResetBeforeAnswer,
    /// Reads the whole request, sends an answer head promising 100 body bytes and 20 of them,
    /// then closes the connection.
    CloseMidAnswer,
    /// Reads the whole request and never answers.
    NeverAnswer,
    /// Reads the whole request, sends an answer head and part of the body, and never sends the
    /// rest.
    StallMidAnswer,
    /// Speaks TLS with a self-signed certificate (for an `https://` upstream).
    SelfSignedTls,
}

/// A raw TCP server that fails every exchange the same way; stops when dropped.
pub struct FaultServer {
    addr: SocketAddr,
    n_requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultServer {
    pub async fn start(fault: Fault) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let n_requests = Arc::new(AtomicUsize::new(0));
        let counter = n_requests.clone();
        let task = tokio::spawn(async move {
            // Stalled connections live here until the server is dropped.
            let mut held = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let counter = counter.clone();
                held.spawn(serve(fault, stream, counter));
            }
        });
        FaultServer {
            addr,
            n_requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, or `https://…` for [`Fault::SelfSignedTls`].
    pub fn uri(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Requests (or, for TLS, connections) that reached the server.
    pub fn n_requests(&self) -> usize {
        self.n_requests.load(Ordering::SeqCst)
    }
}

async fn serve(fault: Fault, mut stream: TcpStream, counter: Arc<AtomicUsize>) {
    if fault == Fault::SelfSignedTls {
        counter.fetch_add(1, Ordering::SeqCst);
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        let _ = tokio::task::spawn_blocking(move || tls_handshake(stream)).await;
        return;
    }
    let Some(body_left) = read_head(&mut stream).await else {
        return;
    };
    counter.fetch_add(1, Ordering::SeqCst);
    if fault == Fault::ResetBeforeAnswer {
        // SO_LINGER 0: close sends RST instead of FIN.
        stream.set_zero_linger().unwrap();
        drop(stream);
        return;
    }
    let mut body = vec![0; body_left];
    if stream.read_exact(&mut body).await.is_err() {
        return;
    }
    let partial = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"channels\": [{\"arn\"";
    match fault {
        Fault::CloseMidAnswer => {
            let _ = stream.write_all(partial.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Fault::NeverAnswer => std::future::pending().await,
        Fault::StallMidAnswer => {
            let _ = stream.write_all(partial.as_bytes()).await;
            std::future::pending().await
        }
        Fault::ResetBeforeAnswer | Fault::SelfSignedTls => unreachable!("handled above"),
    }
}

/// Reads an HTTP/1.1 request head; returns how many body bytes follow (its `Content-Length`).
async fn read_head(stream: &mut TcpStream) -> Option<usize> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    Some(
        head.lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    )
}

/// Runs the server side of a TLS handshake with the self-signed certificate until the client
/// gives up on it.
fn tls_handshake(mut stream: std::net::TcpStream) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(SELF_SIGNED_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(SELF_SIGNED_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
    while conn.is_handshaking() {
        if conn.complete_io(&mut stream).is_err() {
            return;
        }
    }
}
