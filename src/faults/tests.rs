use super::*;
use crate::stats::Interval;

const NO_TIME: Duration = Duration::ZERO;

/// The actions for `channels`, one message each.
fn run(spec: &str, channels: &[Channel]) -> Vec<Action> {
    let mut plan = FaultPlan::new(FaultSpec::parse(spec).unwrap());
    channels
        .iter()
        .map(|c| plan.on_message(*c, NO_TIME))
        .collect()
}

#[test]
fn one_offs_fire_once_after_their_count() {
    use Action::*;
    let book = [Channel::Book; 5];
    assert_eq!(
        run("drop@after=2", &book),
        [Deliver, Deliver, Drop, Deliver, Deliver]
    );
    assert_eq!(
        run("drop:book:2@after=1", &book),
        [Deliver, Drop, Drop, Deliver, Deliver]
    );
    assert_eq!(
        run("duplicate", &book),
        [Duplicate, Deliver, Deliver, Deliver, Deliver]
    );
    assert_eq!(
        run("corrupt@every=2", &book),
        [Deliver, Corrupt, Deliver, Corrupt, Deliver]
    );
    assert_eq!(
        run("close:4000@after=1;shutdown@after=3", &book),
        [Deliver, Close(Some(4000)), Deliver, Shutdown, Deliver]
    );
    assert_eq!(run("close@after=4", &book)[4], Close(None));
    assert_eq!(
        run("stall:250ms", &book)[0],
        Stall(Duration::from_millis(250))
    );
}

#[test]
fn a_channel_filter_counts_and_acts_on_that_channel_only() {
    use Action::*;
    let mixed = [
        Channel::Trades,
        Channel::Book,
        Channel::Candles(Interval::OneSecond),
        Channel::Book,
        Channel::Trades,
    ];
    assert_eq!(
        run("reorder:trades@after=1", &mixed),
        [Deliver, Deliver, Deliver, Deliver, Reorder]
    );
    assert_eq!(run("drop:candles", &mixed)[2], Drop);
    // A drop of 3 book messages lets the others through meanwhile.
    assert_eq!(
        run("drop:book:2", &mixed),
        [Deliver, Drop, Deliver, Drop, Deliver]
    );
}

#[test]
fn time_triggers_wait_for_the_first_message_after_the_time() {
    let mut plan = FaultPlan::new(FaultSpec::parse("lagged@after=2s").unwrap());
    assert!(FaultSpec::parse("lagged@after=2s").unwrap().timed());
    assert_eq!(
        plan.on_message(Channel::Heartbeat, Duration::from_secs(1)),
        Action::Deliver
    );
    assert_eq!(
        plan.on_message(Channel::Heartbeat, Duration::from_secs(2)),
        Action::Lagged
    );
    assert_eq!(
        plan.on_message(Channel::Heartbeat, Duration::from_secs(3)),
        Action::Deliver
    );
}

#[test]
fn probabilities_are_seeded() {
    let book = [Channel::Book; 400];
    let a = run("seed=7;duplicate@p=0.1", &book);
    assert_eq!(a, run("seed=7;duplicate@p=0.1", &book));
    assert_ne!(a, run("seed=8;duplicate@p=0.1", &book));
    let fired = a.iter().filter(|x| **x == Action::Duplicate).count();
    assert!((20..=60).contains(&fired), "{fired} of 400 at p=0.1");
    assert!(
        run("duplicate@p=0", &book)
            .iter()
            .all(|x| *x == Action::Deliver)
    );
}

#[test]
fn bad_specs_say_what_is_wrong() {
    let error = |spec: &str| FaultSpec::parse(spec).unwrap_err();
    assert_eq!(
        error("explode"),
        "unknown fault \"explode\" (drop, corrupt, duplicate, reorder, stall, close, lagged, shutdown)"
    );
    assert_eq!(
        error("drop:orders"),
        "unknown channel \"orders\" (one of book, trades, ticker, candles, heartbeat)"
    );
    assert!(error("corrupt:trades").contains("only book messages carry a checksum"));
    assert!(error("close:1006").contains("not a close code a server may send"));
    assert!(error("stall").contains("stall needs a duration"));
    assert!(error("stall:forever").contains("is not a duration"));
    assert!(error("drop@soon").contains("is not after=N"));
    assert!(error("drop@p=2").contains("a probability is between 0 and 1"));
    assert!(error("drop@every=0").contains("every needs at least 1"));
    assert!(error("lagged:now").contains("lagged takes at most 0 arguments"));
    assert!(error("seed=x").contains("seed \"x\" is not a whole number"));
    let spec = FaultSpec::parse(" seed=3 ; drop:book:2@after=10 ;").unwrap();
    assert_eq!(
        (spec.seed, spec.faults.len(), spec.is_empty()),
        (3, 1, false)
    );
    assert!(FaultSpec::parse("").unwrap().is_empty());
}

#[test]
fn a_corrupted_checksum_is_every_bit_flipped() {
    let frame = r#"{"type":"book_update","symbol":"X","seq":4,"bids":[],"asks":[],"checksum":5}"#;
    assert_eq!(
        corrupt_checksum(frame).as_deref(),
        Some(
            r#"{"type":"book_update","symbol":"X","seq":4,"bids":[],"asks":[],"checksum":4294967290}"#
        )
    );
    assert_eq!(corrupt_checksum(r#"{"type":"trade"}"#), None);
}
