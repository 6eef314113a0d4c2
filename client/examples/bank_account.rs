//! A bank account on angzarr_store: commands are decided against state loaded from events
//! (snapshot + the events after it), appended with an expected sequence, and retried when a
//! concurrent writer got there first. A projector follows the global feed into a balances table,
//! saving its checkpoint in the same transaction as the rows it writes.
//!
//! Run it against a database with the extension (the demo's, after `make demo`):
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:55432/angzarr cargo run -p angzarr_store_client --example bank_account
//! ```

use std::fmt;

use angzarr_store_client::{
    AggregateId, Append, Error, EventStore, FeedQuery, NewEvent, PutSnapshot, RetryPolicy,
    Retryable, Snapshots,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const DOMAIN: &str = "bank";
const PROJECTOR: &str = "bank-balances";
/// Put a snapshot every this many events.
const SNAPSHOT_EVERY: i64 = 5;

/// The events of an account, stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}

impl AccountEvent {
    fn name(&self) -> &'static str {
        match self {
            AccountEvent::Opened { .. } => "Opened",
            AccountEvent::Deposited { .. } => "Deposited",
            AccountEvent::Withdrawn { .. } => "Withdrawn",
        }
    }

    fn to_new_event(&self) -> Result<NewEvent, Error> {
        NewEvent::json(self.name(), self)
    }
}

/// What a command may do to an account.
#[derive(Debug, Clone)]
enum Command {
    Open { owner: String },
    Deposit { amount: i64 },
    Withdraw { amount: i64 },
}

/// The account's state, rebuilt from a snapshot and events; also the snapshot format.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Account {
    owner: Option<String>,
    balance: i64,
}

impl Account {
    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened { owner } => self.owner = Some(owner.clone()),
            AccountEvent::Deposited { amount } => self.balance += amount,
            AccountEvent::Withdrawn { amount } => self.balance -= amount,
        }
    }

    /// The business rules: which events a command produces, or why it is refused.
    fn decide(&self, command: &Command) -> Result<Vec<AccountEvent>, BankError> {
        match (command, &self.owner) {
            (Command::Open { .. }, Some(_)) => {
                Err(BankError::Refused("account already open".into()))
            }
            (Command::Open { owner }, None) => Ok(vec![AccountEvent::Opened {
                owner: owner.clone(),
            }]),
            (_, None) => Err(BankError::Refused("account not open".into())),
            (Command::Deposit { amount }, _) if *amount <= 0 => {
                Err(BankError::Refused("deposits must be positive".into()))
            }
            (Command::Deposit { amount }, _) => {
                Ok(vec![AccountEvent::Deposited { amount: *amount }])
            }
            (Command::Withdraw { amount }, _) if *amount > self.balance => {
                Err(BankError::Refused(format!(
                    "insufficient funds: balance {}, asked for {amount}",
                    self.balance
                )))
            }
            (Command::Withdraw { amount }, _) => {
                Ok(vec![AccountEvent::Withdrawn { amount: *amount }])
            }
        }
    }
}

/// A command fails because the store failed (maybe worth retrying) or the rules said no (never).
#[derive(Debug)]
enum BankError {
    Store(Error),
    Refused(String),
}

impl From<Error> for BankError {
    fn from(e: Error) -> Self {
        BankError::Store(e)
    }
}

impl Retryable for BankError {
    fn is_retryable(&self) -> bool {
        matches!(self, BankError::Store(e) if e.is_retryable())
    }
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BankError::Store(e) => write!(f, "store: {e}"),
            BankError::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

/// What a handled command did.
struct Outcome {
    state: Account,
    attempts: u32,
    snapshot: Option<i64>,
}

/// Load, decide, append; again from the top whenever another writer got there first.
async fn handle(store: &EventStore, account: Uuid, command: Command) -> Result<Outcome, BankError> {
    let policy = RetryPolicy::default();
    let command = &command;
    policy
        .run(|attempt| async move {
            let loaded = store
                .load_aggregate(
                    store.pool(),
                    &AggregateId::new(DOMAIN, account),
                    Snapshots::Use,
                )
                .await?;
            let mut state: Account = match &loaded.snapshot {
                Some(s) => s.json()?,
                None => Account::default(),
            };
            for e in &loaded.events {
                state.apply(&e.json::<AccountEvent>()?);
            }
            let decided = state.decide(command)?;
            let events = decided
                .iter()
                .map(AccountEvent::to_new_event)
                .collect::<Result<Vec<_>, _>>()?;
            let append =
                Append::new(AggregateId::new(DOMAIN, account), loaded.expected()).events(events);
            let appended = store.append(store.pool(), &append).await?;
            decided.iter().for_each(|e| state.apply(e));
            // Snapshot whenever the append crossed a multiple of SNAPSHOT_EVERY events.
            let mut snapshot = None;
            if (appended.last_sequence + 1) / SNAPSHOT_EVERY
                > appended.first_sequence / SNAPSHOT_EVERY
            {
                let put = PutSnapshot::json(
                    AggregateId::new(DOMAIN, account),
                    appended.last_sequence,
                    &state,
                )?;
                store.put_snapshot(store.pool(), &put).await?;
                snapshot = Some(appended.last_sequence);
            }
            Ok(Outcome {
                state,
                attempts: attempt,
                snapshot,
            })
        })
        .await
}

/// Brings the balances table up to date from the feed, exactly once per event: each event's
/// row change and the new checkpoint commit together.
async fn project(store: &EventStore) -> Result<usize, Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bank_balances (account uuid PRIMARY KEY, owner text, balance bigint NOT NULL)",
    )
    .execute(store.pool())
    .await?;
    let mut checkpoint = store
        .get_feed_position(store.pool(), PROJECTOR)
        .await?
        .checkpoint;
    let mut applied = 0;
    loop {
        let query = FeedQuery::new().after(checkpoint).domains([DOMAIN]);
        let page = store.read_feed(store.pool(), &query, 100).await?;
        let Some(last) = page.last() else { break };
        let mut tx = store.pool().begin().await?;
        for item in &page {
            let (owner, delta) = match item.event.json::<AccountEvent>()? {
                AccountEvent::Opened { owner } => (Some(owner), 0),
                AccountEvent::Deposited { amount } => (None, amount),
                AccountEvent::Withdrawn { amount } => (None, -amount),
            };
            sqlx::query(
                "INSERT INTO bank_balances (account, owner, balance) VALUES ($1, $2, $3)
                 ON CONFLICT (account) DO UPDATE
                 SET owner = coalesce(EXCLUDED.owner, bank_balances.owner),
                     balance = bank_balances.balance + EXCLUDED.balance",
            )
            .bind(item.event.root)
            .bind(owner)
            .bind(delta)
            .execute(&mut *tx)
            .await?;
            store
                .save_position(
                    &mut *tx,
                    PROJECTOR,
                    &AggregateId::new(DOMAIN, item.event.root),
                    item.event.sequence,
                )
                .await?;
        }
        if !store
            .save_feed_position(&mut *tx, PROJECTOR, last.checkpoint)
            .await?
            .moved()
        {
            // Another copy of the projector applied these events first: drop ours.
            tx.rollback().await?;
            break;
        }
        tx.commit().await?;
        applied += page.len();
        checkpoint = last.checkpoint;
    }
    Ok(applied)
}

