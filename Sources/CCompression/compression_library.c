// Snappy, Zstandard and zlib, each loaded on first use: the functions vlatune calls, forwarded
// (see vlatune_library_loader.h). Hidden (zstd.h asks for default visibility unless told), so
// that libraries loaded later (libarchive, libhdf5) still bind to the real ones.
#include "vlatune_library_loader.h"

#pragma GCC visibility push(hidden)
#define ZSTDLIB_VISIBLE
#include "CCompression.h"

#define VT_SNAPPY_FUNCTIONS(R, V)                                                        \
  R(snappy_status, snappy_uncompress,                                                    \
    (const char *compressed, size_t compressed_length, char *uncompressed,               \
     size_t *uncompressed_length),                                                       \
    (compressed, compressed_length, uncompressed, uncompressed_length))                  \
  R(snappy_status, snappy_uncompressed_length,                                           \
    (const char *compressed, size_t compressed_length, size_t *result),                  \
    (compressed, compressed_length, result))

#define VT_ZSTD_FUNCTIONS(R, V)                                                          \
  R(size_t, ZSTD_decompress,                                                             \
    (void *destination, size_t capacity, const void *source, size_t compressed_size),    \
    (destination, capacity, source, compressed_size))                                    \
  R(const char *, ZSTD_getErrorName, (size_t code), (code))                              \
  R(unsigned, ZSTD_isError, (size_t code), (code))                                      \
  R(unsigned long long, ZSTD_getFrameContentSize, (const void *source, size_t size),     \
    (source, size))                                                                      \
  R(size_t, ZSTD_findFrameCompressedSize, (const void *source, size_t size), (source, size))

#define VT_ZLIB_FUNCTIONS(R, V)                                                          \
  R(int, inflate, (z_streamp stream, int flush), (stream, flush))                        \
  R(int, inflateEnd, (z_streamp stream), (stream))                                       \
  R(int, inflateInit2_, (z_streamp stream, int window_bits, const char *version, int size), \
    (stream, window_bits, version, size))                                                \
  R(int, inflateReset, (z_streamp stream), (stream))

VT_LAZY_LIBRARY(snappy, "libsnappy", "libsnappy1v5", VT_SNAPPY_FUNCTIONS, "libsnappy.so.1",
                "libsnappy.1.dylib", "libsnappy.so", "libsnappy.dylib")
VT_LAZY_LIBRARY(zstd, "libzstd", "libzstd1", VT_ZSTD_FUNCTIONS, "libzstd.so.1", "libzstd.1.dylib",
                "libzstd.so", "libzstd.dylib")
VT_LAZY_LIBRARY(zlib, "zlib", "zlib1g", VT_ZLIB_FUNCTIONS, "libz.so.1", "libz.1.dylib", "libz.so",
                "libz.dylib")

#define VT_ENSURE_LOADED() vt_snappy_ensure()
VT_SNAPPY_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)
#undef VT_ENSURE_LOADED

#define VT_ENSURE_LOADED() vt_zstd_ensure()
VT_ZSTD_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)
#undef VT_ENSURE_LOADED

#define VT_ENSURE_LOADED() vt_zlib_ensure()
VT_ZLIB_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)
#undef VT_ENSURE_LOADED

#pragma GCC visibility pop

int vt_compression_probe(int library, char *error, size_t length) {
  const char *const *names[] = {vt_snappy_names, vt_zstd_names, vt_zlib_names};
  if (library < 0 || library > 2) return 0;
  return vt_library_try_open(names[library], error, length);
}
