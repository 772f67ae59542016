//! Side-by-side measurement: warm-up, then the contenders alternate, round after round, and
//! each one's median is kept. Alternating spreads the shared machine's noise over both sides
//! instead of letting it land on whichever ran second.

use std::time::{Duration, Instant};

/// How much measuring a scenario gets.
#[derive(Clone, Copy, Debug)]
pub struct Effort {
    /// Rounds thrown away first.
    pub warmup: usize,
    /// Rounds measured; the median is reported.
    pub rounds: usize,
    /// Operations in one round of a single-operation scenario.
    pub ops: usize,
}

impl Effort {
    pub fn new(quick: bool) -> Self {
        if quick {
            Effort {
                warmup: 1,
                rounds: 3,
                ops: 2_000,
            }
        } else {
            Effort {
                warmup: 2,
                rounds: 9,
                ops: 20_000,
            }
        }
    }
}

/// What one round did: how many operations, in how long.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub ops: usize,
    pub elapsed: Duration,
}

/// Times `work`, which returns how many operations it did.
pub fn timed(work: impl FnOnce() -> usize) -> Sample {
    let started = Instant::now();
    let ops = work();
    Sample {
        ops,
        elapsed: started.elapsed(),
    }
}

/// One contender: a name and a round. Most rounds are timed whole with [`timed`]; a round
/// can also time only its measured part, or report a tool's own measurement.
pub struct Contender<'a> {
    pub name: &'a str,
    pub round: Box<dyn FnMut() -> Sample + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: &'a str, round: impl FnMut() -> Sample + 'a) -> Self {
        Contender {
            name,
            round: Box::new(round),
        }
    }

    /// A contender whose whole round is timed; `work` returns its operation count.
    pub fn timed(name: &'a str, mut work: impl FnMut() -> usize + 'a) -> Self {
        Contender::new(name, move || timed(&mut work))
    }
}

/// A contender's result: median throughput and median time per round.
#[derive(Clone, Debug)]
pub struct Measured {
    pub name: String,
    pub ops_per_sec: f64,
    pub round_time: Duration,
}

/// Runs the contenders alternately and returns each one's medians, in the order given.
pub fn alternate(effort: Effort, mut contenders: Vec<Contender<'_>>) -> Vec<Measured> {
    for _ in 0..effort.warmup {
        for contender in &mut contenders {
            (contender.round)();
        }
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    for round in 0..effort.rounds {
        // Alternate the order too, so neither side always follows the other.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..contenders.len()).collect()
        } else {
            (0..contenders.len()).rev().collect()
        };
        for index in order {
            let sample = (contenders[index].round)();
            rates[index].push(sample.ops as f64 / sample.elapsed.as_secs_f64().max(1e-9));
            times[index].push(sample.elapsed);
        }
    }
    contenders
        .iter()
        .zip(rates.iter_mut().zip(times.iter_mut()))
        .map(|(contender, (rates, times))| Measured {
            name: contender.name.to_owned(),
            ops_per_sec: median_f64(rates),
            round_time: median(times),
        })
        .collect()
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_pick_the_middle() {
        assert_eq!(median_f64(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(
            median(&mut [
                Duration::from_secs(5),
                Duration::from_secs(1),
                Duration::from_secs(3)
            ]),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn alternate_runs_every_round_of_every_contender() {
        let (mut a, mut b) = (0, 0);
        let effort = Effort {
            warmup: 1,
            rounds: 3,
            ops: 1,
        };
        let results = alternate(
            effort,
            vec![
                Contender::timed("a", || {
                    a += 1;
                    1
                }),
                Contender::timed("b", || {
                    b += 1;
                    1
                }),
            ],
        );
        assert_eq!(results.len(), 2);
        assert_eq!((a, b), (4, 4));
    }
}
