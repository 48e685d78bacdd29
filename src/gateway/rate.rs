//! A token bucket, for request and order rate limits.

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
        RateLimit {
            tokens: burst,
            rate,
            burst,
            updated: Instant::now(),
        }
    }

    /// Takes a token, or says how many milliseconds until one is there.
    pub fn take(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.updated).as_secs_f64() * self.rate)
            .min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.rate * 1000.0).ceil().max(1.0) as u64)
        }
    }
}
