//! The Prometheus recorder that `demo --metrics` and the bench's metrics-cost rows install:
//! the storage's metrics as the text page a Prometheus server scrapes. Without the `metrics`
//! feature there is none, and asking for it says so.

/// A Prometheus recorder, installed as the process's `metrics` recorder.
pub struct PrometheusPage {
    #[cfg(feature = "metrics")]
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl PrometheusPage {
    /// Installs the recorder (once per process) and describes the storage's metrics.
    #[cfg(feature = "metrics")]
    pub fn install() -> Result<Self, String> {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| format!("prometheus recorder: {e}"))?;
        storage::metrics::describe();
        Ok(PrometheusPage { handle })
    }

    #[cfg(not(feature = "metrics"))]
    pub fn install() -> Result<Self, String> {
        Err("this xtask was built without its `metrics` feature".to_owned())
    }

    /// The page as a scrape would fetch it now.
    pub fn render(&self) -> String {
        #[cfg(feature = "metrics")]
        return self.handle.render();
        #[cfg(not(feature = "metrics"))]
        String::new()
    }
}
