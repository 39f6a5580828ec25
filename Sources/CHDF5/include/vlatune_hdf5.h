#ifndef VLATUNE_HDF5_H
#define VLATUNE_HDF5_H

#include <stddef.h>

/// A small read-only wrapper around libhdf5 for reading robomimic / LIBERO and ALOHA episode
/// files. This header does not include hdf5.h: Swift never sees HDF5's macro-based type ids.
///
/// Paths are relative to the file's root ("data/demo_0/actions"; a leading "/" is allowed;
/// "" or "/" is the root group). Error messages (NUL-terminated, at most errlen bytes) name
/// the path and HDF5's innermost reason.
///
/// Every function takes a process-wide lock around its HDF5 calls, so they may be called from
/// any thread (HDF5 itself is not always built thread-safe); calls are serialized. HDF5's
/// automatic error printing to stderr is turned off in every call.
///
/// Buffers returned through `char **` are malloc'd; free them with vh_free.

/// An open HDF5 file (an hid_t). Negative on failure.
typedef long long vh_id;

/// Turns off HDF5's automatic error printing (process-wide; every other function also does so
/// for its own thread, so calling this is optional).
void vh_silence(void);

/// Opens a file read-only. Returns a negative id on failure with a message in err (a missing
/// file, a file that is not HDF5, ...): -2 when the file reaches outside itself — an external
/// or user-defined link, a dataset with external raw storage, a virtual dataset drawing from
/// another file — naming the first such object, -1 otherwise. Close with vh_close.
vh_id vh_open(const char *path, char *err, size_t errlen);

/// Closes a file from vh_open. A negative id is ignored.
void vh_close(vh_id file);

/// Kind of the object at `path`: 0 missing (also a dangling link or a path through a
/// dataset), 1 group, 2 dataset, 3 other (a named datatype).
int vh_kind(vh_id file, const char *path);

/// Names of a group's direct children as one buffer of names, each followed by a NUL (caller
/// frees with vh_free; never NULL on success, even with no children); the number of names in
/// *count. Order: HDF5's name index, increasing (byte order: "demo_0", "demo_1", "demo_10",
/// "demo_2", ...). 0 on success, -1 on failure (missing path, not a group) with a message.
int vh_children(vh_id file, const char *path, char **names, size_t *count, char *err,
                size_t errlen);

/// Frees a buffer returned by this library (free()). NULL is allowed.
void vh_free(void *pointer);

/// Type classes reported by vh_shape.
enum {
  VH_CLASS_INTEGER = 1, /* any integer; also an enum over integers (h5py's numpy bool) */
  VH_CLASS_FLOAT = 2,
  VH_CLASS_STRING = 3, /* fixed or variable length */
  VH_CLASS_OTHER = 4   /* compound, opaque, array, vlen sequence, reference, ... */
};

/// A dataset's rank (0 for a scalar), dims (the first `rank` entries of dims; rank <= 8),
/// element class (VH_CLASS_*), element size in bytes (for an enum, its integer base's size;
/// 0 for a variable-length string) and whether the element is signed (integers: two's
/// complement; floats: 1; others: 0). 0 on success, -1 on failure with a message.
int vh_shape(vh_id file, const char *path, int *rank, unsigned long long dims[8],
             int *type_class, size_t *element_size, int *is_signed, char *err, size_t errlen);

/// Reads a whole numeric dataset (integer or float of any size and byte order, or an enum
/// over integers such as h5py's bool, read as its integer values) converted to double, in
/// row-major order. `count` is the room in `out` in values: at least product(dims).
/// 0 on success, -1 on failure (missing path, not numeric, count too small) with a message.
int vh_read_doubles(vh_id file, const char *path, double *out, size_t count, char *err,
                    size_t errlen);

/// Reads rows [start, start+rows) along dimension 0 of a dataset of 1-byte integers (uint8
/// image arrays N×H×W×C, padded JPEG buffers N×L) as raw bytes into `out` (row-major; room
/// for `capacity` bytes: at least rows × product(dims[1...])). A hyperslab read: only those
/// rows are read (and, for a chunked dataset, decompressed). 0 on success, -1 on failure
/// (missing path, not 1-byte integers, rank 0, rows out of range, capacity too small).
int vh_read_u8_rows(vh_id file, const char *path, unsigned long long start,
                    unsigned long long rows, unsigned char *out, size_t capacity, char *err,
                    size_t errlen);

/// Reads a dataset of strings (fixed-length — NUL- or space-padded — or variable-length,
/// any rank, row-major) into one buffer of strings, each followed by a NUL (free with
/// vh_free; never NULL on success); the number of strings in *count. A variable-length NULL
/// string reads as "". 0 on success, -1 on failure with a message.
int vh_read_strings(vh_id file, const char *path, char **buffer, size_t *count, char *err,
                    size_t errlen);

/// Reads a string attribute (fixed or variable length; a scalar or a one-element array) of
/// the object at `path` ("" or "/" for the root) into a malloc'd NUL-terminated string
/// (free with vh_free). Returns 0 found, 1 absent (the object exists but has no such
/// attribute; *value is left unchanged), -1 error (missing object, not a string, more than
/// one element, ...) with a message.
int vh_attribute_string(vh_id file, const char *path, const char *name, char **value,
                        char *err, size_t errlen);

/// Reads a numeric attribute (integer, float, or an enum over integers such as h5py's numpy
/// bool: False 0, True 1; a scalar or a one-element array) as a double. Returns 0 found,
/// 1 absent, -1 error, as vh_attribute_string.
int vh_attribute_double(vh_id file, const char *path, const char *name, double *value,
                        char *err, size_t errlen);

#endif
