//! Logging yields the processor to answering.
//!
//! The DNS filter never waits for the activity log (its queue drops and counts what does
//! not fit), but both share the machine's cores: when queries arrive faster than the
//! machine can both answer and store them, an equal share for the writer would slow every
//! answer to store events that are partly dropped anyway. So the thread that runs the
//! writer's SQLite connection runs at a lower CPU priority ([`WRITER_NICE`]). With spare
//! processor time, which a school's load leaves almost always, this changes nothing: the
//! writer still stores every event (the 60-second run at half the peak rate in
//! `docs/benchmarks.md` drops none). Under overload, answers keep their pace and more
//! events are dropped, each counted on the health page and in `/healthz`.
//!
//! SQLite connections run on a thread of their own, started by sqlx. The writer's threads
//! are given a name starting with [`WRITER_THREAD`], and once a connection is open its
//! thread is found by that name and given a lower priority (per-thread priorities are a Linux
//! feature; elsewhere the writer keeps the process's priority).

/// The writer's SQLite thread name prefix (thread names are at most 15 bytes).
pub(crate) const WRITER_THREAD: &str = "activity-write";

/// How much nicer than the rest of the process the writer's thread is: a lower priority
/// than answering under contention, without starving it (a thread at nice 5 gets about a
/// third of the share of a busy core that a thread at nice 0 gets).
pub(crate) const WRITER_NICE: i32 = 5;

/// Lower the priority of every thread of this process whose name starts with
/// [`WRITER_THREAD`] to [`WRITER_NICE`] above the calling thread's (at most 19). Failures
/// are logged, never fatal (a lower priority is an optimisation, not a requirement).
#[cfg(target_os = "linux")]
pub(crate) fn lower_writer_priority() {
    let base = rustix::process::getpriority_process(None).unwrap_or(0);
    let nice = (base + WRITER_NICE).min(19);
    let tasks = match std::fs::read_dir("/proc/self/task") {
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::debug!(
                "activity log: cannot list threads to lower the writer's priority: {e}"
            );
            return;
        }
    };
    for task in tasks.flatten() {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if !comm.starts_with(WRITER_THREAD) {
            continue;
        }
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        if let Err(e) = rustix::process::setpriority_process(Some(tid), nice) {
            tracing::debug!("activity log: cannot lower the writer's priority: {e}");
        }
    }
}

/// Elsewhere threads keep the process's priority.
#[cfg(not(target_os = "linux"))]
pub(crate) fn lower_writer_priority() {}
