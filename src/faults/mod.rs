//! Faults on demand: a schedule of misbehaviours applied to one
//! connection's market data, so that a client can prove it recovers from
//! each (`serve --faults SPEC`, or `{"op":"faults","spec":..}` on a server
//! started with `--allow-fault-requests`). Pure: the plan sees each market
//! message of its connection in order, with the time since it was set, and
//! says what to do with it; the same spec, seed and messages give the same
//! faults. `docs/testing.md` has the grammar, for people:
//!
//! ```text
//! SPEC    = ITEM *(";" ITEM)
//! ITEM    = "seed=" N | ACTION ["@" TRIGGER]
//! ACTION  = "drop" [":" CHANNEL] [":" COUNT] | "corrupt" | "duplicate" [":" CHANNEL]
//!         | "reorder" [":" CHANNEL] | "stall:" DURATION | "close" [":abrupt" | ":" CODE]
//!         | "lagged" | "shutdown"
//! TRIGGER = "after=" N | "after=" DURATION | "every=" N | "p=" PROBABILITY
//! ```

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::protocol::Channel;

/// What to do with one market message (at most one fault a message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// Not sent: a `seq` gap.
    Drop,
    /// Sent with a wrong `checksum` (book messages).
    Corrupt,
    /// Sent twice.
    Duplicate,
    /// Held back and sent after the next message of its stream.
    Reorder,
    /// Sent, then nothing more is written for this long.
    Stall(Duration),
    /// The connection is closed: without a close frame (`None`), or with
    /// this code.
    Close(Option<u16>),
    /// The connection is treated as lagging: its queued market data is
    /// dropped, `lagged` sent, then fresh state (as a real lag).
    Lagged,
    /// `shutdown`, then close 1001, as when the server stops.
    Shutdown,
}

/// The action of a fault, with its own settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Drop(u32),
    Corrupt,
    Duplicate,
    Reorder,
    Stall(Duration),
    Close(Option<u16>),
    Lagged,
    Shutdown,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Trigger {
    /// Once, at the (N+1)th matching message.
    AfterMessages(u64),
    /// Once, at the first matching message this long after the plan was set.
    AfterTime(Duration),
    /// At every Nth matching message.
    Every(u64),
    /// At each matching message with this probability (seeded).
    Probability(f64),
}

#[derive(Clone, Debug, PartialEq)]
struct Fault {
    kind: Kind,
    /// Only messages of this channel (wire name: `book`, `trades`,
    /// `ticker`, `candles`, `heartbeat`); all market data when `None`.
    channel: Option<&'static str>,
    trigger: Trigger,
}

/// A parsed fault schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// As given (for responses and logs).
    pub text: String,
    pub seed: u64,
    faults: Vec<Fault>,
}

/// Seed of a spec that names none.
pub const DEFAULT_SEED: u64 = 1;

const CHANNELS: [&str; 5] = ["book", "trades", "ticker", "candles", "heartbeat"];

fn channel(name: &str) -> Result<&'static str, String> {
    CHANNELS
        .iter()
        .find(|c| **c == name)
        .copied()
        .ok_or_else(|| format!("unknown channel {name:?} (one of {})", CHANNELS.join(", ")))
}

fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => match text.strip_suffix('s') {
            Some(n) => (n, 1.0),
            None => return Err(format!("{text:?} is not a duration (500ms, 2s)")),
        },
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (500ms, 2s)"))?;
    if !(0.0..=3600.0).contains(&(value * unit)) {
        return Err(format!("{text} is not between 0 and 3600 s"));
    }
    Ok(Duration::from_secs_f64(value * unit))
}

fn count(what: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{what} {text:?} is not a whole number"))
}

fn action(text: &str) -> Result<(Kind, Option<&'static str>), String> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default();
    let args: Vec<&str> = parts.collect();
    let too_many = |max: usize| -> Result<(), String> {
        if args.len() > max {
            Err(format!("{text:?}: {name} takes at most {max} arguments"))
        } else {
            Ok(())
        }
    };
    let channel_arg = |i: usize| args.get(i).map(|c| channel(c)).transpose();
    Ok(match name {
        "drop" => {
            too_many(2)?;
            // `drop:3`, `drop:book`, `drop:book:3`.
            let (channel, n) = match args.as_slice() {
                [] => (None, 1),
                [one] if one.bytes().all(|b| b.is_ascii_digit()) => (None, count("drop", one)?),
                [c] => (Some(channel(c)?), 1),
                [c, n, ..] => (Some(channel(c)?), count("drop", n)?),
            };
            if n == 0 || n > 1_000_000 {
                return Err(format!("{text:?}: drop 1 to 1000000 messages"));
            }
            (Kind::Drop(n as u32), channel)
        }
        "corrupt" => {
            too_many(1)?;
            match args.first() {
                None | Some(&"book") => (Kind::Corrupt, Some("book")),
                Some(other) => {
                    return Err(format!(
                        "{text:?}: only book messages carry a checksum (corrupt or corrupt:book), not {other:?}"
                    ));
                }
            }
        }
        "duplicate" => {
            too_many(1)?;
            (Kind::Duplicate, channel_arg(0)?)
        }
        "reorder" => {
            too_many(1)?;
            (Kind::Reorder, channel_arg(0)?)
        }
        "stall" => {
            too_many(1)?;
            let Some(d) = args.first() else {
                return Err(format!("{text:?}: stall needs a duration (stall:2s)"));
            };
            (Kind::Stall(duration(d)?), None)
        }
        "close" => {
            too_many(1)?;
            let code = match args.first() {
                None | Some(&"abrupt") => None,
                Some(code) => {
                    let code: u16 = code
                        .parse()
                        .map_err(|_| format!("{text:?}: {code:?} is not abrupt or a close code"))?;
                    // Codes an endpoint may send (RFC 6455 7.4).
                    if !matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
                        return Err(format!(
                            "{text:?}: {code} is not a close code a server may send (1000-1003, 1007-1011, 3000-4999)"
                        ));
                    }
                    Some(code)
                }
            };
            (Kind::Close(code), None)
        }
        "lagged" => {
            too_many(0)?;
            (Kind::Lagged, None)
        }
        "shutdown" => {
            too_many(0)?;
            (Kind::Shutdown, None)
        }
        other => {
            return Err(format!(
                "unknown fault {other:?} (drop, corrupt, duplicate, reorder, stall, close, lagged, shutdown)"
            ));
        }
    })
}

