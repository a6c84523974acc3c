//! `xuncha-server`: merges every device's operations with the same transition table the devices
//! use (`xuncha-core`), serves each caller the changes in its scope, and keeps the photos.
//!
//! Layout: [`router`] (routes and layers), [`handlers`] (one module per area), [`state`]
//! (what handlers share), [`auth`] (tokens and passwords), [`apply`] (push logic, written once
//! for every backend), [`store`] (the storage trait and its SQLite and PostgreSQL backends),
//! `demo` (the demo city, behind the `demo` feature).

#![forbid(unsafe_code)]

pub mod apply;
pub mod auth;
pub mod blobs;
pub mod config_file;
pub mod connections;
pub mod console;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod extract;
pub mod group_commit;
pub mod handlers;
pub mod housekeeping;
pub mod metrics;
pub mod migrate;
pub mod notices;
pub mod open311;
pub mod pull;
pub mod round_checks;
pub mod rounds;
pub mod router;
pub mod signin_guard;
pub mod standard_sheet;
pub mod state;
pub mod store;
pub mod watch;

use std::future::Future;

use tokio::net::TcpListener;

pub use state::{AppState, Config};

/// Serve on `listener` until `shutdown` completes (tests pass a listener on port 0), with the
/// connection limits of [`connections`].
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    housekeeping::spawn(state.clone());
    watch::spawn(state.clone());
    notices::spawn(state.clone());
    connections::serve(listener, state, shutdown).await
}

/// A server running on its own runtime thread, on a free loopback port, until dropped. For tests,
/// the simulator and benchmarks, which drive it with real HTTP from blocking clients.
pub struct RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Start serving `state` on 127.0.0.1 with an OS-chosen port.
    pub fn start(state: AppState) -> std::io::Result<Self> {
        Self::start_at(state, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Start serving `state` on `addr` (a server that replaces another keeps its address).
    pub fn start_at(state: AppState, addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(state.config.storage_threads.max(2))
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match TcpListener::bind(addr).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                        return;
                    }
                };
                let _ = addr_tx.send(listener.local_addr());
                let _ = serve(listener, state, async {
                    let _ = rx.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv()
            .map_err(|_| std::io::Error::other("server thread ended before listening"))??;
        Ok(RunningServer {
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
