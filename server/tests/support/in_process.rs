//! pushd inside the test process, through [`pushd::serve`]: for tests that
//! need no SIGKILL, and for paused time (`tokio::time::pause`), which only
//! reaches a server on the test's own runtime.

use std::path::PathBuf;

use pushd::config::Overrides;
use pushd::{Listeners, Settings, StartError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct InProcess {
    pub url: String,
    pub address: std::net::SocketAddr,
    pub ready_file: PathBuf,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), StartError>>,
    _folder: tempfile::TempDir,
}

impl InProcess {
    /// Serves on 127.0.0.1:0 with a fresh data folder and no metrics;
    /// `overrides` sets anything else (as the flags would).
    pub async fn start(overrides: Overrides) -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let ready_file = folder.path().join("ready.json");
        let settings = Settings::resolve(
            Overrides {
                data_dir: Some(folder.path().join("data")),
                metrics_listen: Some("off".into()),
                ready_file: Some(ready_file.clone()),
                ..overrides
            },
            Overrides::default(),
        )
        .expect("settings");
        let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = public.local_addr().expect("address");
        let listeners = Listeners {
            public,
            metrics: None,
            cluster: None,
        };
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(pushd::serve(settings, listeners, async move {
            let _ = stopped.await;
        }));
        Self {
            url: format!("http://{address}"),
            address,
            ready_file,
            stop,
            served,
            _folder: folder,
        }
    }

    /// Resolves the shutdown future and waits for the drain to finish.
    pub async fn stop(self) -> Result<(), StartError> {
        let _ = self.stop.send(());
        self.served.await.expect("serve panicked")
    }
}