fn trigger(text: &str) -> Result<Trigger, String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "{text:?} is not after=N, after=DURATION, every=N or p=P"
        ));
    };
    match name {
        "after" if value.ends_with('s') => Ok(Trigger::AfterTime(duration(value)?)),
        "after" => Ok(Trigger::AfterMessages(count("after", value)?)),
        "every" => match count("every", value)? {
            0 => Err("every=0: every needs at least 1".to_string()),
            n => Ok(Trigger::Every(n)),
        },
        "p" => match value.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(Trigger::Probability(p)),
            _ => Err(format!("p={value}: a probability is between 0 and 1")),
        },
        other => Err(format!("unknown trigger {other:?} (after, every, p)")),
    }
}

impl FaultSpec {
    /// Parses a spec; an error says which item is wrong and why.
    pub fn parse(text: &str) -> Result<FaultSpec, String> {
        let mut seed = DEFAULT_SEED;
        let mut faults = Vec::new();
        for item in text.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(value) = item.strip_prefix("seed=") {
                seed = count("seed", value)?;
                continue;
            }
            let (action_text, trigger_text) = match item.split_once('@') {
                Some((a, t)) => (a, Some(t)),
                None => (item, None),
            };
            let (kind, channel) = action(action_text)?;
            let trigger = match trigger_text {
                Some(t) => trigger(t)?,
                None => Trigger::AfterMessages(0),
            };
            faults.push(Fault {
                kind,
                channel,
                trigger,
            });
        }
        if faults.len() > 64 {
            return Err(format!("{} faults: at most 64", faults.len()));
        }
        Ok(FaultSpec {
            text: text.trim().to_string(),
            seed,
            faults,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Whether any fault waits for a time (the caller passes the time
    /// only then).
    pub fn timed(&self) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f.trigger, Trigger::AfterTime(_)))
    }
}

/// One connection's schedule in progress.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    spec: FaultSpec,
    /// Per fault: matching messages seen, and whether a one-off has fired.
    seen: Vec<(u64, bool)>,
    /// A `drop` in progress: messages of its channel still to drop.
    dropping: Option<(Option<&'static str>, u32)>,
    rng: ChaCha8Rng,
}

impl FaultPlan {
    pub fn new(spec: FaultSpec) -> FaultPlan {
        FaultPlan {
            seen: vec![(0, false); spec.faults.len()],
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            dropping: None,
            spec,
        }
    }

    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// What to do with the next market message, of `channel`, `elapsed`
    /// after the plan was set. Every fault counts the message; the first
    /// (in the spec's order) whose trigger fires acts.
    pub fn on_message(&mut self, channel: Channel, elapsed: Duration) -> Action {
        let name = channel.name();
        if let Some((only, left)) = &mut self.dropping
            && only.is_none_or(|c| c == name)
        {
            *left -= 1;
            if *left == 0 {
                self.dropping = None;
            }
            return Action::Drop;
        }
        let mut chosen = None;
        for (i, fault) in self.spec.faults.iter().enumerate() {
            if fault.channel.is_some_and(|c| c != name) {
                continue;
            }
            let (seen, fired) = &mut self.seen[i];
            *seen += 1;
            let fires = match fault.trigger {
                Trigger::AfterMessages(n) => !*fired && *seen > n,
                Trigger::AfterTime(t) => !*fired && elapsed >= t,
                Trigger::Every(n) => (*seen).is_multiple_of(n),
                // Drawn for every matching message, firing or not, so the
                // draws do not depend on the other faults.
                Trigger::Probability(p) => self.rng.random_bool(p),
            };
            if fires && chosen.is_none() {
                *fired = true;
                chosen = Some((fault.kind, fault.channel));
            }
        }
        let Some((kind, channel)) = chosen else {
            return Action::Deliver;
        };
        match kind {
            Kind::Drop(n) => {
                if n > 1 {
                    self.dropping = Some((channel, n - 1));
                }
                Action::Drop
            }
            Kind::Corrupt => Action::Corrupt,
            Kind::Duplicate => Action::Duplicate,
            Kind::Reorder => Action::Reorder,
            Kind::Stall(d) => Action::Stall(d),
            Kind::Close(code) => Action::Close(code),
            Kind::Lagged => Action::Lagged,
            Kind::Shutdown => Action::Shutdown,
        }
    }
}

/// A book message with its `checksum` made wrong (every bit flipped), or
/// `None` if it has none.
pub fn corrupt_checksum(frame: &str) -> Option<String> {
    const KEY: &str = "\"checksum\":";
    let at = frame.rfind(KEY)? + KEY.len();
    let digits = frame[at..].bytes().take_while(u8::is_ascii_digit).count();
    let value: u32 = frame[at..at + digits].parse().ok()?;
    Some(format!(
        "{}{}{}",
        &frame[..at],
        !value,
        &frame[at + digits..]
    ))
}

#[cfg(test)]
mod tests;
