//! The angzarr_store benchmark driver: runs W1-W8 against our store, the floor (the same table
//! without trigger or checks), a naive PL/pgSQL trigger store, eventcore-postgres and Message DB,
//! interleaving rounds, and writes one table per workload. `bench/run.sh` sets up the cluster
//! and the peers, then runs this; see bench/README.md.

mod bigread;
mod client_ours;
mod config;
mod feed;
mod filtered;
mod growth;
mod measure;
mod overhead;
mod peer_eventcore;
mod report;
mod snapshots;
mod systems;
mod workloads;

use std::future::Future;
use std::time::Instant;

use anyhow::Result;

use config::Config;
use report::{Goal, Table};
use systems::Sys;
use workloads::Env;

/// Runs one workload; a failure becomes a table that says so, and the run goes on.
async fn run<F: Future<Output = Result<Table>>>(id: &str, title: &str, f: F) -> Table {
    eprintln!("== {id}: {title}");
    let t0 = Instant::now();
    let mut t = match f.await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("  {id} FAILED: {e:#}");
            let mut t = Table::new(id, title, "");
            t.footnotes.push(format!("**This workload failed:** {e:#}"));
            t
        }
    };
    t.footnotes
        .push(format!("({id} took {:.0} s.)", t0.elapsed().as_secs_f64()));
    t
}

fn find<'a>(tables: &'a [Table], id: &str) -> Option<&'a Table> {
    tables.iter().find(|t| t.id == id)
}

/// The goals of issue 7, checked against this run's medians.
fn goals(tables: &[Table]) -> Vec<Goal> {
    let mut g = Vec::new();
    let ratio = |id: &str, sys: Sys| find(tables, id).and_then(|t| t.ratio(sys.label()));
    let versus =
        |id: &str, ours: Sys, peer: Sys| find(tables, id)?.versus(ours.label(), peer.label());
    for (id, min) in [
        ("W1", 0.92),
        ("W2", 0.90),
        ("W4-100", 0.80),
        ("W4-1000", 0.80),
    ] {
        for ours in [Sys::OursInsert, Sys::OursAppend] {
            g.push(Goal::at_least(
                &format!("{id} {} / floor", ours.label()),
                ratio(id, ours),
                min,
                "x",
            ));
        }
    }
    let read = find(tables, "W5a").and_then(|t| t.ratio("ours: angzarr.read_stream()"));
    g.push(Goal::at_least(
        "W5a read_stream / floor read rate",
        read,
        0.95,
        "x",
    ));
    let snap = find(tables, "W5b").and_then(|t| {
        t.lines
            .iter()
            .find(|l| l.label.starts_with("ours"))
            .and_then(|l| t.ratio(&l.label))
    });
    g.push(Goal::at_least(
        "W5b snapshot + 50 events / floor",
        snap,
        0.95,
        "x",
    ));
    for ours in [Sys::OursInsert, Sys::OursAppend] {
        let growth = find(tables, "W7").and_then(|t| growth::growth_of(t, ours));
        g.push(Goal::at_most(
            &format!("W7 latency growth of {}", ours.label()),
            growth,
            1.2,
            "x",
        ));
        let cpu = find(tables, "W7").and_then(|t| growth::cpu_growth_of(t, ours));
        g.push(Goal::at_most(
            &format!("W7 server CPU growth of {}", ours.label()),
            cpu,
            1.2,
            "x",
        ));
        let relative = find(tables, "W7").and_then(|t| {
            Some(growth::cpu_growth_of(t, ours)? / growth::cpu_growth_of(t, Sys::Floor)?)
        });
        g.push(Goal::at_most(
            &format!(
                "W7 server CPU growth of {} / the floor's growth",
                ours.label()
            ),
            relative,
            1.2,
            "x",
        ));
    }
    for id in ["W1", "W2", "W4-100", "W4-1000"] {
        g.push(Goal::at_least(
            &format!("{id} ours append_events / eventcore-postgres"),
            versus(id, Sys::OursAppend, Sys::EventCore),
            3.0,
            "x",
        ));
        g.push(Goal::at_least(
            &format!("{id} ours append_events / Message DB"),
            versus(id, Sys::OursAppend, Sys::MessageDb),
            1.0,
            "x",
        ));
    }
    g.push(Goal::at_least(
        "W2 ours append_events / Message DB (one category)",
        versus("W2", Sys::OursAppend, Sys::MessageDb),
        4.0,
        "x",
    ));
    for (id, from) in [("W9a", "start"), ("W9b", "middle")] {
        let examined = find(tables, id)
            .and_then(|t| t.examined("ours: read_feed(domains => ARRAY['bench_rare'])"));
        g.push(Goal::at_most(
            &format!(
                "{id} read_feed of a 1% domain from the {from}: rows examined per row returned"
            ),
            examined,
            2.0,
            "",
        ));
    }
    let rss = find(tables, "W8-rss")
        .and_then(|t| t.median("ours: angzarr_store_client read_stream (pages)"));
    g.push(Goal::at_most(
        "W8 peak RSS reading the big aggregate through the client",
        rss,
        64.0,
        " MB",
    ));
    g
}

