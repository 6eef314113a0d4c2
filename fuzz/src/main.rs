//! Bounded fuzzing of the EventBook decoder on stable Rust (libFuzzer needs nightly).
//!
//! The extension's decoder (`src/wire/codec.rs`, `src/wire/json.rs`) is pure Rust: this crate
//! compiles those very files without pgrx, so millions of inputs run in-process per minute.
//! Inputs are mutations of valid books (bit flips, interesting bytes, truncation, insertion,
//! deletion, splicing, huge varints, nested garbage) plus purely random bytes, from a seeded
//! RNG, so any failure replays with its seed. Checked for every input: no panic; a decoded
//! book has what the store needs (domain, 16-byte root, pages with event types) and passes
//! the timestamps PostgreSQL can store; `book_to_json` never panics.
//!
//!   angzarr_store_fuzz [--seconds 30] [--seed N] [--emit N]
//! `--emit N` prints N mutated inputs as hex, one a line, for the SQL pass of `make fuzz`
//! (scripts/fuzz.sh feeds them to the server's functions and checks the SQLSTATEs).

#[allow(dead_code)]
#[path = "../../src/wire/codec.rs"]
mod codec;
#[allow(dead_code)]
#[path = "../../src/wire/json.rs"]
mod json;

/// The one item of the extension's `names` module the codec uses.
mod names {
    pub const MAIN_EDITION: &str = "angzarr";
}

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use angzarr_store_proto as pb;
use angzarr_store_proto::prost_types;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Valid books to start from: the shapes the store writes and reads.
fn seeds() -> Vec<Vec<u8>> {
    let cover = |edition: &str| pb::Cover {
        root: Some(pb::Uuid {
            value: (1..=16).collect(),
        }),
        domain: "player".into(),
        correlation_id: "corr".into(),
        edition: Some(pb::Edition {
            name: edition.into(),
            divergences: vec![],
        }),
    };
    let page = |seq: Option<u32>, secs: i64| pb::EventPage {
        header: seq.map(|s| pb::PageHeader {
            sequence_type: Some(pb::page_header::SequenceType::Sequence(s)),
        }),
        created_at: Some(prost_types::Timestamp {
            seconds: secs,
            nanos: 5,
        }),
        event: Some(prost_types::Any {
            type_url: "type.googleapis.com/x.Deposited".into(),
            value: b"{\"n\": 1}".to_vec(),
        }),
    };
    let books = [
        pb::EventBook {
            cover: Some(cover("")),
            snapshot: None,
            pages: vec![page(None, 1_700_000_000)],
            next_sequence: 0,
        },
        pb::EventBook {
            cover: Some(cover("what-if")),
            snapshot: Some(pb::Snapshot {
                sequence: 3,
                state: Some(prost_types::Any {
                    type_url: "t/State".into(),
                    value: vec![1, 2, 3],
                }),
                retention: 1,
            }),
            pages: vec![
                page(Some(4), 0),
                page(Some(5), -62_000_000_000),
                page(None, 253_402_300_799),
            ],
            next_sequence: 6,
        },
    ];
    books.iter().map(|b| b.encode_to_vec()).collect()
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One mutated input.
fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.gen_ratio(1, 20) {
        let len = rng.gen_range(0..64);
        return (0..len).map(|_| rng.gen()).collect();
    }
    let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if b.is_empty() {
            0
        } else {
            rng.gen_range(0..b.len())
        };
        match rng.gen_range(0..8) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.gen_range(0..8),
            1 if !b.is_empty() => {
                b[at] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a][rng.gen_range(0..8)]
            }
            2 => b.truncate(at),
            3 => {
                let n = rng.gen_range(1..8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                b.splice(at..at, bytes);
            }
            4 if !b.is_empty() => {
                let end = rng.gen_range(at..=b.len());
                b.drain(at..end);
            }
            5 => {
                // A field with a huge or negative-looking varint (length prefixes, sequences).
                let mut v = vec![[0x08, 0x0a, 0x12, 0x1a, 0x30][rng.gen_range(0..5)]];
                varint(
                    [u64::MAX, 1 << 31, 1 << 32, u32::MAX as u64, 1 << 62][rng.gen_range(0..5)],
                    &mut v,
                );
                b.splice(at..at, v);
            }
            6 => {
                let other = &seeds[rng.gen_range(0..seeds.len())];
                let from = rng.gen_range(0..other.len());
                b.splice(at..at, other[from..].iter().copied());
            }
            _ => {
                // Deeply nested length-delimited garbage.
                let depth = rng.gen_range(1..200);
                let mut nested = Vec::new();
                for _ in 0..depth {
                    let mut outer = vec![0x1a];
                    varint(nested.len() as u64, &mut outer);
                    outer.extend_from_slice(&nested);
                    nested = outer;
                }
                b.splice(at..at, nested);
            }
        }
    }
    b
}

/// Runs one input through the decoder and the JSON view; Err describes a broken property.
fn check(input: &[u8]) -> Result<(), String> {
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| codec::decode(input)))
        .map_err(|_| "codec::decode panicked".to_string())?;
    if let Ok(book) = decoded {
        if book.domain.is_empty() || book.pages.is_empty() || book.edition.is_empty() {
            return Err(format!(
                "decoded a book the store cannot append: domain {:?}, {} pages",
                book.domain,
                book.pages.len()
            ));
        }
    }
    let _view = panic::catch_unwind(AssertUnwindSafe(|| json::book_to_json(input)))
        .map_err(|_| "json::book_to_json panicked".to_string())?;
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let mut seconds = 30u64;
    let mut seed: u64 = rand::random::<u32>() as u64;
    let mut emit: Option<usize> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or("");
        match pair[0].as_str() {
            "--seconds" => seconds = value.parse().expect("--seconds N"),
            "--seed" => seed = value.parse().expect("--seed N"),
            "--emit" => emit = Some(value.parse().expect("--emit N")),
            other => panic!("unknown option {other}"),
        }
    }
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(seed);
    if let Some(n) = emit {
        for s in &seeds {
            println!("{}", hex(s));
        }
        for _ in 0..n {
            println!("{}", hex(&mutate(&mut rng, &seeds)));
        }
        return;
    }
    // Panics are failures we report ourselves, with the input; keep the default hook quiet.
    panic::set_hook(Box::new(|_| {}));
    for s in &seeds {
        if codec::decode(s).is_err() {
            eprintln!("fuzz: a valid seed book does not decode: {}", hex(s));
            std::process::exit(1);
        }
    }
    println!("fuzz: seed {seed} (replay: --seed {seed}), {seconds} s");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut accepted) = (0u64, 0u64);
    while Instant::now() < deadline {
        for _ in 0..1000 {
            let input = mutate(&mut rng, &seeds);
            if let Err(problem) = check(&input) {
                eprintln!(
                    "fuzz: FAILED after {runs} inputs (seed {seed}): {problem}\nfuzz: input {}",
                    hex(&input)
                );
                std::process::exit(1);
            }
            accepted += codec::decode(&input).is_ok() as u64;
            runs += 1;
        }
    }
    println!("fuzz: {runs} inputs, {accepted} decoded as appendable books, no panic");
    println!("fuzz: 1 passed, 0 failed");
}
