//! Raw HTTP/1.1 exchanges, for what an SDK hides: response headers, malformed requests.

use std::net::SocketAddr;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// A raw HTTP answer: status, headers (names lowercased) and body.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl RawResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one unsigned HTTP/1.1 POST with a JSON body and reads the whole answer.
pub async fn post(addr: SocketAddr, path: &str, body: &str) -> RawResponse {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, request.as_bytes()).await
}

/// Sends raw bytes and parses the answer; the request should ask for `Connection: close`.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    parse(&String::from_utf8_lossy(&answer))
}

/// Parses one HTTP/1.1 answer.
pub fn parse(answer: &str) -> RawResponse {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Reads one answer from a connection that stays open (keep-alive, pipelining), using its
/// `Content-Length`; `None` when the server closed the connection before an answer began.
pub async fn read_response(reader: &mut (impl AsyncBufRead + Unpin)) -> Option<RawResponse> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut answer = parse(&head);
    let length = answer
        .header("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    answer.body = String::from_utf8_lossy(&body).into_owned();
    Some(answer)
}

/// Reads until the server closes the connection, and returns what came (an error counts as
/// closed: a server that closes with unread request bytes resets the connection).
pub async fn read_to_close(reader: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest).await;
    rest
}
