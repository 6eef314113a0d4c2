//! Result tables: per system the median over rounds, the min-max spread, and the ratio of
//! medians to the floor measured in the same run; then the target checks.

use serde_json::json;

use crate::measure::percentile;

/// One system's line of a table.
#[derive(Debug, Clone, Default)]
pub struct Line {
    pub label: String,
    /// One value per round.
    pub values: Vec<f64>,
    /// Extra facts (conflict rate, gap-free check, ...).
    pub notes: Vec<String>,
    /// Why this system has no numbers, if it has none.
    pub missing: Option<String>,
    /// Per round: server CPU microseconds per event (the noise-resistant cost measure).
    pub server_us: Vec<f64>,
    /// Per round: driver CPU microseconds per event.
    pub client_us: Vec<f64>,
    /// Per round: WAL bytes per event.
    pub wal: Vec<f64>,
    /// Per round: cores busy with other processes during the measurement.
    pub other_cores: Vec<f64>,
    /// Per round, for reads that filter: rows the read examined per row it returned.
    pub examined: Vec<f64>,
}

impl Line {
    pub fn median(&self) -> f64 {
        percentile(&self.values, 0.5)
    }
    fn min(&self) -> f64 {
        self.values.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.values
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// One workload's table.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub title: String,
    /// What the numbers are, e.g. "appends/s".
    pub unit: String,
    /// The label of the floor line; ratios are medians divided by its median.
    pub floor: Option<String>,
    /// Whether bigger is better (throughput) or smaller (latency): for latency the ratio is
    /// floor/system, so above 1 is always better.
    pub higher_is_better: bool,
    pub lines: Vec<Line>,
    pub footnotes: Vec<String>,
}

impl Table {
    pub fn new(id: &str, title: &str, unit: &str) -> Table {
        Table {
            id: id.into(),
            title: title.into(),
            unit: unit.into(),
            floor: None,
            higher_is_better: true,
            lines: Vec::new(),
            footnotes: Vec::new(),
        }
    }

    pub fn line(&mut self, label: &str) -> &mut Line {
        if let Some(i) = self.lines.iter().position(|l| l.label == label) {
            return &mut self.lines[i];
        }
        self.lines.push(Line {
            label: label.into(),
            ..Line::default()
        });
        self.lines.last_mut().unwrap()
    }

    pub fn push(&mut self, label: &str, value: f64) {
        self.line(label).values.push(value);
    }

    /// Records a round's value together with its cost figures.
    pub fn push_sample(
        &mut self,
        label: &str,
        value: f64,
        s: &crate::measure::Sample,
        with_wal: bool,
    ) {
        let line = self.line(label);
        line.values.push(value);
        line.server_us.push(s.server_us_per_event());
        line.client_us.push(s.client_us_per_event());
        line.other_cores.push(s.other_cores);
        if with_wal {
            line.wal.push(s.wal_per_event());
        }
    }

    fn has_costs(&self) -> bool {
        self.lines.iter().any(|l| !l.server_us.is_empty())
    }

    fn has_wal(&self) -> bool {
        self.lines.iter().any(|l| !l.wal.is_empty())
    }

    fn has_examined(&self) -> bool {
        self.lines.iter().any(|l| !l.examined.is_empty())
    }

    /// Median rows examined per row returned of a line (filtered reads).
    pub fn examined(&self, label: &str) -> Option<f64> {
        self.find_line(label)
            .filter(|l| !l.examined.is_empty())
            .map(|l| percentile(&l.examined, 0.5))
    }

    /// Server CPU per event of a line relative to the floor's (1.00 = same cost), paired by
    /// round like [`Table::ratio`].
    pub fn cost_ratio(&self, label: &str) -> Option<f64> {
        let floor = self.floor.as_deref()?;
        self.paired(label, floor, |l| &l.server_us, true)
            .map(|p| p.ratio)
    }

