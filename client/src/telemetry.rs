//! Counters and gauges through the `metrics` facade (feature `metrics`); without the feature
//! every function here is empty and compiles away. Names, for dashboards:
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `angzarr_client_appends_total` | counter | | successful appends ([`EventStore::append`](crate::EventStore::append), `append_many`, `append_event_book`) |
//! | `angzarr_client_appended_events_total` | counter | | events those appends wrote |
//! | `angzarr_client_conflicts_total` | counter | | sequence conflicts (ZA001) the client received |
//! | `angzarr_client_retries_total` | counter | | attempts [`RetryPolicy::run`](crate::RetryPolicy::run) made again |
//! | `angzarr_client_transient_errors_total` | counter | `component` = `feed_tail`, `projection` | connection or server failures waited out |
//! | `angzarr_client_projection_events_total` | counter | `consumer` | events a projection runner committed |
//! | `angzarr_client_projection_poisoned_total` | counter | `consumer` | events moved past by the poison policy |
//! | `angzarr_client_projection_lag_seconds` | gauge | `consumer` | age of the newest event the runner committed, when it committed it |

#[cfg(feature = "metrics")]
mod imp {
    pub(crate) fn appended(events: usize) {
        metrics::counter!("angzarr_client_appends_total").increment(1);
        metrics::counter!("angzarr_client_appended_events_total").increment(events as u64);
    }

    pub(crate) fn conflict() {
        metrics::counter!("angzarr_client_conflicts_total").increment(1);
    }

    pub(crate) fn retry() {
        metrics::counter!("angzarr_client_retries_total").increment(1);
    }

    pub(crate) fn transient(component: &'static str) {
        metrics::counter!("angzarr_client_transient_errors_total", "component" => component)
            .increment(1);
    }

    pub(crate) fn projected(consumer: &str, events: usize, newest: chrono::DateTime<chrono::Utc>) {
        let consumer = consumer.to_string();
        metrics::counter!("angzarr_client_projection_events_total", "consumer" => consumer.clone())
            .increment(events as u64);
        let lag = (chrono::Utc::now() - newest).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::gauge!("angzarr_client_projection_lag_seconds", "consumer" => consumer).set(lag);
    }

    pub(crate) fn poisoned(consumer: &str) {
        metrics::counter!("angzarr_client_projection_poisoned_total", "consumer" => consumer.to_string())
            .increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod imp {
    #[inline(always)]
    pub(crate) fn appended(_: usize) {}
    #[inline(always)]
    pub(crate) fn conflict() {}
    #[inline(always)]
    pub(crate) fn retry() {}
    #[inline(always)]
    pub(crate) fn transient(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn projected(_: &str, _: usize, _: chrono::DateTime<chrono::Utc>) {}
    #[inline(always)]
    pub(crate) fn poisoned(_: &str) {}
}

pub(crate) use imp::*;
