//! For tests: a loopback HTTP server that answers each request as a test says, and a kube client for it.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server sends back for one request.
pub(crate) enum Reply {
    /// A whole response, sent as is; then the connection is closed.
    Whole(String),
    /// `head` (status line and headers, chunked transfer encoding), then `chunks` chunks of
    /// 64 KiB of `x`, so that no length is declared up front.
    Chunked { head: &'static str, chunks: usize },
}

/// The head of a chunked 200 answer with JSON content.
pub(crate) const CHUNKED_OK: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

/// Starts a server on a free loopback port whose every request gets `answer(request head)`,
/// and returns its URL.
pub(crate) async fn serve(answer: fn(&str) -> Reply) -> http::Uri {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                match answer(&String::from_utf8_lossy(&buf[..n])) {
                    Reply::Whole(text) => {
                        let _ = socket.write_all(text.as_bytes()).await;
                    }
                    Reply::Chunked { head, chunks } => {
                        let _ = socket.write_all(head.as_bytes()).await;
                        let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, "x".repeat(64 << 10));
                        for _ in 0..chunks {
                            if socket.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        let _ = socket.write_all(b"0\r\n\r\n").await;
                    }
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}").parse().expect("url")
}

/// A kube config for `url` without kube-rs's own retries (they would retry a 5xx for minutes).
pub(crate) fn config(url: http::Uri) -> kube::Config {
    let mut config = kube::Config::new(url);
    config.default_retry = false;
    config
}

/// A kube client for a server started with [`serve`].
pub(crate) async fn client(answer: fn(&str) -> Reply) -> kube::Client {
    kube::Client::try_from(config(serve(answer).await)).expect("client")
}
