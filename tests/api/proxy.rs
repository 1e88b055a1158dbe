//! Behind a proxy: rate limits key on the client that a trusted proxy names, never on a header
//! a client wrote itself, and never on the proxy's own address for everyone.
//!
//! Loopback is a whole /8 on Linux, so the proxy below reaches the server from 127.0.0.2 (the
//! one trusted address) and the citizens reach the proxy from addresses of their own.

use std::net::{IpAddr, SocketAddr};

use peken_tests::{Options, spawn_app_with};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const PROXY_ADDRESS: &str = "127.0.0.2";

/// A reverse proxy in the manner of an ingress: for each connection it reads the request head,
/// appends `X-Forwarded-For: <the connection's peer>`, and relays both ways to `upstream`,
/// connecting from [`PROXY_ADDRESS`]. One request per connection (clients here do not pool).
async fn start_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, peer)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0_u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head[..head.len() - 2]).into_owned();
                let forwarded = format!("{head}X-Forwarded-For: {}\r\n\r\n", peer.ip());
                let socket = TcpSocket::new_v4().unwrap();
                socket
                    .bind(SocketAddr::new(PROXY_ADDRESS.parse().unwrap(), 0))
                    .unwrap();
                let mut server: TcpStream = socket.connect(upstream).await.unwrap();
                server.write_all(forwarded.as_bytes()).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    address
}

/// A citizen's HTTP client, connecting from its own loopback address.
fn citizen(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn login(client: &reqwest::Client, base: &str, forged: Option<&str>) -> u16 {
    let mut request = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": "nobody@test.local", "password": "wrong-password"}));
    if let Some(forged) = forged {
        request = request.header("x-forwarded-for", forged);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn rate_limits_key_on_the_client_a_trusted_proxy_names() {
    let app = spawn_app_with(Options {
        vars: vec![
            ("PEKEN_LOGIN_IP_PER_MINUTE".into(), "3".into()),
            ("PEKEN_LOGIN_ACCOUNT_PER_MINUTE".into(), "100000".into()),
            (
                "PEKEN_TRUSTED_PROXIES".into(),
                format!("{PROXY_ADDRESS}/32"),
            ),
        ],
        ..Options::default()
    })
    .await;
    let upstream: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let proxy = format!("http://{}", start_proxy(upstream).await);

    // One citizen guesses through the proxy until its own limit holds.
    let guesser = citizen("127.0.0.10");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(login(&guesser, &proxy, None).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);

    // Another citizen behind the same proxy is not in the guesser's bucket: before the proxy was
    // trusted, everyone behind it shared the proxy's one address.
    let neighbour = citizen("127.0.0.11");
    assert_eq!(login(&neighbour, &proxy, None).await, 401);
    // Writing the guesser's address into its own header changes nothing: the proxy appends the
    // real peer, and only the rightmost untrusted hop counts.
    assert_eq!(login(&neighbour, &proxy, Some("127.0.0.10")).await, 401);
    // The guesser cannot escape its bucket by naming someone else either.
    assert_eq!(login(&guesser, &proxy, Some("127.0.0.99")).await, 429);
    // A client talking to the server directly is no trusted proxy: its header is ignored.
    let direct = citizen("127.0.0.12");
    for _ in 0..3 {
        assert_eq!(login(&direct, &app.base, Some("127.0.0.10")).await, 401);
    }
    assert_eq!(login(&direct, &app.base, Some("127.0.0.77")).await, 429);
}
