//! Every operation runs in a span that names the aggregate and counts events, and no span or
//! log line carries a payload. A binary of its own: tracing caches each callsite's interest
//! the first time any thread hits it, so operations running in parallel tests on other
//! threads (without this test's thread-local subscriber) could hide the spans from it.

#[path = "common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};

use angzarr_store_client::{AggregateId, Append, Expected, NewEvent, ReadStream};
use futures_util::TryStreamExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use uuid::Uuid;

/// A span's name and its recorded fields, as text.
type SpanRecord = (String, Vec<(String, String)>);

/// Every span with its fields, and every event's fields, as text.
#[derive(Default, Clone)]
struct Recorder {
    spans: Arc<Mutex<Vec<SpanRecord>>>,
    events: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);
impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push((attrs.metadata().name().to_string(), fields));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some((_, fields)) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(format!("{fields:?}"));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn spans_name_the_aggregate_and_never_carry_payloads() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let store = common::store().await;
    let domain = common::domain("traced");
    let root = Uuid::new_v4();
    let secret = "SECRET-PAYLOAD-5f1c";
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::New)
                .events([NewEvent::new("A", secret), NewEvent::new("B", secret)]),
        )
        .await
        .unwrap();
    let _ = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::New)
                .event(NewEvent::new("C", secret)),
        )
        .await
        .unwrap_err();
    let read: Vec<_> = store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(&domain, root)),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(read.len(), 2);

    let spans = recorder.spans.lock().unwrap().clone();
    let append = spans
        .iter()
        .find(|(name, _)| name == "angzarr.append")
        .expect("an append span");
    let field = |name: &str| {
        append
            .1
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("domain"), Some(domain.clone()));
    assert_eq!(field("edition"), Some("angzarr".to_string()));
    assert_eq!(field("root"), Some(root.to_string()));
    assert_eq!(field("events"), Some("2".to_string()));
    let reads: Vec<_> = spans
        .iter()
        .filter(|(name, _)| name == "angzarr.read_stream")
        .collect();
    assert_eq!(reads.len(), 1);
    // The count is recorded as pages arrive; the last value is the total.
    let counted = reads[0]
        .1
        .iter()
        .rev()
        .find(|(n, _)| n == "events")
        .map(|(_, v)| v.as_str());
    assert_eq!(counted, Some("2"));

    let everything = format!("{spans:?} {:?}", recorder.events.lock().unwrap());
    assert!(
        everything.contains("sequence conflict"),
        "the failed append's error was not recorded"
    );
    assert!(
        !everything.contains(secret),
        "a payload leaked into tracing"
    );
}
