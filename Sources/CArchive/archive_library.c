// libarchive, loaded on first use: the functions vlatune calls, forwarded (see
// vlatune_library_loader.h). Hidden, so that libraries loaded later still bind to libarchive.
#include "vlatune_library_loader.h"

#pragma GCC visibility push(hidden)
#include "CArchive.h"

#define VT_ARCHIVE_FUNCTIONS(R, V)                                                            \
  R(struct archive_entry *, archive_entry_clear, (struct archive_entry * e), (e))             \
  R(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))                     \
  V(archive_entry_free, (struct archive_entry * e), (e))                                      \
  R(const char *, archive_entry_hardlink, (struct archive_entry * e), (e))                    \
  R(struct archive_entry *, archive_entry_new, (void), ())                                    \
  R(const char *, archive_entry_pathname, (struct archive_entry * e), (e))                    \
  V(archive_entry_set_filetype, (struct archive_entry * e, unsigned int type), (e, type))     \
  V(archive_entry_set_gid, (struct archive_entry * e, la_int64_t gid), (e, gid))              \
  V(archive_entry_set_mtime, (struct archive_entry * e, time_t seconds, long nanoseconds),    \
    (e, seconds, nanoseconds))                                                                \
  V(archive_entry_set_pathname, (struct archive_entry * e, const char *path), (e, path))      \
  V(archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T mode), (e, mode))          \
  V(archive_entry_set_size, (struct archive_entry * e, la_int64_t size), (e, size))           \
  V(archive_entry_set_uid, (struct archive_entry * e, la_int64_t uid), (e, uid))              \
  R(la_int64_t, archive_entry_size, (struct archive_entry * e), (e))                          \
  R(int, archive_entry_size_is_set, (struct archive_entry * e), (e))                          \
  R(int, archive_errno, (struct archive * a), (a))                                            \
  R(const char *, archive_error_string, (struct archive * a), (a))                            \
  R(la_ssize_t, archive_read_data, (struct archive * a, void *buffer, size_t length),         \
    (a, buffer, length))                                                                      \
  R(int, archive_read_data_skip, (struct archive * a), (a))                                   \
  R(int, archive_read_free, (struct archive * a), (a))                                        \
  R(struct archive *, archive_read_new, (void), ())                                           \
  R(int, archive_read_next_header, (struct archive * a, struct archive_entry * *entry),       \
    (a, entry))                                                                               \
  R(int, archive_read_open_filename,                                                          \
    (struct archive * a, const char *filename, size_t block_size), (a, filename, block_size)) \
  R(int, archive_read_support_filter_bzip2, (struct archive * a), (a))                        \
  R(int, archive_read_support_filter_gzip, (struct archive * a), (a))                         \
  R(int, archive_read_support_filter_xz, (struct archive * a), (a))                           \
  R(int, archive_read_support_filter_zstd, (struct archive * a), (a))                         \
  R(int, archive_read_support_format_tar, (struct archive * a), (a))                          \
  R(int, archive_read_support_format_zip, (struct archive * a), (a))                          \
  R(const char *, archive_version_details, (void), ())                                        \
  R(int, archive_write_add_filter_none, (struct archive * a), (a))                            \
  R(int, archive_write_close, (struct archive * a), (a))                                      \
  R(la_ssize_t, archive_write_data, (struct archive * a, const void *buffer, size_t length),  \
    (a, buffer, length))                                                                      \
  R(int, archive_write_free, (struct archive * a), (a))                                       \
  R(int, archive_write_header, (struct archive * a, struct archive_entry * entry), (a, entry)) \
  R(struct archive *, archive_write_new, (void), ())                                          \
  R(int, archive_write_open2,                                                                 \
    (struct archive * a, void *client, archive_open_callback *open,                           \
     archive_write_callback *write, archive_close_callback *close,                            \
     archive_free_callback *free),                                                            \
    (a, client, open, write, close, free))                                                    \
  R(int, archive_write_set_bytes_in_last_block, (struct archive * a, int bytes), (a, bytes))  \
  R(int, archive_write_set_bytes_per_block, (struct archive * a, int bytes), (a, bytes))      \
  R(int, archive_write_set_format_pax_restricted, (struct archive * a), (a))

VT_LAZY_LIBRARY(archive, "libarchive", "libarchive13", VT_ARCHIVE_FUNCTIONS, "libarchive.so.13",
                "libarchive.13.dylib", "libarchive.so", "libarchive.dylib")

#define VT_ENSURE_LOADED() vt_archive_ensure()

VT_ARCHIVE_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)

#pragma GCC visibility pop

int vt_archive_probe(char *error, size_t length) {
  return vt_library_try_open(vt_archive_names, error, length);
}
