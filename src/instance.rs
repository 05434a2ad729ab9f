//! Which process this is, among the instances that share a database: leases (provisioning jobs,
//! running imports) name their holder this way, and a holder that was a process on this host and
//! is gone can be taken over at once instead of after its lease runs out.

/// This process's name for work that belongs to the process as a whole (a running import).
pub fn this() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(new_name)
}

/// A name for this process among the instances sharing the database: host name and process id
/// for people reading the lease table, and a random part so a restarted process with a reused pid
/// is a new holder.
pub fn new_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "provisio".into());
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &random[random.len() - 8..])
}

/// Whether `holder` was a process on this host that is gone: its lease need not run out before
/// this process takes the job (a restart after a crash resumes at once). A reused pid only makes
/// this answer no, and the lease then expires as usual.
pub fn stopped_here(holder: &str, me: &str) -> bool {
    let mut theirs = holder.split('/');
    let mut mine = me.split('/');
    let (Some(host), Some(pid)) = (theirs.next(), theirs.next()) else {
        return false;
    };
    host == mine.next().unwrap_or_default()
        && pid != mine.next().unwrap_or_default()
        && pid.parse::<u32>().is_ok()
        && !std::path::Path::new("/proc").join(pid).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_on_this_host_gives_up_its_lease_early() {
        let me = format!("here/{}/abcd1234", std::process::id());
        // pid 0 is never a process directory in /proc.
        assert!(stopped_here("here/0/ffff0000", &me));
        assert!(!stopped_here("there/0/ffff0000", &me), "another host");
        assert!(!stopped_here(&me, &me), "this process");
        assert!(!stopped_here("here/1/ffff0000", &me), "pid 1 is alive");
        assert!(!stopped_here("here", &me));
    }
}
