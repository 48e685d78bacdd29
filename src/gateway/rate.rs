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