    fn find_line(&self, label: &str) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| l.label == label && !l.values.is_empty())
    }

    /// `a` relative to `b`, one ratio per round from the two measurements of that round, then the
    /// median; rounds in which either measurement saw other processes keep `QUIET_CORES` or more
    /// busy are left out when at least two quiet rounds remain. Pairing by round cancels most of
    /// a shared machine's slow drifts, which move both measurements of a round together.
    pub fn paired(
        &self,
        a: &str,
        b: &str,
        values: impl Fn(&Line) -> &Vec<f64>,
        a_over_b: bool,
    ) -> Option<Paired> {
        let (la, lb) = (self.find_line(a)?, self.find_line(b)?);
        let (va, vb) = (values(la), values(lb));
        let n = va.len().min(vb.len());
        let quiet_round =
            |l: &Line, r: usize| l.other_cores.get(r).is_none_or(|c| *c < QUIET_CORES);
        let (mut all, mut quiet) = (Vec::new(), Vec::new());
        for r in 0..n {
            let ratio = if a_over_b {
                va[r] / vb[r]
            } else {
                vb[r] / va[r]
            };
            all.push(ratio);
            if quiet_round(la, r) && quiet_round(lb, r) {
                quiet.push(ratio);
            }
        }
        if all.is_empty() {
            return None;
        }
        Some(if quiet.len() >= 2 {
            Paired {
                ratio: percentile(&quiet, 0.5),
                used: quiet.len(),
                rounds: n,
                quiet: true,
            }
        } else {
            Paired {
                ratio: percentile(&all, 0.5),
                used: all.len(),
                rounds: n,
                quiet: false,
            }
        })
    }

    /// `a`'s headline number relative to `b`'s (above 1: `a` is better), paired by round.
    pub fn versus(&self, a: &str, b: &str) -> Option<f64> {
        self.paired(a, b, |l| &l.values, self.higher_is_better)
            .map(|p| p.ratio)
    }

    /// Adds a note once (notes repeated by several rounds are kept once).
    pub fn note(&mut self, label: &str, note: String) {
        let line = self.line(label);
        if !line.notes.contains(&note) {
            line.notes.push(note);
        }
    }

    pub fn missing(&mut self, label: &str, why: &str) {
        self.line(label).missing = Some(why.into());
    }

    pub fn median(&self, label: &str) -> Option<f64> {
        self.lines
            .iter()
            .find(|l| l.label == label && !l.values.is_empty())
            .map(|l| l.median())
    }

    /// The line relative to the floor (above 1 is better than the floor): the median of the
    /// per-round ratios, see [`Table::paired`].
    pub fn ratio(&self, label: &str) -> Option<f64> {
        self.ratio_detail(label).map(|p| p.ratio)
    }

    pub fn ratio_detail(&self, label: &str) -> Option<Paired> {
        let floor = self.floor.as_deref()?;
        self.paired(label, floor, |l| &l.values, self.higher_is_better)
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("### {} — {}\n\n", self.id, self.title);
        let ratio_head = if self.higher_is_better {
            "ratio to floor"
        } else {
            "ratio to floor (floor/system)"
        };
        let (costs, wal, examined) = (self.has_costs(), self.has_wal(), self.has_examined());
        let mut extra_head = String::new();
        let mut extra_rule = String::new();
        if costs {
            extra_head += " server CPU µs/event | vs floor | client CPU µs/event |";
            extra_rule += "---:|---:|---:|";
        }
        if wal {
            extra_head += " WAL bytes/event |";
            extra_rule += "---:|";
        }
        if examined {
            extra_head += " rows examined per row returned |";
            extra_rule += "---:|";
        }
        let blanks = "–|".repeat(costs as usize * 3 + wal as usize + examined as usize);
        out += &format!(
            "| system | median {} | min – max | {} |{} notes |\n|---|---:|---:|---:|{}---|\n",
            self.unit, ratio_head, extra_head, extra_rule
        );
        for l in &self.lines {
            if let Some(why) = &l.missing {
                out += &format!("| {} | – | – | – |{} {} |\n", l.label, blanks, why);
                continue;
            }
            if l.values.is_empty() {
                out += &format!(
                    "| {} | – | – | – |{} {} |\n",
                    l.label,
                    blanks,
                    l.notes.join("; ")
                );
                continue;
            }
            let mut extra = String::new();
            if costs {
                let cost = match (self.cost_ratio(&l.label), &self.floor) {
                    (_, Some(f)) if f == &l.label => "1.00".to_string(),
                    (Some(r), _) => format!("{r:.2}x"),
                    (None, _) => "–".into(),
                };
                extra += &format!(
                    " {} | {} | {} |",
                    fmt(percentile(&l.server_us, 0.5)),
                    cost,
                    fmt(percentile(&l.client_us, 0.5))
                );
            }
            if wal {
                extra += &format!(" {} |", fmt(percentile(&l.wal, 0.5)));
            }
            if examined {
                extra += &format!(" {} |", fmt(percentile(&l.examined, 0.5)));
            }
            let ratio = match (self.ratio_detail(&l.label), &self.floor) {
                (_, Some(f)) if f == &l.label => "1.00 (floor)".to_string(),
                (Some(p), _) if !p.quiet => format!("{:.2}x (noisy)", p.ratio),
                (Some(p), _) if p.used < p.rounds => {
                    format!("{:.2}x ({}/{} quiet)", p.ratio, p.used, p.rounds)
                }
                (Some(p), _) => format!("{:.2}x", p.ratio),
                (None, _) => "–".into(),
            };
            out += &format!(
                "| {} | {} | {} – {} | {} |{} {} |\n",
                l.label,
                fmt(l.median()),
                fmt(l.min()),
                fmt(l.max()),
                ratio,
                extra,
                l.notes.join("; ")
            );
        }
        let others: Vec<f64> = self
            .lines
            .iter()
            .flat_map(|l| l.other_cores.iter().cloned())
            .collect();
        if !others.is_empty() {
            out += &format!(
                "\nNoise: other processes kept {:.2} cores busy during the median measurement of this table \
                 (max {:.2}, of {} cores).\n",
                percentile(&others, 0.5),
                others.iter().cloned().fold(0.0, f64::max),
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
            );
        }
        for f in &self.footnotes {
            out += &format!("\n{f}\n");
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "id": self.id, "title": self.title, "unit": self.unit, "floor": self.floor,
            "higher_is_better": self.higher_is_better,
            "lines": self.lines.iter().map(|l| json!({
                "label": l.label, "values": l.values, "median": if l.values.is_empty() { None } else { Some(l.median()) },
                "ratio_to_floor": self.ratio(&l.label), "notes": l.notes, "missing": l.missing,
                "server_cpu_us_per_event": l.server_us, "client_cpu_us_per_event": l.client_us,
                "wal_bytes_per_event": l.wal, "server_cost_ratio_to_floor": self.cost_ratio(&l.label),
                "other_cores": l.other_cores,
                "rows_examined_per_row_returned": l.examined,
                "rows_examined_per_row_returned_median": self.examined(&l.label),
            })).collect::<Vec<_>>(),
            "footnotes": self.footnotes,
        })
    }
}

