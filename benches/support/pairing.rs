//! The pairing loop of `benches/paired.rs`: two bodies, A (the reference) and B, timed in
//! short alternating blocks in one thread, one ratio B/A per pair of blocks.
//!
//! - **Pairs**: a pair is about `PAIRED_BLOCK_US` (default 2,000 µs) of CPU time of A and as
//!   much of B, cut into `PAIRED_SLICES` (default 16) slices: A and B alternate slice by slice,
//!   A B or B A drawn at random per slice (xorshift, `PAIRED_SEED`), so that a drift or a
//!   periodic disturbance does not favour the side that runs first. The pair's ratio is B's
//!   CPU time over A's, summed over its slices. Slicing narrowed the null p10–p90 from
//!   0.948–1.060 (one 2 ms block per side) to 0.970–1.035 in the same minutes on the loaded
//!   2-core VM: a neighbour's burst then lands on both sides of a pair.
//! - **Slices**: each body runs `iters` times back to back; `iters` is calibrated once per
//!   pair of bodies so that a slice of the slower one lasts block / slices, and both bodies
//!   run the same number of iterations. `PAIRED_WARMUP` pairs (default 10) are run and
//!   dropped, then `PAIRED_PAIRS` (default 300) are kept.
//! - **Clock**: the thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), so time spent
//!   descheduled while other jobs run on the shared cores is not counted; wall time is read too
//!   and its median ratio printed beside it. A pair whose wall time exceeds its CPU time by
//!   more than 20 % counts as preempted (the share is printed: on a quiet machine it is ~0).
//! - **Report**: per pair of bodies, the median B/A with the 95 % confidence interval of that
//!   median (order statistics, no assumption on the distribution), p10–p90, the interquartile
//!   range and min–max of the pair ratios, and the median ns per iteration of each side.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How the binary was started: `cargo bench` passes `--bench`; `cargo test --benches` does
/// not, and then every body runs a few times and each pairing loop only a few tiny pairs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bench,
    Smoke,
}

