#ifndef VLATUNE_SPAWN_H
#define VLATUNE_SPAWN_H

#include <sys/types.h>

/// Options for vlatune_spawn.
typedef struct {
  /// Descriptors for the child's stdin, stdout and stderr (-1: /dev/null).
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  /// A descriptor passed to the child as fd 3 (-1: none). Used to hand a held flock to the watcher.
  int inherit_fd;
  /// 1: the child calls setsid() (a new session, detached from the terminal).
  int new_session;
  /// 1: the child calls setpgid(0, 0) (its own process group).
  int new_process_group;
  /// Signal the child receives when the spawning thread's process dies (0: none).
  int parent_death_signal;
} vlatune_spawn_options;

/// Forks and execs `path` with an explicit argv and envp (no shell, no PATH search), every
/// signal reset to its default disposition and unblocked, and every descriptor above 2 closed
/// (except inherit_fd, moved to 3).
///
/// Returns the child's pid, or -1 with *error_out set to the errno of the failed step (exec
/// failures are reported through a close-on-exec pipe, so a missing executable is an error here,
/// not an exit status later).
pid_t vlatune_spawn(const char *path, char *const argv[], char *const envp[],
                    const vlatune_spawn_options *options, int *error_out);

/// Reads field 22 (start time in clock ticks since boot) of /proc/<pid>/stat; 0 if unavailable.
unsigned long long vlatune_process_start_time(pid_t pid);

/// Reads field 3 (state letter) of /proc/<pid>/stat; 0 if the process does not exist.
char vlatune_process_state(pid_t pid);

/// pipe2(fds, O_CLOEXEC), which Glibc's Swift module does not export.
int vlatune_pipe_cloexec(int fds[2]);

#endif
