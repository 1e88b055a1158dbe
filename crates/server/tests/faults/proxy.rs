//! A TCP proxy the test controls, put in front of PostgreSQL or Redis: `cut` closes the listening
//! socket (new connections are refused, as from a stopped server) and drops every open
//! connection (as a restarting server does); `restore` listens on the same port again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub port: u16,
    target: String,
    /// False from a cut to the restore: a connection accepted in between is dropped at once.
    up: Arc<AtomicBool>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

fn listen(port: u16) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    socket.listen(128).unwrap()
}

impl Proxy {
    /// Starts forwarding a free local port to `target` (`host:port`).
    pub fn start(target: &str) -> Proxy {
        let port = crate::harness::free_port();
        let mut proxy = Proxy {
            port,
            target: target.to_owned(),
            up: Arc::new(AtomicBool::new(false)),
            tasks: Arc::new(Mutex::new(Vec::new())),
            acceptor: None,
        };
        proxy.restore();
        proxy
    }

    /// Listens again (after a cut).
    pub fn restore(&mut self) {
        if self.acceptor.is_some() {
            return;
        }
        let listener = listen(self.port);
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let up = self.up.clone();
        up.store(true, Ordering::SeqCst);
        self.acceptor = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(&target).await {
                        pipe(client, upstream).await;
                    }
                });
                // Checked under the lock `cut` drains with: a connection accepted while the cut
                // was under way is dropped here rather than slipping past it.
                let mut tasks = tasks.lock().unwrap_or_else(PoisonError::into_inner);
                if up.load(Ordering::SeqCst) {
                    tasks.retain(|t| !t.is_finished());
                    tasks.push(pipe);
                } else {
                    pipe.abort();
                }
            }
        }));
    }

    /// Stops listening and drops every open connection.
    pub fn cut(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

async fn pipe(mut client: TcpStream, mut upstream: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// The `host:port` of a `scheme://[user[:pass]@]host:port/…` URL, and the URL with another
/// local port in its place.
pub fn reroute(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, rest) = match rest.split_once('@') {
        Some((auth, rest)) => (format!("{auth}@"), rest),
        None => (String::new(), rest),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    (
        host.to_owned(),
        format!("{scheme}://{auth}127.0.0.1:{port}/{path}"),
    )
}
