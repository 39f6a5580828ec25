#define _GNU_SOURCE
#include "vlatune_file_io.h"

#include <errno.h>
#include <fcntl.h>

int vt_start_writeback(int fd, long long offset, long long length) {
#if defined(__linux__)
  return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : errno;
#else
  (void)fd;
  (void)offset;
  (void)length;
  return 0;
#endif
}

int vt_open_direct(const char *path) {
#if defined(__linux__)
  return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
#else
  (void)path;
  errno = ENOTSUP;
  return -1;
#endif
}