async fn run(store: &EventStore, command: Command, account: Uuid, who: &str) {
    let described = format!("{command:?}");
    match handle(store, account, command).await {
        Ok(done) => {
            let mut line = format!("  {who}: {described} -> balance {}", done.state.balance);
            if done.attempts > 1 {
                line += &format!(
                    " (attempt {}: lost {} race(s) and retried)",
                    done.attempts,
                    done.attempts - 1
                );
            }
            if let Some(at) = done.snapshot {
                line += &format!(" [snapshot at sequence {at}]");
            }
            println!("{line}");
        }
        Err(e) => println!("  {who}: {described} -> {e}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr".to_string());
    let store = EventStore::connect(&url).await?;
    let version = store.install().await?;
    println!("connected; angzarr_store {version}");

    let alice = Uuid::new_v4();
    let bob = Uuid::new_v4();
    println!("\nCommands, each decided on state loaded from events:");
    run(
        &store,
        Command::Open {
            owner: "alice".into(),
        },
        alice,
        "alice",
    )
    .await;
    run(&store, Command::Deposit { amount: 100 }, alice, "alice").await;
    run(&store, Command::Withdraw { amount: 30 }, alice, "alice").await;
    run(&store, Command::Withdraw { amount: 500 }, alice, "alice").await;
    run(
        &store,
        Command::Open {
            owner: "alice".into(),
        },
        alice,
        "alice",
    )
    .await;
    run(
        &store,
        Command::Open {
            owner: "bob".into(),
        },
        bob,
        "bob",
    )
    .await;

    println!("\nEight tellers deposit 10 into bob's account at the same time:");
    let tellers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                run(
                    &store,
                    Command::Deposit { amount: 10 },
                    bob,
                    &format!("teller {i}"),
                )
                .await;
            })
        })
        .collect();
    for t in tellers {
        t.await?;
    }
    let next = store
        .next_sequence(store.pool(), &AggregateId::new(DOMAIN, bob))
        .await?;
    println!(
        "  bob's account has {next} events, gap-free (sequences 0..{})",
        next - 1
    );

    println!("\nA transfer of 20 from alice to bob, atomic across both accounts:");
    let (a, b) = (
        store
            .next_sequence(store.pool(), &AggregateId::new(DOMAIN, alice))
            .await?,
        store
            .next_sequence(store.pool(), &AggregateId::new(DOMAIN, bob))
            .await?,
    );
    let transfer = format!("transfer-{}", Uuid::new_v4().simple());
    store
        .append_many(
            store.pool(),
            &[
                Append::new(
                    AggregateId::new(DOMAIN, alice),
                    angzarr_store_client::Expected::Next(a),
                )
                .correlation_id(&transfer)
                .event(AccountEvent::Withdrawn { amount: 20 }.to_new_event()?),
                Append::new(
                    AggregateId::new(DOMAIN, bob),
                    angzarr_store_client::Expected::Next(b),
                )
                .correlation_id(&transfer)
                .event(AccountEvent::Deposited { amount: 20 }.to_new_event()?),
            ],
        )
        .await?;
    for e in store.read_correlation(store.pool(), &transfer).await? {
        println!("  {transfer}: {} {} #{}", e.event_type, e.root, e.sequence);
    }

    println!("\nProjector '{PROJECTOR}' catches up from its saved checkpoint:");
    let applied = project(&store).await?;
    println!("  applied {applied} events");
    for (who, id) in [("alice", alice), ("bob", bob)] {
        let balance: Option<i64> =
            sqlx::query_scalar("SELECT balance FROM bank_balances WHERE account = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await?;
        let position = store
            .get_position(store.pool(), PROJECTOR, &AggregateId::new(DOMAIN, id))
            .await?;
        println!("  {who}: projected balance {balance:?}, projector position {position:?}");
    }
    println!(
        "  running it again applies nothing new: {} events",
        project(&store).await?
    );
    Ok(())
}
