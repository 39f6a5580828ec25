#ifndef VLATUNE_LIBRARY_LOADER_H
#define VLATUNE_LIBRARY_LOADER_H

#include <pthread.h>
#include <stddef.h>

/// Loading a system library on first use (the CArchive, CCrypto and CCompression targets).
///
/// Those targets define, with hidden visibility, the functions of libarchive, libcrypto,
/// Snappy, Zstandard and zlib that vlatune calls; each forwards to the real function, looked up
/// with dlopen/dlsym the first time one of its library's functions is called. Linked normally,
/// the libraries and what they bring (libxml2, ICU, nettle, lzma, lz4, bz2, acl) were loaded
/// and relocated by every command: ~3.4 ms of the start of `vlatune job status`, which uses
/// none of them.
///
/// A library that cannot be loaded ends the process with exit status 69 (EX_UNAVAILABLE) and a
/// message naming the library, the files tried and the package that provides it: the same
/// install problem made the binary fail before main (status 127) when it was linked normally.

/// Opens the first of `names` (a NULL-terminated list of sonames) that dlopen can load.
/// Never returns NULL: exits 69 with a message naming `label` and `package` instead.
void *vt_library_open(const char *label, const char *const *names, const char *package);

/// Whether one of `names` loads (for `vlatune doctor`): 1, or 0 with dlerror's message in `error`.
int vt_library_try_open(const char *const *names, char *error, size_t length);

/// The address of `symbol` in `handle`; exits 69 naming `label` when the library lacks it.
void *vt_library_symbol(void *handle, const char *label, const char *symbol);

/// The path of the file `handle` was loaded from, for diagnostics ("" when unknown).
const char *vt_library_path(void *handle);

// The forwarder tables. A library's .c file lists its functions once as
// `R(return type, name, (parameters), (arguments))` and `V(name, (parameters), (arguments))`
// (void functions) and expands the list with these to declare the pointers, resolve them and
// define the forwarders.
#define VT_POINTER_R(ret, name, params, args) static ret(*vt_p_##name) params;
#define VT_POINTER_V(name, params, args) static void(*vt_p_##name) params;
#define VT_RESOLVE_R(ret, name, params, args) \
  *(void **)(&vt_p_##name) = vt_library_symbol(handle, label, #name);
#define VT_RESOLVE_V(name, params, args) \
  *(void **)(&vt_p_##name) = vt_library_symbol(handle, label, #name);
#define VT_FORWARD_R(ret, name, params, args) \
  ret name params {                           \
    VT_ENSURE_LOADED();                       \
    return vt_p_##name args;                  \
  }
#define VT_FORWARD_V(name, params, args) \
  void name params {                     \
    VT_ENSURE_LOADED();                  \
    vt_p_##name args;                    \
  }

/// Defines a library loaded on first use from its function list and its file names:
/// `vt_<lib>_names` (NULL-terminated), a pointer per function, the loader (run once, exits 69
/// when the library or a function is missing) and `vt_<lib>_ensure()`. The file then defines
/// `VT_ENSURE_LOADED()` as `vt_<lib>_ensure()` and expands its list with the forwarders.
#define VT_LAZY_LIBRARY(lib, label_text, package, FUNCTIONS, ...)       \
  static const char *const vt_##lib##_names[] = {__VA_ARGS__, NULL};    \
  FUNCTIONS(VT_POINTER_R, VT_POINTER_V)                                 \
  static pthread_once_t vt_##lib##_once = PTHREAD_ONCE_INIT;            \
  static void vt_##lib##_load(void) {                                   \
    const char *label = label_text;                                     \
    void *handle = vt_library_open(label, vt_##lib##_names, package);   \
    FUNCTIONS(VT_RESOLVE_R, VT_RESOLVE_V)                               \
  }                                                                     \
  static inline void vt_##lib##_ensure(void) { pthread_once(&vt_##lib##_once, vt_##lib##_load); }

#endif