/// Settings from the environment and the command line.
pub struct Runner {
    mode: Mode,
    pairs: usize,
    warmup: usize,
    block: Duration,
    /// Each pair's blocks are cut into this many slices, A and B alternating slice by slice.
    slices: usize,
    rng: u64,
    /// Substrings of pair names to run (empty: all), from the command line.
    filters: Vec<String>,
    /// `--profile-a` / `--profile-b`: run only that side of each selected pair, for
    /// `PAIRED_PROFILE_SECS` seconds (default 10), for `perf record`.
    profile: Option<Side>,
    profile_secs: u64,
    results: Vec<Summary>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// The CPU time and the wall time of one block.
#[derive(Clone, Copy, Default)]
struct Block {
    cpu_ns: f64,
    wall_ns: f64,
}

impl std::ops::AddAssign for Block {
    fn add_assign(&mut self, other: Self) {
        self.cpu_ns += other.cpu_ns;
        self.wall_ns += other.wall_ns;
    }
}

/// What one pair of bodies measured.
pub struct Summary {
    pub name: String,
    /// Iterations per slice, both sides.
    pub iters: u64,
    pub a_ns: f64,
    pub b_ns: f64,
    /// Sorted ratios B/A of the pairs, on CPU time.
    pub ratios: Vec<f64>,
    pub wall_median: f64,
    pub preempted: f64,
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

impl Runner {
    pub fn from_env() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mode = if args.iter().any(|a| a == "--bench") {
            Mode::Bench
        } else {
            Mode::Smoke
        };
        let profile = if args.iter().any(|a| a == "--profile-a") {
            Some(Side::A)
        } else if args.iter().any(|a| a == "--profile-b") {
            Some(Side::B)
        } else {
            None
        };
        let filters = args.into_iter().filter(|a| !a.starts_with("--")).collect();
        let seed: u64 = env("PAIRED_SEED", 0x9e37_79b9_7f4a_7c15);
        Self {
            mode,
            pairs: env("PAIRED_PAIRS", 300),
            warmup: env("PAIRED_WARMUP", 10),
            block: Duration::from_micros(env("PAIRED_BLOCK_US", 2_000)),
            slices: env("PAIRED_SLICES", 16),
            rng: seed.max(1),
            filters,
            profile,
            profile_secs: env("PAIRED_PROFILE_SECS", 10),
            results: Vec::new(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Measures `b` against `a` (B/A), unless the name is filtered out.
    pub fn pair<R1, R2>(
        &mut self,
        name: &str,
        mut a: impl FnMut() -> R1,
        mut b: impl FnMut() -> R2,
    ) {
        if !self.filters.is_empty() && !self.filters.iter().any(|f| name.contains(f.as_str())) {
            return;
        }
        if let Some(side) = self.profile {
            let until = Instant::now() + Duration::from_secs(self.profile_secs);
            let (mut iterations, mut cpu_ns) = (0u64, 0.0);
            while Instant::now() < until {
                cpu_ns += if side == Side::A {
                    run_block(&mut a, 1_000).cpu_ns
                } else {
                    run_block(&mut b, 1_000).cpu_ns
                };
                iterations += 1_000;
            }
            eprintln!(
                "{name}: side {}: {iterations} iterations, {:.1} ns of CPU time each",
                if side == Side::A { "A" } else { "B" },
                cpu_ns / iterations as f64
            );
            return;
        }
        let (pairs, warmup, block) = match self.mode {
            Mode::Bench => (self.pairs, self.warmup, self.block),
            Mode::Smoke => (3, 1, Duration::from_micros(40)),
        };
        let slices = self.slices.max(1);
        let iters = calibrate(&mut a, &mut b, block / slices as u32);
        let mut ratios = Vec::with_capacity(pairs);
        let mut wall_ratios = Vec::with_capacity(pairs);
        let mut a_ns = Vec::with_capacity(pairs);
        let mut b_ns = Vec::with_capacity(pairs);
        let mut preempted = 0usize;
        for i in 0..warmup + pairs {
            // One pair: `slices` slices of A and of B, each slice's two in random order.
            let (mut ta, mut tb) = (Block::default(), Block::default());
            for _ in 0..slices {
                if self.next_random() & 1 == 0 {
                    ta += run_block(&mut a, iters);
                    tb += run_block(&mut b, iters);
                } else {
                    tb += run_block(&mut b, iters);
                    ta += run_block(&mut a, iters);
                }
            }
            if i < warmup {
                continue;
            }
            let per_side = (iters * slices as u64) as f64;
            ratios.push(tb.cpu_ns / ta.cpu_ns);
            wall_ratios.push(tb.wall_ns / ta.wall_ns);
            a_ns.push(ta.cpu_ns / per_side);
            b_ns.push(tb.cpu_ns / per_side);
            if [ta, tb].iter().any(|t| t.wall_ns > 1.2 * t.cpu_ns) {
                preempted += 1;
            }
        }
        for v in [&mut ratios, &mut wall_ratios, &mut a_ns, &mut b_ns] {
            v.sort_by(f64::total_cmp);
        }
        let summary = Summary {
            name: name.to_owned(),
            iters,
            a_ns: quantile(&a_ns, 0.5),
            b_ns: quantile(&b_ns, 0.5),
            wall_median: quantile(&wall_ratios, 0.5),
            preempted: preempted as f64 / pairs as f64,
            ratios,
        };
        eprintln!("{}", summary.row());
        self.results.push(summary);
    }

    /// The results so far.
    pub fn results(&self) -> &[Summary] {
        &self.results
    }

    /// Prints the table (in smoke mode: one line saying the bodies ran).
    pub fn finish(&self) {
        if self.profile.is_some() {
            return;
        }
        if self.mode == Mode::Smoke {
            println!(
                "paired: smoke pass, {} pairs of bodies ran (cargo bench --bench paired measures)",
                self.results.len()
            );
            return;
        }
        println!(
            "machine: {} cores, load average {}; {} pairs per row (+{} warm-up), each ~{} µs of A \
             and of B in {} slices of random order; thread CPU time",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average(),
            self.pairs,
            self.warmup,
            self.block.as_micros(),
            self.slices,
        );
        println!("{}", Summary::header());
        for summary in &self.results {
            println!("{}", summary.row());
        }
    }
}

impl Summary {
    pub fn median(&self) -> f64 {
        quantile(&self.ratios, 0.5)
    }

    pub fn quantile(&self, p: f64) -> f64 {
        quantile(&self.ratios, p)
    }

    /// The 95 % confidence interval of the median: the order statistics at
    /// n/2 ± 1.96·√n/2 (the binomial's normal approximation).
    pub fn median_ci(&self) -> (f64, f64) {
        let n = self.ratios.len();
        let half = 0.98 * (n as f64).sqrt();
        let lo = ((n as f64 / 2.0 - half).floor().max(0.0)) as usize;
        let hi = ((n as f64 / 2.0 + half).ceil() as usize).min(n - 1);
        (self.ratios[lo], self.ratios[hi])
    }

    fn header() -> String {
        format!(
            "{:<48} {:>6} {:>9} {:>9} {:>7} {:>13} {:>13} {:>13} {:>13} {:>6} {:>5}",
            "pair (B vs A)",
            "iters",
            "A ns",
            "B ns",
            "B/A",
            "95% CI med",
            "p10-p90",
            "IQR",
            "min-max",
            "wall",
            "pre%"
        )
    }

    fn row(&self) -> String {
        let (lo, hi) = self.median_ci();
        let range = |a: f64, b: f64| format!("{a:.3}-{b:.3}");
        format!(
            "{:<48} {:>6} {:>9.1} {:>9.1} {:>7.3} {:>13} {:>13} {:>13} {:>13} {:>6.3} {:>5.1}",
            self.name,
            self.iters,
            self.a_ns,
            self.b_ns,
            self.median(),
            range(lo, hi),
            range(self.quantile(0.1), self.quantile(0.9)),
            range(self.quantile(0.25), self.quantile(0.75)),
            range(self.ratios[0], self.ratios[self.ratios.len() - 1]),
            self.wall_median,
            100.0 * self.preempted,
        )
    }
}

/// The iterations per block for about `block` of CPU time per block, the same for both sides:
/// doubled until the slower side's block takes a quarter of the target, then scaled (the
/// fastest of three tries of each side, so a preempted try does not shorten the blocks).
fn calibrate<R1, R2>(
    a: &mut impl FnMut() -> R1,
    b: &mut impl FnMut() -> R2,
    block: Duration,
) -> u64 {
    let target = block.as_nanos() as f64;
    let mut iters = 1u64;
    loop {
        let slowest = (0..3)
            .map(|_| run_block(a, iters).cpu_ns.max(run_block(b, iters).cpu_ns))
            .fold(f64::INFINITY, f64::min);
        if slowest >= target / 4.0 || iters >= 1 << 30 {
            return ((iters as f64 * target / slowest.max(1.0)).round() as u64).max(1);
        }
        iters *= 2;
    }
}

fn run_block<R>(f: &mut impl FnMut() -> R, iters: u64) -> Block {
    let wall = Instant::now();
    let cpu = thread_cpu_ns();
    for _ in 0..iters {
        black_box(f());
    }
    let cpu_ns = thread_cpu_ns() - cpu;
    let wall_ns = wall.elapsed().as_nanos() as f64;
    Block { cpu_ns, wall_ns }
}

/// This thread's CPU time in ns (Linux and other Unix: `CLOCK_THREAD_CPUTIME_ID`).
#[cfg(unix)]
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Elsewhere, wall time since the first call (preemption then counts).
#[cfg(not(unix))]
fn thread_cpu_ns() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as f64
}

/// The p-quantile of sorted values, interpolated linearly.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}