/// Rounds in which other processes kept this many cores busy are "noisy".
pub const QUIET_CORES: f64 = 0.5;

/// A ratio from paired rounds: the median, and how many of the rounds it used.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    pub ratio: f64,
    pub used: usize,
    pub rounds: usize,
    /// Whether the rounds used were quiet (false: fewer than two were, all were used).
    pub quiet: bool,
}

/// A number with sensible precision for a table.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v);
        let bytes: Vec<char> = s.chars().collect();
        let mut out = String::new();
        for (i, ch) in bytes.iter().enumerate() {
            if i > 0 && (bytes.len() - i).is_multiple_of(3) && *ch != '-' {
                out.push(',');
            }
            out.push(*ch);
        }
        out
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// One goal from issue 7 and whether this run met it.
#[derive(Debug, Clone)]
pub struct Goal {
    pub name: String,
    pub measured: Option<f64>,
    pub wanted: String,
    pub met: Option<bool>,
}

impl Goal {
    pub fn at_least(name: &str, measured: Option<f64>, min: f64, unit: &str) -> Goal {
        Goal {
            name: name.into(),
            measured,
            wanted: format!(">= {min}{unit}"),
            met: measured.map(|m| m >= min),
        }
    }
    pub fn at_most(name: &str, measured: Option<f64>, max: f64, unit: &str) -> Goal {
        Goal {
            name: name.into(),
            measured,
            wanted: format!("<= {max}{unit}"),
            met: measured.map(|m| m <= max),
        }
    }
}

pub fn goals_markdown(goals: &[Goal]) -> String {
    let mut out =
        "### Targets\n\n| target | measured | wanted | met? |\n|---|---:|---:|---|\n".to_string();
    for g in goals {
        let measured = g
            .measured
            .map(|m| format!("{m:.2}"))
            .unwrap_or_else(|| "–".into());
        let met = match g.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        out += &format!("| {} | {} | {} | {} |\n", g.name, measured, g.wanted, met);
    }
    out
}

pub fn goals_json(goals: &[Goal]) -> serde_json::Value {
    json!(goals
        .iter()
        .map(|g| json!({"name": g.name, "measured": g.measured, "wanted": g.wanted, "met": g.met}))
        .collect::<Vec<_>>())
}
