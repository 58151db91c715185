//! What the server costs, read from Linux `/proc`: CPU time (whole process and per thread)
//! and resident memory, of one process or of several added up.
//!
//! Reading `/proc` needs no cooperation from pushd, so the same numbers come out whether the
//! coordinator started the server or was handed a pid.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

/// One look at a process.
#[derive(Debug, Clone)]
pub struct ProcessSample {
    pub taken_at: Instant,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kib: u64,
    /// CPU ticks per thread name; threads sharing a name (tokio workers) are added up.
    pub threads: BTreeMap<String, u64>,
}

impl ProcessSample {
    pub fn take(pid: u32) -> anyhow::Result<Self> {
        let root = format!("/proc/{pid}");
        let taken_at = Instant::now();
        let stat = std::fs::read_to_string(format!("{root}/stat"))
            .with_context(|| format!("reading {root}/stat: is pid {pid} running?"))?;
        let status = std::fs::read_to_string(format!("{root}/status"))
            .with_context(|| format!("reading {root}/status"))?;
        Ok(ProcessSample {
            taken_at,
            cpu_ticks: cpu_ticks_of(&stat)?,
            rss_kib: rss_kib_of(&status)?,
            threads: threads_of(Path::new(&format!("{root}/task"))),
        })
    }

    /// One look at several processes that together are the server under test (autopush is
    /// autoconnect, autoendpoint and redis-server), added up: a comparison has to charge
    /// every process a message passes through. With more than one, each thread name is
    /// prefixed with its process's name, so the breakdown still says who spent it.
    pub fn take_all(pids: &[u32]) -> anyhow::Result<Self> {
        let taken_at = Instant::now();
        let mut total = ProcessSample {
            taken_at,
            cpu_ticks: 0,
            rss_kib: 0,
            threads: BTreeMap::new(),
        };
        for &pid in pids {
            let one = ProcessSample::take(pid)?;
            total.cpu_ticks += one.cpu_ticks;
            total.rss_kib += one.rss_kib;
            let process = match pids.len() {
                1 => String::new(),
                _ => format!("{}/", process_name(pid)),
            };
            for (thread, ticks) in one.threads {
                *total
                    .threads
                    .entry(format!("{process}{thread}"))
                    .or_insert(0) += ticks;
            }
        }
        Ok(total)
    }
}

/// The process's command name (`comm`), or its pid when that cannot be read.
fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_or_else(|_| pid.to_string(), |name| name.trim().to_owned())
}

/// CPU used between two samples of the same process.
#[derive(Debug, Clone)]
pub struct CpuUsage {
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    /// `(thread name, CPU seconds)`, busiest first.
    pub threads: Vec<(String, f64)>,
}

impl CpuUsage {
    pub fn between(before: &ProcessSample, after: &ProcessSample) -> Self {
        let tick = 1.0 / clock_ticks_per_second();
        let mut threads: Vec<(String, f64)> = after
            .threads
            .iter()
            .map(|(name, ticks)| {
                let earlier = before.threads.get(name).copied().unwrap_or(0);
                (name.clone(), ticks.saturating_sub(earlier) as f64 * tick)
            })
            .filter(|(_, seconds)| *seconds > 0.0)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        CpuUsage {
            cpu_seconds: after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 * tick,
            wall_seconds: after
                .taken_at
                .saturating_duration_since(before.taken_at)
                .as_secs_f64(),
            threads,
        }
    }

    /// Average cores busy over the window.
    pub fn cores(&self) -> f64 {
        if self.wall_seconds <= 0.0 {
            return 0.0;
        }
        self.cpu_seconds / self.wall_seconds
    }
}

/// CPU seconds used so far by all of `pids` together; processes that are gone count 0.
pub fn total_cpu_seconds(pids: &[u32]) -> f64 {
    let ticks: u64 = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| cpu_ticks_of(&stat).ok())
        .sum();
    ticks as f64 / clock_ticks_per_second()
}

/// Clock ticks per second (`getconf CLK_TCK`). Asking `getconf` once avoids `unsafe` sysconf;
/// 100 is what every Linux architecture we run on uses.
pub fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// utime + stime from a `/proc/<pid>/stat` line. The command name sits in parentheses and may
/// itself hold spaces or parentheses, so fields are counted from the last `)`.
fn cpu_ticks_of(stat: &str) -> anyhow::Result<u64> {
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        bail!("unexpected /proc stat format: {stat:?}");
    };
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no numeric field {} in /proc stat", index + 3))
    };
    Ok(field(11)? + field(12)?)
}

fn rss_kib_of(status: &str) -> anyhow::Result<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line in /proc status")
}

/// Per-thread CPU; a thread that exits between listing and reading is skipped.
fn threads_of(task_dir: &Path) -> BTreeMap<String, u64> {
    let mut threads = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(task_dir) else {
        return threads;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let ticks = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|stat| cpu_ticks_of(&stat).ok());
        if let Some(ticks) = ticks {
            *threads.entry(name.trim().to_owned()).or_insert(0) += ticks;
        }
    }
    threads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names_and_status() {
        let stat = "42 (tokio (rt) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0";
        assert_eq!(cpu_ticks_of(stat).expect("ticks"), 280);
        assert!(cpu_ticks_of("garbage").is_err());
        let status = "Name:\tpushd\nVmRSS:\t   12345 kB\nThreads:\t9\n";
        assert_eq!(rss_kib_of(status).expect("rss"), 12_345);
    }

    #[test]
    fn samples_this_process() {
        let sample = ProcessSample::take(std::process::id()).expect("sample self");
        assert!(sample.rss_kib > 0);
        assert!(!sample.threads.is_empty());
    }

    #[test]
    fn several_processes_add_up_and_name_their_threads() {
        let me = std::process::id();
        let one = ProcessSample::take_all(&[me]).expect("one");
        assert!(one.threads.keys().all(|name| !name.contains('/')));
        let twice = ProcessSample::take_all(&[me, me]).expect("twice");
        assert!(twice.rss_kib >= one.rss_kib * 3 / 2, "RSS is summed");
        let prefix = format!("{}/", process_name(me));
        assert!(twice.threads.keys().all(|name| name.starts_with(&prefix)));
        assert!(ProcessSample::take_all(&[u32::MAX]).is_err());
    }
}
