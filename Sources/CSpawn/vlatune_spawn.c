#define _GNU_SOURCE
#include "vlatune_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_from(int lowest) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = lowest; fd < max; fd++) close(fd);
}

typedef struct {
  int kind;  // 0: pid of the detached grandchild, 1: errno of a failed step before exec
  int value;
} report_message;

static void send_report(int report_fd, int kind, int value) {
  report_message message = {kind, value};
  ssize_t ignored = write(report_fd, &message, sizeof message);
  (void)ignored;
}

static void child_fail(int report_fd, int error) {
  send_report(report_fd, 1, error);
  _exit(127);
}

// Runs in the child: prepares descriptors, session, signals, then execs. Never returns.
static void exec_child(const char *path, char *const argv[], char *const envp[],
                       const vlatune_spawn_options *options, int report_write, pid_t parent) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  if (options->new_session && setsid() < 0) child_fail(report_write, errno);
  if (!options->new_session && options->new_process_group && setpgid(0, 0) != 0)
    child_fail(report_write, errno);
  if (options->parent_death_signal) {
    if (prctl(PR_SET_PDEATHSIG, options->parent_death_signal) != 0)
      child_fail(report_write, errno);
    if (getppid() != parent) _exit(127);  // The parent died before prctl took effect.
  }
  // Move every descriptor we need above 9 first, so the dup2 calls below cannot clobber one
  // another whatever numbers the caller passed.
  int report_fd = fcntl(report_write, F_DUPFD_CLOEXEC, 10);
  if (report_fd < 0) child_fail(report_write, errno);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) child_fail(report_fd, errno);
  int wanted[3] = {options->stdin_fd, options->stdout_fd, options->stderr_fd};
  int sources[3];
  for (int target = 0; target < 3; target++) {
    int source = wanted[target] >= 0 ? wanted[target] : null_fd;
    sources[target] = fcntl(source, F_DUPFD_CLOEXEC, 10);
    if (sources[target] < 0) child_fail(report_fd, errno);
  }
  int keep = -1;
  if (options->inherit_fd >= 0) {
    keep = fcntl(options->inherit_fd, F_DUPFD_CLOEXEC, 10);
    if (keep < 0) child_fail(report_fd, errno);
  }
  for (int target = 0; target < 3; target++) {
    if (dup2(sources[target], target) < 0) child_fail(report_fd, errno);
  }
  int next = 3;
  if (keep >= 0) {
    if (dup2(keep, 3) < 0) child_fail(report_fd, errno);  // dup2 clears close-on-exec
    next = 4;
  }
  if (dup2(report_fd, next) < 0) child_fail(report_fd, errno);
  report_fd = next;
  fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  close_from(next + 1);
  execve(path, argv, envp);
  child_fail(report_fd, errno);
}

pid_t vlatune_spawn(const char *path, char *const argv[], char *const envp[],
                    const vlatune_spawn_options *options, int *error_out) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error_out = errno;
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error_out = errno;
    close(report[0]);
    close(report[1]);
    return -1;
  }
  if (pid == 0) {
    close(report[0]);
    if (options->new_session) {
      // Detach completely: an intermediate child forks the real one and exits, so the new
      // session's leader is reparented to init and never becomes a zombie of the caller.
      pid_t grandchild = fork();
      if (grandchild < 0) child_fail(report[1], errno);
      if (grandchild > 0) {
        send_report(report[1], 0, (int)grandchild);
        _exit(0);
      }
      exec_child(path, argv, envp, options, report[1], getppid());
    }
    exec_child(path, argv, envp, options, report[1], parent);
  }
  close(report[1]);
  pid_t result = pid;
  int failure = 0;
  report_message message;
  for (;;) {
    ssize_t got = read(report[0], &message, sizeof message);
    if (got < 0 && errno == EINTR) continue;
    if (got != (ssize_t)sizeof message) break;
    if (message.kind == 0) result = (pid_t)message.value;
    if (message.kind == 1) failure = message.value;
  }
  close(report[0]);
  if (options->new_session || failure) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (failure) {
    *error_out = failure;
    return -1;
  }
  *error_out = 0;
  return result;
}

// Reads /proc/<pid>/stat into buffer and returns a pointer to field 3 (the state), skipping the
// command name (field 2), which may contain spaces and parentheses; NULL if unavailable.
static char *stat_fields(pid_t pid, char *buffer, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *file = fopen(path, "re");
  if (!file) return NULL;
  size_t length = fread(buffer, 1, size - 1, file);
  fclose(file);
  buffer[length] = 0;
  char *cursor = strrchr(buffer, ')');
  if (!cursor || cursor[1] == 0 || cursor[2] == 0) return NULL;
  return cursor + 2;
}

unsigned long long vlatune_process_start_time(pid_t pid) {
  char buffer[1024];
  char *cursor = stat_fields(pid, buffer, sizeof buffer);
  for (int field = 3; field < 22 && cursor; field++) {
    cursor = strchr(cursor, ' ');
    if (cursor) cursor++;
  }
  if (!cursor) return 0;
  unsigned long long start = 0;
  sscanf(cursor, "%llu", &start);
  return start;
}

char vlatune_process_state(pid_t pid) {
  char buffer[1024];
  char *cursor = stat_fields(pid, buffer, sizeof buffer);
  return cursor ? cursor[0] : 0;
}

int vlatune_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
