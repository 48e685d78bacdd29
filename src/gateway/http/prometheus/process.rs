//! The `process_*` metrics every Prometheus client library exports (the
//! names and units of the Go and Python clients), read from Linux's
//! `/proc/self`: resident and virtual memory, open and allowed file
//! descriptors, CPU time and start time. Elsewhere they are left out.

/// The kernel's clock ticks per second in `/proc` (USER_HZ, 100 on every
/// Linux architecture tickwire builds for).
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc/self/stat` says: CPU ticks (user + system), start time in
/// ticks after boot, virtual memory in bytes, resident pages.
#[derive(Debug, PartialEq)]
pub struct Stat {
    pub cpu_ticks: u64,
    pub start_ticks: u64,
    pub virtual_bytes: u64,
    pub resident_pages: u64,
}

/// Parses `/proc/self/stat` (the command name, in parentheses, may hold
/// spaces and parentheses: fields are counted after its last `)`).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0: utime is field 14.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        cpu_ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
        virtual_bytes: field(23)?,
        resident_pages: field(24)?,
    })
}

/// The boot time (`btime`) from `/proc/stat`, in seconds since the epoch.
pub fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of open files from `/proc/self/limits`.
pub fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Appends the process metrics that can be read here.
pub fn render(out: &mut String) {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let mut samples: Vec<(&str, &str, &str, f64)> = Vec::new();
    if let Some(stat) = read("/proc/self/stat").and_then(|t| parse_stat(&t)) {
        let page_size = 4096.0;
        samples.extend([
            (
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                stat.cpu_ticks as f64 / TICKS_PER_SECOND,
            ),
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                stat.resident_pages as f64 * page_size,
            ),
            (
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
                stat.virtual_bytes as f64,
            ),
        ]);
        if let Some(boot) = read("/proc/stat").and_then(|t| parse_boot_time(&t)) {
            samples.push((
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                boot as f64 + stat.start_ticks as f64 / TICKS_PER_SECOND,
            ));
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let open = fds.count() as f64;
        samples.push((
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            open,
        ));
    }
    if let Some(max) = read("/proc/self/limits").and_then(|t| parse_max_fds(&t)) {
        samples.push((
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max as f64,
        ));
    }
    for (name, kind, help, value) in samples {
        super::metric(out, name, kind, help, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_as_linux_writes_them() {
        let stat = "4242 (tick wire) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 123456 987654321 2560 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(Stat {
                cpu_ticks: 300,
                start_ticks: 123456,
                virtual_bytes: 987654321,
                resident_pages: 2560,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1764300000\nprocesses 5\n"),
            Some(1764300000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
    }

    #[test]
    fn this_process_is_described() {
        let mut out = String::new();
        render(&mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(out.contains(&format!("\n{name} ")), "{name} in {out}");
        }
    }
}
