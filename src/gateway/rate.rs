//! A token bucket, for request and order rate limits. Pure: the time is
//! given (`take_at`), so it is tested without waiting.

use std::time::Instant;

pub struct RateLimit {
    tokens: f64,
    rate: f64,
    burst: f64,
    updated: Instant,
}

impl RateLimit {
    /// `rate` tokens a second, at most `burst` saved up (full at first).
    pub fn new(rate: f64, burst: f64) -> RateLimit {
        RateLimit::new_at(rate, burst, Instant::now())
    }

    fn new_at(rate: f64, burst: f64, now: Instant) -> RateLimit {
        RateLimit {
            tokens: burst,
            rate,
            burst,
            updated: now,
        }
    }

    /// Takes a token, or says how many milliseconds until one is there.
    pub fn take(&mut self) -> Result<(), u64> {
        self.take_at(Instant::now())
    }

    /// Whether the bucket has refilled by `now` (nothing taken lately).
    fn full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }

    /// `take` at the time `now` (never earlier than the last call's).
    pub fn take_at(&mut self, now: Instant) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = self.updated.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.rate * 1000.0).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_burst_is_spent_then_tokens_come_back_at_the_rate() {
        let start = Instant::now();
        let mut limit = RateLimit::new_at(50.0, 100.0, start);
        for _ in 0..100 {
            assert_eq!(limit.take_at(start), Ok(()));
        }
        // Empty: the next token is 1/50 s away.
        assert_eq!(limit.take_at(start), Err(20));
        let later = start + Duration::from_millis(10);
        assert_eq!(limit.take_at(later), Err(10));
        assert_eq!(limit.take_at(start + Duration::from_millis(20)), Ok(()));
        // A long pause refills to the burst, never beyond.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..100 {
            assert_eq!(limit.take_at(much_later), Ok(()));
        }
        assert!(limit.take_at(much_later).is_err());
    }

    #[test]
    fn a_refused_take_uses_no_token_and_waits_at_least_a_millisecond() {
        let start = Instant::now();
        let mut limit = RateLimit::new_at(1000.0, 1.0, start);
        assert_eq!(limit.take_at(start), Ok(()));
        assert_eq!(limit.take_at(start), Err(1));
        assert_eq!(limit.take_at(start), Err(1));
        assert_eq!(limit.take_at(start + Duration::from_millis(1)), Ok(()));
    }

    #[test]
    fn time_going_back_adds_nothing() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut limit = RateLimit::new_at(1.0, 1.0, start);
        assert_eq!(limit.take_at(start), Ok(()));
        assert!(limit.take_at(start - Duration::from_secs(5)).is_err());
        assert!(limit.take_at(start).is_err());
        assert_eq!(limit.take_at(start + Duration::from_secs(1)), Ok(()));
    }
}

/// Request weight used per client address and minute (the Binance
/// dialect's `X-MBX-USED-WEIGHT-1M` and its limit). Only the current
/// minute is kept.
#[derive(Default)]
pub struct Weights {
    used: std::sync::Mutex<(u64, rustc_hash::FxHashMap<std::net::IpAddr, u64>)>,
}

impl Weights {
    /// Adds `weight` for `ip` in `minute`; the total used in that minute.
    pub fn add(&self, ip: std::net::IpAddr, minute: u64, weight: u64) -> u64 {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if used.0 != minute {
            *used = (minute, Default::default());
        }
        let total = used.1.entry(ip).or_insert(0);
        *total += weight;
        *total
    }
}

#[cfg(test)]
mod weight_tests {
    use super::*;

    #[test]
    fn weight_adds_up_per_address_and_starts_again_each_minute() {
        let weights = Weights::default();
        let (a, b) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        assert_eq!(weights.add(a, 7, 5), 5);
        assert_eq!(weights.add(a, 7, 20), 25);
        assert_eq!(weights.add(b, 7, 1), 1);
        assert_eq!(weights.add(a, 8, 2), 2);
    }
}

/// New WebSocket connections per client address and second
/// (`--connection-rate-per-ip`), so that a client reconnecting as fast as
/// it can is answered 429 before it costs a connection. A token bucket per
/// address, `CONNECTION_BURST_S` seconds' worth saved up. Why shared: every
/// HTTP task asks it. An address's bucket that has refilled (it opened
/// nothing lately) is forgotten when the table has doubled since the last
/// sweep, so the table holds only the addresses seen lately.
#[derive(Default)]
pub struct NewConnections {
    /// The buckets, and the size at which the next sweep runs.
    table: std::sync::Mutex<(rustc_hash::FxHashMap<std::net::IpAddr, RateLimit>, usize)>,
}

/// Seconds of `--connection-rate-per-ip` an address may open at once.
pub const CONNECTION_BURST_S: f64 = 10.0;