fn write_results(
    cfg: &Config,
    env: &Env,
    tables: &[Table],
    goals: &[Goal],
    secs: f64,
) -> Result<()> {
    let mut md = String::from("## Results\n\n");
    md += &format!(
        "Rounds: {}, {:.1} s measured after {:.1} s warm-up per measurement; mode: {}; total {:.0} s.\n\n",
        cfg.rounds,
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        if cfg.quick { "quick (BENCH_QUICK=1)" } else { "full" },
        secs
    );
    md += &format!(
        "Peers: eventcore-postgres 2.1.0: {}; Message DB 1.3.1: {}.\n\n",
        env.eventcore
            .as_deref()
            .unwrap_or("built from crates.io, tables from its own migrate()"),
        env.messagedb
            .as_deref()
            .unwrap_or("installed from npm with its database/install.sh")
    );
    if !cfg.settings.is_empty() {
        md += &format!("Cluster settings:\n\n```\n{}\n```\n\n", cfg.settings.trim());
    }
    for t in tables {
        md += &t.markdown();
        md += "\n";
    }
    md += &report::goals_markdown(goals);
    std::fs::create_dir_all(&cfg.out_dir)?;
    std::fs::write(format!("{}/results.md", cfg.out_dir), &md)?;
    let json = serde_json::json!({
        "rounds": cfg.rounds, "duration_s": cfg.duration.as_secs_f64(), "quick": cfg.quick,
        "eventcore": env.eventcore, "messagedb": env.messagedb,
        "tables": tables.iter().map(Table::json).collect::<Vec<_>>(),
        "goals": report::goals_json(goals),
    });
    std::fs::write(
        format!("{}/results.json", cfg.out_dir),
        serde_json::to_string_pretty(&json)?,
    )?;
    println!("{md}");
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("read-big") {
        return bigread::child(&args[2..]).await;
    }
    let cfg = Config::from_env();
    let mut env = Env {
        eventcore: workloads::eventcore_missing(),
        messagedb: if cfg.messagedb() {
            None
        } else {
            Some(cfg.messagedb_status.clone())
        },
        cfg: cfg.clone(),
    };
    if env.eventcore.is_none() {
        match peer_eventcore::connect(&cfg.url, 1).await {
            Ok(store) => peer_eventcore::migrate(&store).await,
            Err(e) => env.eventcore = Some(format!("could not connect: {e}")),
        }
    }
    let started = Instant::now();
    if !cfg.only.is_empty() && cfg.only.iter().all(|w| w == "W7" || w == "W9") {
        eprintln!("== prefill skipped (only W7/W9)");
    } else {
        eprintln!("== prefill: 1,000 aggregates x 100 events in every store");
        workloads::prefill(&env).await?;
    }
    let mut tables = Vec::new();
    if cfg.runs("W1") {
        tables.push(
            run(
                "W1",
                "one event per transaction, 1 client",
                workloads::appends(&env, "W1", "one event per transaction, 1 client", 1, 1),
            )
            .await,
        );
    }
    if cfg.runs("W2") {
        let title = "one event per transaction, 8 clients on distinct aggregates";
        tables.push(run("W2", title, workloads::appends(&env, "W2", title, 8, 1)).await);
    }
    if cfg.runs("W3") {
        tables.push(run("W3", "hot aggregate", workloads::hot(&env)).await);
    }
    if cfg.runs("W4") {
        for n in [100, 1000] {
            let (id, title) = (
                format!("W4-{n}"),
                format!("batches of {n} events per append, 1 client"),
            );
            tables.push(run(&id, &title, workloads::appends(&env, &id, &title, 1, n)).await);
        }
    }
    if cfg.runs("W5") {
        tables.push(run("W5a", "aggregate read", workloads::reads(&env)).await);
        tables.push(
            run(
                "W5b",
                "snapshot + 50 events",
                workloads::snapshot_loads(&env),
            )
            .await,
        );
    }
    if cfg.runs("W6") {
        tables.push(run("W6a", "global feed read", workloads::feed_reads(&env)).await);
        tables.push(run("W6b", "feed tail lag", workloads::feed_tail(&env)).await);
    }
    if cfg.runs("W8") {
        for n in [1, 100] {
            let id = format!("W8-{n}");
            tables.push(run(&id, "client overhead", overhead::client_overhead(&env, n)).await);
        }
        tables.push(
            run(
                "W8-rss",
                "client RSS on a big aggregate",
                overhead::rss(&env),
            )
            .await,
        );
    }
    if cfg.runs("W7") {
        tables.push(run("W7", "growth", growth::growth(&cfg)).await);
    }
    if cfg.runs("W9") {
        let title = "filtered feed read on the big store";
        tables.push(run("W9a", title, filtered::domain_reads(&cfg, false)).await);
        tables.push(run("W9b", title, filtered::domain_reads(&cfg, true)).await);
        let title = "consumer group member on the big store";
        tables.push(run("W9c", title, filtered::group_reads(&cfg)).await);
    }
    let goals = goals(&tables);
    write_results(&cfg, &env, &tables, &goals, started.elapsed().as_secs_f64())
}
