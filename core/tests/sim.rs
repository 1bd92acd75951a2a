//! Deterministic simulation of room sync (see `quire_core::sim`).
//!
//! `cargo test -p quire-core --test sim` runs `DEFAULT_SEEDS` hostile seeds. More on demand:
//! `QUIRE_SIM_SEEDS=5000 cargo test -p quire-core --release --test sim` (seeds
//! `QUIRE_SIM_SEED_BASE..QUIRE_SIM_SEED_BASE + N`, base 0 by default). A failing seed is
//! printed and replays exactly: `QUIRE_SIM_SEED=<seed> cargo test -p quire-core --test sim`.
#![allow(clippy::unwrap_used)]

use quire_core::sim::{MutualRemovalSim, RemovalSim, ReplaySim, Scenario, Sim};

const DEFAULT_SEEDS: u64 = 500;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The seeds to run: `<prefix>_SEED` replays one; otherwise `<prefix>_SEEDS` of them (default
/// `default`) from `<prefix>_SEED_BASE` (default 0).
fn seeds(prefix: &str, default: u64) -> Vec<u64> {
    match env_u64(&format!("{prefix}_SEED")) {
        Some(seed) => vec![seed],
        None => {
            let base = env_u64(&format!("{prefix}_SEED_BASE")).unwrap_or(0);
            (base..base + env_u64(&format!("{prefix}_SEEDS")).unwrap_or(default)).collect()
        }
    }
}

/// Runs `each` for every seed on up to four threads (seeds dealt round-robin); returns the
/// results. A panic in any run fails the test with that run's message.
fn across_threads<T: Send + 'static>(seeds: &[u64], each: fn(u64) -> T) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let chunk: Vec<u64> = seeds.iter().copied().skip(w).step_by(workers).collect();
            std::thread::spawn(move || chunk.into_iter().map(each).collect::<Vec<T>>())
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

fn run(scenario: Scenario) -> Sim {
    let seed = scenario.seed;
    let mut sim = Sim::new(scenario);
    if let Err(violation) = sim.run() {
        panic!("{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core --test sim");
    }
    sim
}

/// Shares of seeds (percent) in which each adversary must act (measured over the default 500
/// seeds: the equivocator 500, crashes 443, joiners 500, leavers 478).
const EQUIVOCATOR_SHARE: usize = 90;
const CRASH_SHARE: usize = 80;
const JOIN_SHARE: usize = 95;
const LEAVE_SHARE: usize = 90;

#[test]
fn hostile_network_converges_for_many_seeds() {
    let seeds = seeds("QUIRE_SIM", DEFAULT_SEEDS);
    let runs = across_threads(&seeds, |seed| {
        let sim = run(Scenario::hostile(seed));
        assert!(
            sim.acked() > 20,
            "seed {seed}: too little traffic to mean anything"
        );
        let (joins, leaves) = sim.joins_and_leaves();
        (sim.equivocated(), sim.crashes > 0, joins > 0, leaves > 0)
    });
    let share = |what: &str, acted: usize, percent: usize| {
        eprintln!("{what} acted in {acted} of {} seeds", seeds.len());
        assert!(
            acted * 100 >= seeds.len() * percent,
            "{what} acted in only {acted} of {} seeds (want {percent} %)",
            seeds.len()
        );
    };
    share(
        "the equivocator",
        runs.iter().filter(|r| r.0).count(),
        EQUIVOCATOR_SHARE,
    );
    share("crashes", runs.iter().filter(|r| r.1).count(), CRASH_SHARE);
    share("joiners", runs.iter().filter(|r| r.2).count(), JOIN_SHARE);
    share("leavers", runs.iter().filter(|r| r.3).count(), LEAVE_SHARE);
}

#[test]
fn pages_lost_in_a_crash_before_their_commit_never_fork_an_honest_book() {
    // `run` fails any seed where a peer holds a fork of an honest book; here it must also
    // have been at risk: pages lost before their commit, and their seqs written again.
    let (mut lost, mut reused) = (0, 0);
    for seed in 0..100 {
        let sim = run(Scenario::slow_disk(seed));
        lost += sim.lost_before_commit;
        reused += sim.seqs_reused;
    }
    eprintln!("slow disk: {lost} pages lost before their commit, {reused} seqs written again");
    assert!(lost >= 100, "only {lost} pages lost before their commit");
    assert!(
        reused >= 50,
        "only {reused} seqs written again after a loss"
    );
}

#[test]
fn same_seed_replays_identically() {
    let a = run(Scenario::hostile(7));
    let b = run(Scenario::hostile(7));
    assert_eq!(a.delivered, b.delivered);
    assert_eq!(a.pages_held(), b.pages_held());
    // Not only as many pages: the same pages in the same order on every member.
    let orders = a.display_orders();
    assert!(
        orders.iter().any(|o| o.len() > 2),
        "the run showed messages"
    );
    assert_eq!(orders, b.display_orders());
    assert_ne!(
        orders,
        run(Scenario::hostile(8)).display_orders(),
        "another seed is another run: the comparison can tell"
    );
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
fn a_forked_book_is_cut_at_its_fork_point_and_keeps_what_the_fork_rule_names_on_every_peer() {
    use quire_core::sim::fork::{ForkScenario, ForkSim};
    let seeds = seeds("QUIRE_FORK", FORK_SEEDS);
    let runs = across_threads(&seeds, |seed| {
        let mut sim = ForkSim::new(ForkScenario::random(seed));
        if let Err(violation) = sim.run() {
            panic!(
                "{violation}\nreplay: QUIRE_FORK_SEED={seed} cargo test -p quire-core --test sim"
            );
        }
        (sim.walked(), sim.both_branches_built_on())
    });
    if seeds.len() < 100 {
        return; // a replay: too few runs to judge the scenario's range
    }
    let walked = runs.iter().filter(|(w, _)| *w).count();
    assert!(
        walked * 2 >= seeds.len(),
        "only {walked} runs compared the branches above the fork: the scenario is too tame"
    );
    let chose = runs.iter().filter(|(_, both)| *both).count();
    assert!(
        chose * 4 >= seeds.len(),
        "only {chose} runs had both branches built on: the fork rule was hardly exercised"
    );
}

/// Removal under attack (see `quire_core::sim::RemovalSim`): 1,000 seeds by default
/// (`QUIRE_SIM_SEEDS` and `QUIRE_SIM_SEED` apply here too).
#[test]
fn removed_members_and_strangers_cannot_write_themselves_back_in() {
    let seeds = seeds("QUIRE_SIM", 1_000);
    let runs = across_threads(&seeds, |seed| {
        let mut sim = RemovalSim::new(seed);
        if let Err(violation) = sim.run() {
            panic!(
                "{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core \
                 --test sim removed_members"
            );
        }
        (sim.double_removal(), sim.backdated_held() > 0)
    });
    let doubles = runs.iter().filter(|(d, _)| *d).count();
    let backdated = runs.iter().filter(|(_, b)| *b).count();
    assert!(
        doubles * 4 >= seeds.len(),
        "only {doubles} concurrent removals"
    );
    assert!(
        backdated * 2 >= seeds.len(),
        "back-dated pages sorted before the removal in only {backdated} runs: the attack is too tame"
    );
}

/// Two owners removing each other at once (see `quire_core::sim::MutualRemovalSim`): 1,000
/// seeds by default (`QUIRE_SIM_SEEDS` and `QUIRE_SIM_SEED` apply here too).
#[test]
fn two_owners_removing_each_other_converge_on_one_room_and_one_epoch_chain() {
    let seeds = seeds("QUIRE_SIM", 1_000);
    let winners = across_threads(&seeds, |seed| {
        let mut sim = MutualRemovalSim::new(seed);
        if let Err(violation) = sim.run() {
            panic!(
                "{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core \
                 --test sim two_owners"
            );
        }
        sim.winner()
    });
    if seeds.len() < 100 {
        return; // a replay: too few runs to judge the scenario's range
    }
    // Which removal counts is decided by the fold order, not by who is the founder.
    for owner in [0, 1] {
        let won = winners.iter().filter(|w| **w == Some(owner)).count();
        assert!(
            won * 5 >= seeds.len(),
            "owner {owner} kept the room in only {won} runs: the race is one-sided"
        );
    }
}

/// Replayed auto-admit requests (see `quire_core::sim::ReplaySim`): 1,000 seeds by default
/// (`QUIRE_SIM_SEEDS` and `QUIRE_SIM_SEED` apply here too).
#[test]
fn a_replayed_auto_admit_request_admits_nobody() {
    let seeds = seeds("QUIRE_SIM", 1_000);
    let single = across_threads(&seeds, |seed| {
        let mut sim = ReplaySim::new(seed);
        if let Err(violation) = sim.run() {
            panic!(
                "{violation}\nreplay: QUIRE_SIM_SEED={seed} cargo test -p quire-core \
                 --test sim a_replayed"
            );
        }
        sim.single_use()
    });
    if seeds.len() < 100 {
        return; // a replay: too few runs to judge the scenario's range
    }
    let singles = single.iter().filter(|s| **s).count();
    assert!(
        singles * 4 >= seeds.len() && singles * 4 <= 3 * seeds.len(),
        "single-use links in {singles} of {} runs: one kind is hardly tried",
        seeds.len()
    );
}