/// The table is swept no sooner than at this many addresses.
const SWEEP_FLOOR: usize = 1024;

impl NewConnections {
    /// Counts a new connection from `ip` at `rate` a second (0: no limit),
    /// or says how many milliseconds until it would be let in.
    pub fn take(&self, ip: std::net::IpAddr, rate: f64) -> Result<(), u64> {
        self.take_at(ip, rate, Instant::now())
    }

    fn take_at(&self, ip: std::net::IpAddr, rate: f64, now: Instant) -> Result<(), u64> {
        if rate <= 0.0 {
            return Ok(());
        }
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (buckets, sweep_at) = &mut *table;
        if buckets.len() >= (*sweep_at).max(SWEEP_FLOOR) {
            buckets.retain(|_, bucket| !bucket.full_at(now));
            *sweep_at = buckets.len() * 2;
        }
        let burst = (rate * CONNECTION_BURST_S).max(1.0);
        buckets
            .entry(ip)
            .or_insert_with(|| RateLimit::new_at(rate, burst, now))
            .take_at(now)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.table.lock().map_or(0, |t| t.0.len())
    }
}

#[cfg(test)]
mod new_connection_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_opens_its_burst_then_its_rate_and_others_are_apart() {
        let table = NewConnections::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        // 2 a second: 20 at once, then one each half second.
        for _ in 0..20 {
            assert_eq!(table.take_at(a, 2.0, start), Ok(()));
        }
        assert_eq!(table.take_at(a, 2.0, start), Err(500));
        assert_eq!(table.take_at(b, 2.0, start), Ok(()));
        let later = start + Duration::from_millis(500);
        assert_eq!(table.take_at(a, 2.0, later), Ok(()));
        assert!(table.take_at(a, 2.0, later).is_err());
        // No limit: always in.
        for _ in 0..100 {
            assert_eq!(table.take_at(a, 0.0, later), Ok(()));
        }
        // Below one a second the burst is still one connection.
        let c = "10.0.0.3".parse().unwrap();
        assert_eq!(table.take_at(c, 0.05, start), Ok(()));
        assert_eq!(table.take_at(c, 0.05, start), Err(20_000));
    }

    #[test]
    fn quiet_addresses_are_forgotten_and_busy_ones_kept() {
        let table = NewConnections::default();
        let start = Instant::now();
        // 1,023 addresses open one connection each (1 a second, burst 10).
        for i in 0..1023u32 {
            let ip = std::net::IpAddr::from(std::net::Ipv4Addr::from(0x0a02_0000 + i));
            table.take_at(ip, 1.0, start).unwrap();
        }
        assert_eq!(table.remembered(), 1023);
        // A second later they have refilled. A busy address opens its ten:
        // its second take finds 1,024 buckets and sweeps the refilled ones.
        let busy: std::net::IpAddr = "10.1.0.1".parse().unwrap();
        let later = start + Duration::from_secs(1);
        for _ in 0..10 {
            table.take_at(busy, 1.0, later).unwrap();
        }
        assert_eq!(table.remembered(), 1);
        assert!(
            table.take_at(busy, 1.0, later).is_err(),
            "the busy address was forgotten"
        );
    }
}

/// WebSocket connections open per client address, against a limit
/// (`--max-connections-per-ip`). Why shared: upgrades take a slot on the
/// HTTP tasks, and each connection's task gives it back when it ends.
#[derive(Default)]
pub struct PerAddress {
    open: std::sync::Mutex<rustc_hash::FxHashMap<std::net::IpAddr, usize>>,
}

/// One connection's place in its address's count, given back on drop.
pub struct AddressSlot {
    counts: std::sync::Arc<PerAddress>,
    ip: std::net::IpAddr,
}

impl PerAddress {
    fn lock(&self) -> std::sync::MutexGuard<'_, rustc_hash::FxHashMap<std::net::IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for one more connection from `ip`, or `None` at `limit`
    /// (0: no limit).
    pub fn take(
        self: &std::sync::Arc<Self>,
        ip: std::net::IpAddr,
        limit: usize,
    ) -> Option<AddressSlot> {
        let mut open = self.lock();
        let count = open.entry(ip).or_insert(0);
        if limit > 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            counts: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open(&self, ip: std::net::IpAddr) -> usize {
        self.lock().get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn an_address_gets_its_limit_and_each_slot_back_when_dropped() {
        let per = std::sync::Arc::new(PerAddress::default());
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = per.take(a, 2);
        let second = per.take(a, 2);
        assert!(first.is_some() && second.is_some());
        assert!(per.take(a, 2).is_none(), "the third from one address");
        assert!(per.take(b, 2).is_some(), "another address is apart");
        drop(first);
        assert_eq!(per.open(a), 1);
        assert!(per.take(a, 2).is_some());
        assert!(per.take(a, 0).is_some(), "0 is no limit");
    }
}
