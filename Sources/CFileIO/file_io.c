#define _GNU_SOURCE
#include "vlatune_file_io.h"

#include <errno.h>
#include <fcntl.h>
#if defined(__linux__)
#include <sys/vfs.h>
#endif

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
  // Local disk file systems only: on NFS and other network file systems an O_DIRECT write is a
  // synchronous round trip to the server, far slower than letting the page cache batch them.
  struct statfs info;
  if (statfs(path, &info) != 0) return -1;
  switch ((unsigned long)info.f_type) {
    case 0xEF53UL:      // ext2/3/4
    case 0x58465342UL:  // XFS
    case 0x9123683EUL:  // Btrfs
      break;
    default:
      errno = ENOTSUP;
      return -1;
  }
  return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
#else
  (void)path;
  errno = ENOTSUP;
  return -1;
#endif
}
