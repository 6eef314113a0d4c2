//! The feed of a sharded store: every shard keeps its own no-skip feed, so a reader follows
//! all of them with one checkpoint per shard (a vector). Each aggregate lives on one shard and
//! each shard's feed keeps its aggregates in order, so the merged stream keeps per-aggregate
//! order; there is no order between events of different shards. Consumer groups give each
//! member whole shards, or (with more members than shards) a feed-member split within one.

use std::future::Future;

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::feed::{Checkpoint, CheckpointSaved, FeedEvent, FeedQuery};
use crate::projection::{Handler, ProjectionError, ProjectionRunner};
use crate::shard::ShardedStore;

/// Where a reader is in every shard's feed: `checkpoints[k]` for shard `k`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardCheckpoints(pub Vec<Checkpoint>);

impl ShardCheckpoints {
    /// The start of every shard's feed.
    pub fn start(shards: usize) -> Self {
        ShardCheckpoints(vec![Checkpoint::default(); shards])
    }

    /// Moves the vector past `event`.
    pub fn advance(&mut self, event: &ShardFeedEvent) {
        self.0[event.shard] = event.event.checkpoint;
    }
}

/// An event of one shard's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFeedEvent {
    /// The shard whose feed it came from.
    pub shard: usize,
    /// The event and its checkpoint in that shard's feed.
    pub event: FeedEvent,
}

impl ShardedStore {
    /// Tails every shard's feed after `after` (one checkpoint per shard; `query.after` is
    /// ignored) and merges them as events arrive. Each item is tagged with its shard; save
    /// progress with [`ShardCheckpoints::advance`] and [`ShardedStore::save_feed_positions`].
    pub fn tail_feed(
        &self,
        query: FeedQuery,
        after: &ShardCheckpoints,
    ) -> Result<BoxStream<'static, Result<ShardFeedEvent>>> {
        self.check_vector(after)?;
        let tails = self.shards().iter().enumerate().map(|(shard, store)| {
            store
                .tail_feed(query.clone().after(after.0[shard]))
                .map(move |item| item.map(|event| ShardFeedEvent { shard, event }))
                .boxed()
        });
        Ok(stream::select_all(tails).boxed())
    }

    /// The consumer's saved checkpoint on every shard (the start where it saved none).
    pub async fn get_feed_positions(&self, consumer: &str) -> Result<ShardCheckpoints> {
        let mut vector = Vec::with_capacity(self.len());
        for store in self.shards() {
            vector.push(
                store
                    .get_feed_position(store.pool(), consumer)
                    .await?
                    .checkpoint,
            );
        }
        Ok(ShardCheckpoints(vector))
    }

    /// Saves the consumer's checkpoint on every shard (each only moves forward).
    pub async fn save_feed_positions(
        &self,
        consumer: &str,
        at: &ShardCheckpoints,
    ) -> Result<Vec<CheckpointSaved>> {
        self.check_vector(at)?;
        let mut saved = Vec::with_capacity(self.len());
        for (store, checkpoint) in self.shards().iter().zip(&at.0) {
            saved.push(
                store
                    .save_feed_position(store.pool(), consumer, *checkpoint)
                    .await?,
            );
        }
        Ok(saved)
    }

    /// Projection runners for member `member` of a group of `members` (1 for no group): with
    /// no more members than shards, member m takes the shards k with k % members == m; with
    /// more (a multiple of the shard count), each shard's feed is split between
    /// members / shards members. Each runner keeps its checkpoint and lease on its shard,
    /// where its handler's writes go too, so effects stay exactly-once per shard.
    pub fn projection(
        &self,
        consumer: &str,
        query: FeedQuery,
        member: i32,
        members: i32,
    ) -> Result<ShardedProjection> {
        let (shards, members) = (self.len() as i32, members.max(1));
        if !(0..members).contains(&member) || (members > shards && members % shards != 0) {
            return Err(Error::InvalidArgument {
                message: format!("member {member} of {members} over {shards} shards"),
                hint: Some("Use 0 <= member < members, and members <= shards or a multiple of the shard count.".to_string()),
            });
        }
        let runners = if members <= shards {
            (0..shards)
                .filter(|k| k % members == member)
                .map(|k| {
                    (
                        k as usize,
                        self.shards()[k as usize].projection(consumer, query.clone()),
                    )
                })
                .collect()
        } else {
            let k = (member % shards) as usize;
            let within = query.clone().member(member / shards, members / shards);
            vec![(k, self.shards()[k].projection(consumer, within))]
        };
        Ok(ShardedProjection { runners })
    }

    fn check_vector(&self, vector: &ShardCheckpoints) -> Result<()> {
        if vector.0.len() != self.len() {
            return Err(Error::InvalidArgument {
                message: format!("{} checkpoints for {} shards", vector.0.len(), self.len()),
                hint: Some("Pass one checkpoint per shard, in shard order.".to_string()),
            });
        }
        Ok(())
    }
}

/// One [`ProjectionRunner`] per shard a consumer-group member owns.
pub struct ShardedProjection {
    runners: Vec<(usize, ProjectionRunner)>,
}

impl ShardedProjection {
    /// The shards this member reads.
    pub fn shards(&self) -> Vec<usize> {
        self.runners.iter().map(|(k, _)| *k).collect()
    }

    /// Per shard (in [`shards`](Self::shards) order): `true` whenever that runner applied
    /// everything visible in its shard's feed.
    pub fn caught_up(&self) -> Vec<watch::Receiver<bool>> {
        self.runners.iter().map(|(_, r)| r.caught_up()).collect()
    }

    /// Runs every shard's runner, each with its own handler from `make_handler(shard)`, until
    /// `shutdown` completes (`Ok`) or one of them stops with an error.
    pub async fn run_until<H, F>(
        self,
        mut make_handler: F,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ProjectionError>
    where
        H: Handler,
        F: FnMut(usize) -> H,
    {
        let runs = self
            .runners
            .iter()
            .map(|(k, runner)| runner.run(make_handler(*k)))
            .collect::<Vec<_>>();
        tokio::select! {
            r = futures_util::future::try_join_all(runs) => r.map(|_| ()),
            () = shutdown => Ok(()),
        }
    }
}
