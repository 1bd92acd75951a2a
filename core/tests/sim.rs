//! Deterministic simulation of room sync (see `quire_core::sim`).
//!
//! `cargo test -p quire-core --test sim` runs `DEFAULT_SEEDS` hostile seeds. More on demand:
//! `QUIRE_SIM_SEEDS=5000 cargo test -p quire-core --release --test sim` (seeds
//! `QUIRE_SIM_SEED_BASE..QUIRE_SIM_SEED_BASE + N`, base 0 by default). A failing seed is
//! printed and replays exactly: `QUIRE_SIM_SEED=<seed> cargo test -p quire-core --test sim`.
#![allow(clippy::unwrap_used)]

use quire_core::sim::{RemovalSim, Scenario, Sim};

const DEFAULT_SEEDS: u64 = 500;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn run(scenario: Scenario) -> Sim {
    let seed = scenario.seed;
    let mut sim = Sim::new(scenario);
    if let Err(violation) = sim.run() {
        panic!("{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core --test sim");
    }
    sim
}

#[test]
fn hostile_network_converges_for_many_seeds() {
    let seeds: Vec<u64> = match env_u64("QUIRE_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let base = env_u64("QUIRE_SIM_SEED_BASE").unwrap_or(0);
            (base..base + env_u64("QUIRE_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect()
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let chunks: Vec<Vec<u64>> = (0..workers)
        .map(|w| seeds.iter().copied().skip(w).step_by(workers).collect())
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::spawn(move || {
                let (mut forks, mut crashes) = (0, 0);
                for seed in chunk {
                    let sim = run(Scenario::hostile(seed));
                    forks += usize::from(sim.equivocated());
                    crashes += sim.crashes;
                    assert!(
                        sim.acked() > 20,
                        "seed {seed}: too little traffic to mean anything"
                    );
                }
                (forks, crashes)
            })
        })
        .collect();
    let (mut forks, mut crashes) = (0, 0);
    for handle in handles {
        let (f, c) = handle.join().unwrap();
        forks += f;
        crashes += c;
    }
    assert!(
        crashes as usize >= seeds.len() / 2,
        "only {crashes} crashes: the scenario is too tame"
    );
    assert!(
        forks * 10 >= seeds.len() * 9,
        "the equivocation happened in only {forks} runs"
    );
}

#[test]
fn pages_lost_in_a_crash_before_their_commit_never_fork_an_honest_book() {
    let mut crashes = 0;
    for seed in 0..100 {
        let sim = run(Scenario::slow_disk(seed));
        crashes += sim.crashes;
    }
    assert!(
        crashes >= 100,
        "only {crashes} crashes: nothing was at risk"
    );
}

#[test]
fn same_seed_replays_identically() {
    let a = run(Scenario::hostile(7));
    let b = run(Scenario::hostile(7));
    assert_eq!(a.delivered, b.delivered);
    assert_eq!(a.pages_held(), b.pages_held());
}

#[test]
fn sixty_four_members_all_receive_every_page_over_few_links() {
    let sim = run(Scenario::calm(64, 64));
    assert!(sim.max_links <= 8, "a member held {} links", sim.max_links);
    let held = sim.pages_held();
    assert_eq!(held.len(), 64);
    assert!(held.iter().all(|h| *h == held[0]));
    assert!(
        held[0] as usize >= sim.acked(),
        "every acknowledged page reached everyone"
    );
}

/// Seeds of the forked-book simulation (`QUIRE_FORK_SEEDS` and `QUIRE_FORK_SEED_BASE` to
/// change, `QUIRE_FORK_SEED` to replay one).
const FORK_SEEDS: u64 = 1000;

#[test]
fn a_forked_book_is_cut_at_its_fork_point_on_every_peer() {
    use quire_core::sim::fork::{ForkScenario, ForkSim};
    let seeds: Vec<u64> = match env_u64("QUIRE_FORK_SEED") {
        Some(seed) => vec![seed],
        None => {
            let base = env_u64("QUIRE_FORK_SEED_BASE").unwrap_or(0);
            (base..base + env_u64("QUIRE_FORK_SEEDS").unwrap_or(FORK_SEEDS)).collect()
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let chunk: Vec<u64> = seeds.iter().copied().skip(w).step_by(workers).collect();
            std::thread::spawn(move || {
                let mut walked = 0usize;
                for seed in chunk {
                    let mut sim = ForkSim::new(ForkScenario::random(seed));
                    if let Err(violation) = sim.run() {
                        panic!(
                            "{violation}\nreplay: QUIRE_FORK_SEED={seed} cargo test -p quire-core --test sim"
                        );
                    }
                    walked += usize::from(sim.walked());
                }
                walked
            })
        })
        .collect();
    let walked: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        walked * 2 >= seeds.len(),
        "only {walked} runs compared the branches above the fork: the scenario is too tame"
    );
}

/// Removal under attack (see `quire_core::sim::RemovalSim`): 1,000 seeds by default
/// (`QUIRE_SIM_SEEDS` and `QUIRE_SIM_SEED` apply here too).
#[test]
fn removed_members_and_strangers_cannot_write_themselves_back_in() {
    let seeds: Vec<u64> = match env_u64("QUIRE_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let base = env_u64("QUIRE_SIM_SEED_BASE").unwrap_or(0);
            (base..base + env_u64("QUIRE_SIM_SEEDS").unwrap_or(1_000)).collect()
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let chunk: Vec<u64> = seeds.iter().copied().skip(w).step_by(workers).collect();
            std::thread::spawn(move || {
                let (mut doubles, mut backdated) = (0usize, 0usize);
                for seed in chunk {
                    let mut sim = RemovalSim::new(seed);
                    if let Err(violation) = sim.run() {
                        panic!(
                            "{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core \
                             --test sim removed_members"
                        );
                    }
                    doubles += usize::from(sim.double_removal());
                    backdated += usize::from(sim.backdated_held() > 0);
                }
                (doubles, backdated)
            })
        })
        .collect();
    let (mut doubles, mut backdated) = (0, 0);
    for handle in handles {
        let (d, b) = handle.join().unwrap();
        doubles += d;
        backdated += b;
    }
    assert!(
        doubles * 4 >= seeds.len(),
        "only {doubles} concurrent removals"
    );
    assert!(
        backdated * 2 >= seeds.len(),
        "back-dated pages sorted before the removal in only {backdated} runs: the attack is too tame"
    );
}
