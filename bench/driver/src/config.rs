//! Run settings, all from environment variables so `bench/run.sh` and a person at a shell set
//! them the same way (see bench/README.md for the list).

use std::time::Duration;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The benchmark database (extension, floor, naive store, Message DB, eventcore tables).
    pub url: String,
    /// A database on the same cluster holding the big store of the growth workload (W7).
    pub growth_url: String,
    /// Its empty twin, measured in the same rounds.
    pub growth_empty_url: String,
    pub rounds: usize,
    /// Measured time of one append or read measurement.
    pub duration: Duration,
    /// Unmeasured time before it (connections are already open).
    pub warmup: Duration,
    /// Events in the aggregate W5 reads.
    pub read_n: i64,
    /// Events loaded into the store before W7's second measurement.
    pub growth_n: i64,
    /// Events in the aggregate the RSS check reads through the client.
    pub big_n: i64,
    /// Events W6 reads from the start of the feed per measurement.
    pub feed_n: i64,
    /// Which workloads to run (W1..W8); empty means all.
    pub only: Vec<String>,
    /// "installed" or why Message DB is missing.
    pub messagedb_status: String,
    pub pgbench: String,
    /// Where the markdown and JSON results go.
    pub out_dir: String,
    /// Free text describing the cluster settings, copied into the results.
    pub settings: String,
    pub quick: bool,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
    var(name)
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

impl Config {
    pub fn from_env() -> Config {
        let quick = var("BENCH_QUICK").is_some_and(|v| v != "0");
        let url =
            var("BENCH_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:55440/bench".into());
        let sibling = |db: &str| match url.rfind('/') {
            Some(i) => format!("{}/{db}", &url[..i]),
            None => url.clone(),
        };
        let growth_url = var("BENCH_GROWTH_URL").unwrap_or_else(|| sibling("bench_growth"));
        let growth_empty_url =
            var("BENCH_GROWTH_EMPTY_URL").unwrap_or_else(|| sibling("bench_growth_empty"));
        let secs = |name: &str, full: f64, quick_value: f64| {
            Duration::from_secs_f64(num(name, if quick { quick_value } else { full }))
        };
        Config {
            url,
            growth_url,
            growth_empty_url,
            rounds: num("BENCH_ROUNDS", if quick { 3 } else { 5 }),
            duration: secs("BENCH_DURATION", 2.0, 1.5),
            warmup: secs("BENCH_WARMUP", 0.5, 0.3),
            read_n: num("BENCH_READ_N", 10_000),
            growth_n: num("BENCH_GROWTH_N", if quick { 200_000 } else { 10_000_000 }),
            big_n: num("BENCH_BIG_N", if quick { 100_000 } else { 1_000_000 }),
            feed_n: num("BENCH_FEED_N", if quick { 20_000 } else { 100_000 }),
            only: var("BENCH_ONLY")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_uppercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            messagedb_status: var("BENCH_MESSAGEDB_STATUS")
                .unwrap_or_else(|| "not installed".into()),
            pgbench: var("BENCH_PGBENCH")
                .unwrap_or_else(|| "/usr/lib/postgresql/15/bin/pgbench".into()),
            out_dir: var("BENCH_OUT").unwrap_or_else(|| "bench/out".into()),
            settings: var("BENCH_SETTINGS").unwrap_or_default(),
            quick,
        }
    }

    /// Whether workload `w` (e.g. "W3") is selected.
    pub fn runs(&self, w: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == w)
    }

    pub fn messagedb(&self) -> bool {
        self.messagedb_status == "installed"
    }
}
