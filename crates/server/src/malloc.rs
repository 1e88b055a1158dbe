//! glibc's malloc settings for a server on few cores.
//!
//! By default glibc gives each thread that allocates under contention an arena of its own (up
//! to eight per core) and raises its threshold for mapping big blocks on their own each time
//! one is freed, so buffers of a month-end report end up carved out of the heap. Freed memory
//! then stays with the process: a server that has served a burst of searches, checkouts and a
//! month end stays near its peak. Two arenas and a fixed threshold of 128 KiB (blocks that big
//! are mapped on their own and handed back when freed) keep one process serving browse,
//! checkout and month-end under 150 MB (BENCHMARKS.md, "The process's memory").
//!
//! glibc reads these settings from the environment once, before the first allocation, so a
//! process started without them starts itself again with them: the same program, pid,
//! arguments and environment otherwise. A setting the operator gave is kept as given;
//! `PEKEN_MALLOC_TUNING=0` turns this off.

/// The settings and their values.
pub const SETTINGS: [(&str, &str); 2] = [
    ("MALLOC_ARENA_MAX", "2"),
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
];

/// Set on the restarted process, so it does not restart again.
const RESTARTED: &str = "PEKEN_MALLOC_TUNING";

/// The settings missing from an environment read by `var`, or none when tuning is off or done.
pub fn missing(var: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, &'static str)> {
    if var(RESTARTED).is_some() {
        return Vec::new();
    }
    SETTINGS
        .into_iter()
        .filter(|(name, _)| var(name).is_none())
        .collect()
}

/// Restarts the process with the settings it lacks; returns only when nothing is missing or
/// the restart failed (then the server runs with glibc's defaults, and says so).
pub fn apply() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let missing = missing(|name| std::env::var(name).ok());
        if missing.is_empty() {
            return;
        }
        let mut args = std::env::args_os();
        let program = args.next().unwrap_or_else(|| "peken".into());
        let error = std::process::Command::new("/proc/self/exe")
            .arg0(program)
            .args(args)
            .envs(missing)
            .env(RESTARTED, "1")
            .exec();
        eprintln!(
            "peken: running with glibc's malloc defaults (could not restart with {RESTARTED}: {error})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_operator_did_not_set_is_added_and_only_once() {
        let none = |_: &str| None;
        assert_eq!(missing(none), SETTINGS.to_vec());
        let arenas = |name: &str| (name == "MALLOC_ARENA_MAX").then(|| "4".to_owned());
        assert_eq!(missing(arenas), vec![("MALLOC_MMAP_THRESHOLD_", "131072")]);
        let off = |name: &str| (name == RESTARTED).then(|| "0".to_owned());
        assert!(missing(off).is_empty());
    }
}
