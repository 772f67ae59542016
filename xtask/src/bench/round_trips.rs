//! Counting round trips as Redis sees them, not as the code believes it sends them.
//!
//! A `MONITOR` connection receives every command the server runs. Commands that a Lua script
//! runs are tagged `[db lua]`, commands from clients `[db host:port]`, so the round trips of
//! an operation are the client-tagged lines between two markers the counter sends itself.

use std::thread::JoinHandle;

pub struct RoundTrips {
    // Opened before counting starts, so its own connection setup is never counted.
    markers: redis::Connection,
    marker: String,
    watcher: Option<JoinHandle<Result<u64, String>>>,
}

impl RoundTrips {
    /// Starts watching the server at `url`.
    pub fn start(url: &str) -> Result<Self, String> {
        let marker = format!("bench-marker-{}", std::process::id());
        let mut monitor = connect(url)?;
        redis::cmd("MONITOR")
            .query::<()>(&mut monitor)
            .map_err(|e| format!("MONITOR: {e}"))?;
        let stop = format!("{marker}-stop");
        let start = format!("{marker}-start");
        let watcher = std::thread::spawn(move || {
            let mut counting = false;
            let mut count = 0;
            loop {
                let value = monitor
                    .recv_response()
                    .map_err(|e| format!("MONITOR read: {e}"))?;
                let line: String =
                    redis::from_redis_value(value).map_err(|e| format!("MONITOR line: {e}"))?;
                if line.contains(&start) {
                    counting = true;
                } else if line.contains(&stop) {
                    return Ok(count);
                } else if counting && !line.contains(" lua] ") {
                    count += 1;
                }
            }
        });
        let mut counter = RoundTrips {
            markers: connect(url)?,
            marker,
            watcher: Some(watcher),
        };
        counter.send_marker("start")?;
        Ok(counter)
    }

    fn send_marker(&mut self, which: &str) -> Result<(), String> {
        redis::cmd("ECHO")
            .arg(format!("{}-{which}", self.marker))
            .query::<String>(&mut self.markers)
            .map(drop)
            .map_err(|e| format!("ECHO marker: {e}"))
    }

    /// Stops watching and returns the client commands seen since `start`.
    pub fn finish(mut self) -> Result<u64, String> {
        self.send_marker("stop")?;
        self.watcher
            .take()
            .ok_or("round-trip counter already finished")?
            .join()
            .map_err(|_| "MONITOR thread panicked".to_owned())?
    }
}

fn connect(url: &str) -> Result<redis::Connection, String> {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("connect {url}: {e}"))
}
