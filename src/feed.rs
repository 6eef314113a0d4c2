//! The global, commit-ordered feed. SQL lives in `sql/`, registered here.
//!
//! The trigger stamps every event with `(feed_tx, global_position)`; these SQL functions read the
//! feed in that order, only below the reading snapshot's xmin, where no running writer can add a
//! row any more. Consumers keep their checkpoint in `angzarr.feed_positions`. `feed_tx` and the
//! horizon are on this database's feed clock (`src/feed_clock.rs`), so they stay comparable when
//! the store moves to another cluster.

use pgrx::prelude::*;

extension_sql_file!(
    "../sql/fn_read_feed.sql",
    name = "fn_read_feed",
    requires = ["table_events", "table_feed_clock", "fn_editions_internal"]
);
extension_sql_file!(
    "../sql/table_feed_positions.sql",
    name = "table_feed_positions",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_feed_positions.sql",
    name = "fn_feed_positions",
    requires = ["table_feed_positions"]
);
extension_sql_file!(
    "../sql/fn_feed_lag.sql",
    name = "fn_feed_lag",
    requires = ["table_events", "table_feed_clock"]
);
