//! Appending inside a web request handler's transaction (axum): the handler loads the account,
//! decides, appends the event and writes an outbox row in one transaction, so either both are
//! committed or neither. A conflict becomes HTTP 409, a refused command 422. The requests are
//! sent to the router in-process (`tower::ServiceExt::oneshot`), no port needed.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:55432/angzarr cargo run -p angzarr_store_client --example web_handler
//! ```

use angzarr_store_client::{
    AggregateId, Append, DomainEvent, Error, EventStore, JsonEvent, Snapshots,
};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
enum AccountEvent {
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}
impl JsonEvent for AccountEvent {}

#[derive(Clone)]
struct App {
    store: EventStore,
    domain: String,
    outbox: String,
}

#[derive(Deserialize)]
struct Withdraw {
    amount: i64,
}

/// Errors as HTTP answers.
enum ApiError {
    Store(Error),
    Refused(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Store(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Store(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Store(e @ Error::SequenceConflict { .. }) => {
                (StatusCode::CONFLICT, e.to_string()).into_response()
            }
            ApiError::Store(e) => {
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
            }
            ApiError::Refused(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
        }
    }
}

async fn withdraw(
    State(app): State<App>,
    Path(id): Path<Uuid>,
    Json(body): Json<Withdraw>,
) -> Result<Json<i64>, ApiError> {
    let account = AggregateId::new(&app.domain, id);
    let mut tx = app.store.pool().begin().await?;
    // Load and decide inside the transaction; the append's expectation guards the decision.
    let loaded = app
        .store
        .load_aggregate(&mut *tx, &account, Snapshots::Use)
        .await?;
    let mut balance = 0;
    for e in &loaded.events {
        balance += match e.decode::<AccountEvent>()? {
            AccountEvent::Deposited { amount } => amount,
            AccountEvent::Withdrawn { amount } => -amount,
        };
    }
    if body.amount > balance {
        // Dropping the transaction rolls it back.
        return Err(ApiError::Refused(format!(
            "balance {balance} < {}",
            body.amount
        )));
    }
    let event = AccountEvent::Withdrawn {
        amount: body.amount,
    };
    let _ = app
        .store
        .append(
            &mut *tx,
            &Append::new(account, loaded.expected()).event(event.to_new_event()?),
        )
        .await?;
    sqlx::query(&format!(
        "INSERT INTO {} (account, message) VALUES ($1, $2)",
        app.outbox
    ))
    .bind(id)
    .bind(format!("withdrew {}", body.amount))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(balance - body.amount))
}

async fn call(router: &Router, id: Uuid, amount: i64) -> (StatusCode, String) {
    let request = Request::post(format!("/accounts/{id}/withdraw"))
        .header("content-type", "application/json")
        .body(Body::from(format!("{{\"amount\": {amount}}}")))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr".to_string());
    let store = EventStore::connect(&url).await?;
    store.install().await?;
    let app = App {
        store: store.clone(),
        domain: format!("web_demo_{}", Uuid::new_v4().simple()),
        outbox: format!("outbox_{}", Uuid::new_v4().simple()),
    };
    sqlx::query(&format!(
        "CREATE TABLE {} (account uuid NOT NULL, message text NOT NULL)",
        app.outbox
    ))
    .execute(store.pool())
    .await?;
    let id = Uuid::new_v4();
    let _ = store
        .append(
            store.pool(),
            &Append::new(
                AggregateId::new(&app.domain, id),
                angzarr_store_client::Expected::New,
            )
            .event(AccountEvent::Deposited { amount: 100 }.to_new_event()?),
        )
        .await?;
    let router = Router::new()
        .route("/accounts/{id}/withdraw", post(withdraw))
        .with_state(app.clone());

    let ok = call(&router, id, 30).await;
    println!("withdraw 30  -> {} {}", ok.0, ok.1);
    assert_eq!(ok, (StatusCode::OK, "70".to_string()));
    let refused = call(&router, id, 500).await;
    println!("withdraw 500 -> {} {}", refused.0, refused.1);
    assert_eq!(refused.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Two requests at once: both decide on the same state; one commits, the other gets 409
    // (or both succeed one after the other, if the first committed before the second loaded).
    let (a, b) = tokio::join!(call(&router, id, 10), call(&router, id, 10));
    println!("racing       -> {} / {}", a.0, b.0);
    assert!(a.0 == StatusCode::OK || b.0 == StatusCode::OK);
    assert!([a.0, b.0]
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT));

    // Every committed withdrawal has exactly one outbox row, and nothing else does.
    let withdrawals = store
        .load_aggregate(
            store.pool(),
            &AggregateId::new(&app.domain, id),
            Snapshots::Use,
        )
        .await?
        .events
        .len()
        - 1;
    let outbox: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", app.outbox))
        .fetch_one(store.pool())
        .await?;
    println!("{withdrawals} withdrawal event(s), {outbox} outbox row(s)");
    assert_eq!(withdrawals as i64, outbox);
    sqlx::query(&format!("DROP TABLE {}", app.outbox))
        .execute(store.pool())
        .await?;
    Ok(())
}
