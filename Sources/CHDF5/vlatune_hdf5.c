#include "vlatune_hdf5.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HDF5 is not necessarily built thread-safe (Debian's is, Homebrew's is not): one lock. */
static pthread_mutex_t vh_mutex = PTHREAD_MUTEX_INITIALIZER;

static void lock(void) {
  pthread_mutex_lock(&vh_mutex);
  /* Per thread in a thread-safe build, global otherwise: cheap, so done on every call. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void unlock(void) { pthread_mutex_unlock(&vh_mutex); }

static pthread_once_t silence_once = PTHREAD_ONCE_INIT;
static void silence(void) {
  lock();
  unlock();
}

void vh_silence(void) { pthread_once(&silence_once, silence); }

void vh_free(void *pointer) { free(pointer); }

/* ---- errors ---- */

struct reason {
  char text[384];
  int found, plugin;
};

/* Keeps the innermost description, passing over the plugin search's (a missing filter such
   as h5py's lzf reports "can't open directory: .../plugins" innermost and "required filter
   'lzf' is not registered" just above). */
static herr_t reason_walk(unsigned n, const H5E_error2_t *e, void *data) {
  struct reason *r = data;
  (void)n;
  if (r->found && !r->plugin) return 0;
  int plugin = e->maj_num == H5E_PLUGIN;
  if (r->found && plugin) return 0;
  const char *desc = e->desc;
  char minor[160];
  if (!desc || !desc[0]) {
    minor[0] = 0;
    if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) > 0) desc = minor;
  }
  if (desc && desc[0]) {
    snprintf(r->text, sizeof r->text, "%s", desc);
    r->found = 1;
    r->plugin = plugin;
  }
  return 0;
}

/* The innermost description on the current thread's error stack (which is cleared). */
static void hdf5_reason(char *buffer, size_t length) {
  struct reason r = {.found = 0, .plugin = 0};
  r.text[0] = 0;
  hid_t stack = H5Eget_current_stack();
  if (stack >= 0) {
    H5Ewalk2(stack, H5E_WALK_UPWARD, reason_walk, &r);
    H5Eclose_stack(stack);
  }
  snprintf(buffer, length, "%s", r.text);
}

static int vfail(int with_reason, char *err, size_t errlen, const char *format, va_list ap) {
  char why[384];
  why[0] = 0;
  if (with_reason) hdf5_reason(why, sizeof why);
  if (err && errlen > 0) {
    char message[768];
    vsnprintf(message, sizeof message, format, ap);
    if (why[0])
      snprintf(err, errlen, "%s: %s", message, why);
    else
      snprintf(err, errlen, "%s", message);
  }
  return -1;
}

/* A failure HDF5 did not report. */
static int fail(char *err, size_t errlen, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vfail(0, err, errlen, format, ap);
  va_end(ap);
  return -1;
}

/* A failed HDF5 call: appends HDF5's reason. Call it right after the failing call. */
static int h5fail(char *err, size_t errlen, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vfail(1, err, errlen, format, ap);
  va_end(ap);
  return -1;
}

static void reclaim(hid_t type, hid_t space, void *buffer) {
#if H5_VERSION_GE(1, 12, 0)
  H5Treclaim(type, space, H5P_DEFAULT, buffer);
#else
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, buffer);
#endif
}

/* ---- paths and objects ---- */

static int is_root(const char *path) {
  if (!path) return 1;
  while (*path == '/' || (*path == '.' && (path[1] == 0 || path[1] == '/'))) path++;
  return *path == 0;
}

/* The path as HDF5 takes it relative to the file id. */
static const char *h5path(const char *path) { return is_root(path) ? "/" : path; }

/* 1 when every link along `path` exists and resolves to an object, 0 otherwise. */
static int exists(hid_t file, const char *path) {
  if (is_root(path)) return 1;
  size_t n = strlen(path);
  char stack_buffer[512];
  char *prefix = n < sizeof stack_buffer ? stack_buffer : malloc(n + 1);
  if (!prefix) return 0;
  memcpy(prefix, path, n + 1);
  int found = 1;
  for (size_t i = 1; i <= n && found; i++) {
    if (i < n && prefix[i] != '/') continue;
    if (i < n && prefix[i - 1] == '/') continue; /* "//" or a leading "/" */
    char saved = prefix[i];
    prefix[i] = 0;
    htri_t link = H5Lexists((hid_t)file, prefix, H5P_DEFAULT);
    if (link > 0) link = H5Oexists_by_name((hid_t)file, prefix, H5P_DEFAULT);
    prefix[i] = saved;
    if (link <= 0) found = 0;
  }
  if (prefix != stack_buffer) free(prefix);
  if (!found) H5Eclear2(H5E_DEFAULT);
  return found;
}

static int kind_of(hid_t file, const char *path) {
  if (!exists(file, path)) return 0;
  hid_t object = H5Oopen(file, h5path(path), H5P_DEFAULT);
  if (object < 0) {
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  H5I_type_t type = H5Iget_type(object);
  H5Oclose(object);
  return type == H5I_GROUP ? 1 : type == H5I_DATASET ? 2 : 3;
}

static const char *kind_name(int kind) {
  return kind == 1 ? "a group" : kind == 2 ? "a dataset" : "a named datatype";
}

/* Opens the dataset at path, or fails with a message. */
static hid_t open_dataset(hid_t file, const char *path, char *err, size_t errlen) {
  if (!exists(file, path)) return fail(err, errlen, "cannot open dataset '%s': no such object", path);
  hid_t object = H5Oopen(file, h5path(path), H5P_DEFAULT);
  if (object < 0) return h5fail(err, errlen, "cannot open dataset '%s'", path);
  H5I_type_t type = H5Iget_type(object);
  if (type != H5I_DATASET) {
    H5Oclose(object);
    return fail(err, errlen, "'%s' is %s, not a dataset", path, kind_name(type == H5I_GROUP ? 1 : 3));
  }
  return object;
}

/* ---- types ---- */

/* Classifies a type per vh_shape. */
static void classify(hid_t type, int *type_class, size_t *size, int *is_signed) {
  H5T_class_t c = H5Tget_class(type);
  *type_class = VH_CLASS_OTHER;
  *size = H5Tget_size(type);
  *is_signed = 0;
  if (c == H5T_INTEGER) {
    *type_class = VH_CLASS_INTEGER;
    *is_signed = H5Tget_sign(type) == H5T_SGN_2;
  } else if (c == H5T_FLOAT) {
    *type_class = VH_CLASS_FLOAT;
    *is_signed = 1;
  } else if (c == H5T_STRING) {
    *type_class = VH_CLASS_STRING;
    if (H5Tis_variable_str(type) > 0) *size = 0;
  } else if (c == H5T_ENUM) {
    hid_t base = H5Tget_super(type);
    if (base >= 0) {
      if (H5Tget_class(base) == H5T_INTEGER) {
        *type_class = VH_CLASS_INTEGER;
        *size = H5Tget_size(base);
        *is_signed = H5Tget_sign(base) == H5T_SGN_2;
      }
      H5Tclose(base);
    }
  }
}

static const char *class_name(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    default: return "unknown";
  }
}

/* Reads n numeric values of a dataset (attribute when is_attr) whose file type is `type`
   into out as doubles. `what` names the object in messages. */
static int read_numeric(hid_t object, int is_attr, hid_t type, size_t n, double *out, const char *what,
                        char *err, size_t errlen) {
  H5T_class_t c = H5Tget_class(type);
  if (c == H5T_INTEGER || c == H5T_FLOAT) {
    herr_t r = is_attr ? H5Aread(object, H5T_NATIVE_DOUBLE, out)
                       : H5Dread(object, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    return r < 0 ? h5fail(err, errlen, "cannot read %s", what) : 0;
  }
  if (c != H5T_ENUM) return fail(err, errlen, "%s is not numeric (%s)", what, class_name(type));
  /* HDF5 converts enums only to enums: read as the native enum, then widen its integers. */
  int result = -1;
  unsigned char *raw = NULL;
  hid_t base = H5Tget_super(type);
  hid_t memtype = -1, membase = -1;
  if (base < 0) {
    h5fail(err, errlen, "cannot read %s", what);
    goto done;
  }
  if (H5Tget_class(base) != H5T_INTEGER) {
    fail(err, errlen, "%s is not numeric (an enum over %s)", what, class_name(base));
    goto done;
  }
  if ((memtype = H5Tget_native_type(type, H5T_DIR_ASCEND)) < 0 || (membase = H5Tget_super(memtype)) < 0) {
    h5fail(err, errlen, "cannot read %s", what);
    goto done;
  }
  size_t size = H5Tget_size(memtype);
  int is_signed = H5Tget_sign(membase) == H5T_SGN_2;
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    fail(err, errlen, "%s has an unsupported %zu-byte enum", what, size);
    goto done;
  }
  if (!(raw = malloc(n ? n * size : 1))) {
    fail(err, errlen, "out of memory reading %s", what);
    goto done;
  }
  herr_t r = is_attr ? H5Aread(object, memtype, raw) : H5Dread(object, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
  if (r < 0) {
    h5fail(err, errlen, "cannot read %s", what);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const unsigned char *p = raw + i * size;
    switch (size) {
      case 1: out[i] = is_signed ? (double)*(const int8_t *)p : (double)*p; break;
      case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        out[i] = is_signed ? (double)(int16_t)v : (double)v;
        break;
      }
      case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        out[i] = is_signed ? (double)(int32_t)v : (double)v;
        break;
      }
      default: {
        uint64_t v;
        memcpy(&v, p, 8);
        out[i] = is_signed ? (double)(int64_t)v : (double)v;
        break;
      }
    }
  }
  result = 0;
done:
  free(raw);
  if (membase >= 0) H5Tclose(membase);
  if (memtype >= 0) H5Tclose(memtype);
  if (base >= 0) H5Tclose(base);
  return result;
}

/* A variable-length C string memory type with the file type's character set. */
static hid_t vlen_string_type(hid_t file_type) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return -1;
  H5T_cset_t cset = H5Tget_cset(file_type);
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || (cset >= 0 && H5Tset_cset(t, cset) < 0)) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

/* Length of a fixed-length string element: up to the first NUL; trailing spaces dropped when
   space-padded. */
static size_t fixed_length(const char *p, size_t size, int spacepad) {
  const char *nul = memchr(p, 0, size);
  size_t n = nul ? (size_t)(nul - p) : size;
  if (spacepad)
    while (n > 0 && p[n - 1] == ' ') n--;
  return n;
}

/* ---- data outside the file ---- */

/* What the containment scan found; `found` stops the walk. */
struct containment {
  char *err;
  size_t errlen;
  int found;
};

static const char *const outside_fix =
    "vlatune reads only the files it was given: copy the data into this file (h5py: "
    "f[name] = other[name][()]) or pass the other file as its own source";

/* A dataset keeping its values in raw external files, or a virtual dataset drawing from another
   file, is refused. */
static void check_dataset(hid_t dataset, const char *name, struct containment *c) {
  hid_t dcpl = H5Dget_create_plist(dataset);
  if (dcpl < 0) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  int external = H5Pget_external_count(dcpl);
  if (external > 0) {
    char file[256] = "";
    off_t offset = 0;
    hsize_t size = 0;
    H5Pget_external(dcpl, 0, sizeof file, file, &offset, &size);
    fail(c->err, c->errlen, "dataset '%s' keeps its values in the external raw file '%s'%s; %s", name, file,
         external > 1 ? " and others" : "", outside_fix);
    c->found = 1;
  } else if (H5Pget_layout(dcpl) == H5D_VIRTUAL) {
    size_t count = 0;
    H5Pget_virtual_count(dcpl, &count);
    for (size_t i = 0; i < count && !c->found; i++) {
      char file[256] = "";
      if (H5Pget_virtual_filename(dcpl, i, file, sizeof file) < 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(file, sizeof file, "?");
      }
      if (strcmp(file, ".") == 0) continue; /* a source in this same file */
      fail(c->err, c->errlen, "dataset '%s' is a virtual dataset drawing from the file '%s'; %s", name, file,
           outside_fix);
      c->found = 1;
    }
  }
  H5Pclose(dcpl);
  H5Eclear2(H5E_DEFAULT);
}

static herr_t check_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  struct containment *c = data;
  if (info->type == H5L_TYPE_SOFT) return 0; /* a path inside this file; its target is checked */
  if (info->type == H5L_TYPE_HARD) {
    hid_t object = H5Oopen(group, name, H5P_DEFAULT);
    if (object < 0) {
      H5Eclear2(H5E_DEFAULT);
      return 0;
    }
    if (H5Iget_type(object) == H5I_DATASET) check_dataset(object, name, c);
    H5Oclose(object);
    return c->found ? 1 : 0;
  }
  if (info->type == H5L_TYPE_EXTERNAL) {
    size_t size = info->u.val_size;
    char *value = malloc(size ? size : 1);
    const char *file = NULL, *object = NULL;
    unsigned flags = 0;
    if (value && H5Lget_val(group, name, value, size, H5P_DEFAULT) >= 0 &&
        H5Lunpack_elink_val(value, size, &flags, &file, &object) >= 0 && file && object)
      fail(c->err, c->errlen, "'%s' is an external link to '%s' in the file '%s'; %s", name, object, file,
           outside_fix);
    else
      fail(c->err, c->errlen, "'%s' is an external link to another file; %s", name, outside_fix);
    free(value);
  } else {
    fail(c->err, c->errlen, "'%s' is a user-defined link (type %d) that HDF5 resolves by a plugin; %s", name,
         (int)info->type, outside_fix);
  }
  H5Eclear2(H5E_DEFAULT);
  c->found = 1;
  return 1;
}

/* 0 when every link is hard or soft and every dataset's values are inside the file; -2 with a
   message naming the first that is not; -1 when the file's links cannot be listed. */
static int check_contained(hid_t file, char *err, size_t errlen) {
  struct containment c = {err, errlen, 0};
  herr_t r = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, check_link, &c);
  if (c.found) return -2;
  if (r < 0) return h5fail(err, errlen, "cannot list the file's objects");
  return 0;
}

/* ---- files ---- */

vh_id vh_open(const char *path, char *err, size_t errlen) {
  lock();
  hid_t file = -1;
  int contained = 0;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) {
    h5fail(err, errlen, "cannot open %s", path);
    goto done;
  }
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  /* Shared lock for reading, but go on where the file system has no locks (NFS, Lustre). */
  H5Pset_file_locking(fapl, 1, 1);
#endif
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (file < 0) {
#if H5_VERSION_GE(1, 12, 0)
    htri_t is_hdf5 = H5Fis_accessible(path, fapl);
#else
    htri_t is_hdf5 = H5Fis_hdf5(path);
#endif
    H5Eclear2(H5E_DEFAULT);
    if (is_hdf5 == 0) {
      fail(err, errlen, "cannot open %s: not an HDF5 file", path);
    } else {
      file = H5Fopen(path, H5F_ACC_RDONLY, fapl); /* again, for the reason */
      if (file < 0) h5fail(err, errlen, "cannot open %s", path);
    }
  }
  if (file >= 0) contained = check_contained(file, err, errlen);
  if (contained < 0) {
    H5Fclose(file);
    file = -1;
  }
done:
  if (fapl >= 0) H5Pclose(fapl);
  unlock();
  return file >= 0 ? (vh_id)file : contained == -2 ? -2 : -1;
}

void vh_close(vh_id file) {
  if (file < 0) return;
  lock();
  H5Fclose((hid_t)file);
  unlock();
}

int vh_kind(vh_id file, const char *path) {
  lock();
  int kind = kind_of((hid_t)file, path);
  unlock();
  return kind;
}

/* ---- groups ---- */

struct names {
  char *buffer;
  size_t length, capacity, count;
  int out_of_memory;
};

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  struct names *n = data;
  (void)group;
  (void)info;
  size_t len = strlen(name) + 1;
  if (n->length + len > n->capacity) {
    size_t capacity = n->capacity ? n->capacity * 2 : 256;
    while (capacity < n->length + len) capacity *= 2;
    char *grown = realloc(n->buffer, capacity);
    if (!grown) {
      n->out_of_memory = 1;
      return -1;
    }
    n->buffer = grown;
    n->capacity = capacity;
  }
  memcpy(n->buffer + n->length, name, len);
  n->length += len;
  n->count++;
  return 0;
}

int vh_children(vh_id file, const char *path, char **names, size_t *count, char *err, size_t errlen) {
  lock();
  int result = -1;
  struct names n = {0};
  int kind = kind_of((hid_t)file, path);
  if (kind != 1) {
    if (kind == 0)
      fail(err, errlen, "cannot list group '%s': no such object", path);
    else
      fail(err, errlen, "'%s' is %s, not a group", path, kind_name(kind));
    goto done;
  }
  hsize_t index = 0;
  herr_t r = H5Literate_by_name((hid_t)file, h5path(path), H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &n,
                                H5P_DEFAULT);
  if (n.out_of_memory) {
    H5Eclear2(H5E_DEFAULT);
    fail(err, errlen, "out of memory listing group '%s'", path);
    goto done;
  }
  if (r < 0) {
    h5fail(err, errlen, "cannot list group '%s'", path);
    goto done;
  }
  if (!n.buffer && !(n.buffer = malloc(1))) {
    fail(err, errlen, "out of memory listing group '%s'", path);
    goto done;
  }
  *names = n.buffer;
  *count = n.count;
  n.buffer = NULL;
  result = 0;
done:
  free(n.buffer);
  unlock();
  return result;
}

/* ---- datasets ---- */

int vh_shape(vh_id file, const char *path, int *rank, unsigned long long dims[8], int *type_class,
             size_t *element_size, int *is_signed, char *err, size_t errlen) {
  lock();
  int result = -1;
  hid_t space = -1, type = -1;
  hid_t dataset = open_dataset((hid_t)file, path, err, errlen);
  if (dataset < 0) goto done;
  if ((space = H5Dget_space(dataset)) < 0 || (type = H5Dget_type(dataset)) < 0) {
    h5fail(err, errlen, "cannot read the shape of '%s'", path);
    goto done;
  }
  int r = H5Sget_simple_extent_ndims(space);
  if (r < 0) {
    h5fail(err, errlen, "cannot read the shape of '%s'", path);
    goto done;
  }
  if (r > 8) {
    fail(err, errlen, "'%s' has rank %d (at most 8 supported)", path, r);
    goto done;
  }
  hsize_t d[8] = {0};
  if (r > 0 && H5Sget_simple_extent_dims(space, d, NULL) < 0) {
    h5fail(err, errlen, "cannot read the shape of '%s'", path);
    goto done;
  }
  *rank = r;
  for (int i = 0; i < 8; i++) dims[i] = i < r ? (unsigned long long)d[i] : 0;
  classify(type, type_class, element_size, is_signed);
  result = 0;
done:
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (dataset >= 0) H5Dclose(dataset);
  unlock();
  return result;
}

int vh_read_doubles(vh_id file, const char *path, double *out, size_t count, char *err, size_t errlen) {
  lock();
  int result = -1;
  hid_t space = -1, type = -1;
  char what[600];
  snprintf(what, sizeof what, "dataset '%s'", path);
  hid_t dataset = open_dataset((hid_t)file, path, err, errlen);
  if (dataset < 0) goto done;
  if ((space = H5Dget_space(dataset)) < 0 || (type = H5Dget_type(dataset)) < 0) {
    h5fail(err, errlen, "cannot read %s", what);
    goto done;
  }
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) {
    h5fail(err, errlen, "cannot read %s", what);
    goto done;
  }
  H5T_class_t c = H5Tget_class(type);
  if (c != H5T_INTEGER && c != H5T_FLOAT && c != H5T_ENUM) {
    fail(err, errlen, "%s is not numeric (%s)", what, class_name(type));
    goto done;
  }
  if ((unsigned long long)n > (unsigned long long)count) {
    fail(err, errlen, "%s has %lld values, more than the %zu the buffer holds", what, (long long)n, count);
    goto done;
  }
  if (n == 0 || H5Sget_simple_extent_type(space) == H5S_NULL) {
    result = 0;
    goto done;
  }
  result = read_numeric(dataset, 0, type, (size_t)n, out, what, err, errlen);
done:
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (dataset >= 0) H5Dclose(dataset);
  unlock();
  return result;
}

int vh_read_u8_rows(vh_id file, const char *path, unsigned long long start, unsigned long long rows,
                    unsigned char *out, size_t capacity, char *err, size_t errlen) {
  lock();
  int result = -1;
  hid_t space = -1, type = -1, memspace = -1;
  hid_t dataset = open_dataset((hid_t)file, path, err, errlen);
  if (dataset < 0) goto done;
  if ((space = H5Dget_space(dataset)) < 0 || (type = H5Dget_type(dataset)) < 0) {
    h5fail(err, errlen, "cannot read dataset '%s'", path);
    goto done;
  }
  if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1) {
    fail(err, errlen, "dataset '%s' is not 8-bit integers (%zu-byte %s)", path, H5Tget_size(type), class_name(type));
    goto done;
  }
  int r = H5Sget_simple_extent_ndims(space);
  if (r < 1 || r > 32) {
    if (r < 0)
      h5fail(err, errlen, "cannot read the shape of '%s'", path);
    else
      fail(err, errlen, "dataset '%s' has rank %d, cannot read rows", path, r);
    goto done;
  }
  hsize_t dims[32], offset[32] = {0};
  if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
    h5fail(err, errlen, "cannot read the shape of '%s'", path);
    goto done;
  }
  if (start > dims[0] || rows > dims[0] - start) {
    fail(err, errlen, "rows %llu..<%llu are out of range: dataset '%s' has %llu rows", start, start + rows, path,
         (unsigned long long)dims[0]);
    goto done;
  }
  unsigned long long need = rows;
  for (int i = 1; i < r; i++) {
    if (dims[i] != 0 && need > SIZE_MAX / dims[i]) {
      fail(err, errlen, "rows %llu..<%llu of '%s' are too large", start, start + rows, path);
      goto done;
    }
    need *= dims[i];
  }
  if (need > capacity) {
    fail(err, errlen, "rows %llu..<%llu of '%s' take %llu bytes, more than the %zu the buffer holds", start,
         start + rows, path, need, capacity);
    goto done;
  }
  if (need == 0) {
    result = 0;
    goto done;
  }
  offset[0] = start;
  dims[0] = rows;
  if (H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, NULL, dims, NULL) < 0 ||
      (memspace = H5Screate_simple(r, dims, NULL)) < 0) {
    h5fail(err, errlen, "cannot select rows %llu..<%llu of '%s'", start, start + rows, path);
    goto done;
  }
  /* The file's own signedness: raw bytes, no clamping conversion. */
  hid_t memtype = H5Tget_sign(type) == H5T_SGN_2 ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR;
  if (H5Dread(dataset, memtype, memspace, space, H5P_DEFAULT, out) < 0) {
    h5fail(err, errlen, "cannot read rows %llu..<%llu of '%s'", start, start + rows, path);
    goto done;
  }
  result = 0;
done:
  if (memspace >= 0) H5Sclose(memspace);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (dataset >= 0) H5Dclose(dataset);
  unlock();
  return result;
}

int vh_read_strings(vh_id file, const char *path, char **buffer, size_t *count, char *err, size_t errlen) {
  lock();
  int result = -1;
  hid_t space = -1, type = -1, memtype = -1;
  char **pointers = NULL, *raw = NULL, *text = NULL;
  int read_vlen = 0;
  size_t n = 0;
  hid_t dataset = open_dataset((hid_t)file, path, err, errlen);
  if (dataset < 0) goto done;
  if ((space = H5Dget_space(dataset)) < 0 || (type = H5Dget_type(dataset)) < 0) {
    h5fail(err, errlen, "cannot read dataset '%s'", path);
    goto done;
  }
  if (H5Tget_class(type) != H5T_STRING) {
    fail(err, errlen, "dataset '%s' is not strings (%s)", path, class_name(type));
    goto done;
  }
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) {
    h5fail(err, errlen, "cannot read dataset '%s'", path);
    goto done;
  }
  n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : (size_t)points;
  size_t total = 1;
  if (H5Tis_variable_str(type) > 0) {
    if (!(pointers = calloc(n ? n : 1, sizeof *pointers))) {
      fail(err, errlen, "out of memory reading '%s'", path);
      goto done;
    }
    if ((memtype = vlen_string_type(type)) < 0) {
      h5fail(err, errlen, "cannot read dataset '%s'", path);
      goto done;
    }
    if (n > 0) {
      if (H5Dread(dataset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers) < 0) {
        h5fail(err, errlen, "cannot read dataset '%s'", path);
        goto done;
      }
      read_vlen = 1;
    }
    for (size_t i = 0; i < n; i++) total += (pointers[i] ? strlen(pointers[i]) : 0) + 1;
    if (!(text = malloc(total))) {
      fail(err, errlen, "out of memory reading '%s'", path);
      goto done;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      size_t len = pointers[i] ? strlen(pointers[i]) : 0;
      if (len) memcpy(text + at, pointers[i], len);
      at += len;
      text[at++] = 0;
    }
  } else {
    size_t size = H5Tget_size(type);
    int spacepad = H5Tget_strpad(type) == H5T_STR_SPACEPAD;
    if (size == 0 || (n > 0 && size > SIZE_MAX / n)) {
      fail(err, errlen, "dataset '%s' has a bad string size", path);
      goto done;
    }
    if (!(raw = malloc(n ? n * size : 1))) {
      fail(err, errlen, "out of memory reading '%s'", path);
      goto done;
    }
    if ((memtype = H5Tcopy(type)) < 0 ||
        (n > 0 && H5Dread(dataset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0)) {
      h5fail(err, errlen, "cannot read dataset '%s'", path);
      goto done;
    }
    for (size_t i = 0; i < n; i++) total += fixed_length(raw + i * size, size, spacepad) + 1;
    if (!(text = malloc(total))) {
      fail(err, errlen, "out of memory reading '%s'", path);
      goto done;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      size_t len = fixed_length(raw + i * size, size, spacepad);
      memcpy(text + at, raw + i * size, len);
      at += len;
      text[at++] = 0;
    }
  }
  *buffer = text;
  *count = n;
  text = NULL;
  result = 0;
done:
  if (read_vlen) reclaim(memtype, space, pointers);
  free(pointers);
  free(raw);
  free(text);
  if (memtype >= 0) H5Tclose(memtype);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (dataset >= 0) H5Dclose(dataset);
  unlock();
  return result;
}

/* ---- attributes ---- */

/* Opens attribute `name` of the object at path: 0 opened (*attribute, *object set), 1 absent,
   -1 error. */
static int open_attribute(hid_t file, const char *path, const char *name, hid_t *object, hid_t *attribute,
                          char *err, size_t errlen) {
  *object = *attribute = -1;
  const char *shown = is_root(path) ? "/" : path;
  if (!exists(file, path)) return fail(err, errlen, "cannot read attribute '%s' of '%s': no such object", name, shown);
  if ((*object = H5Oopen(file, h5path(path), H5P_DEFAULT)) < 0)
    return h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
  htri_t has = H5Aexists(*object, name);
  if (has <= 0) {
    if (has < 0) h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
    H5Oclose(*object);
    *object = -1;
    return has < 0 ? -1 : 1;
  }
  if ((*attribute = H5Aopen(*object, name, H5P_DEFAULT)) < 0) {
    h5fail(err, errlen, "cannot open attribute '%s' of '%s'", name, shown);
    H5Oclose(*object);
    *object = -1;
    return -1;
  }
  return 0;
}

/* Checks that an attribute holds exactly one element. */
static int single(hid_t space, const char *name, const char *shown, char *err, size_t errlen) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) return h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
  if (n != 1 || H5Sget_simple_extent_type(space) == H5S_NULL)
    return fail(err, errlen, "attribute '%s' of '%s' is not a single value (%lld elements)", name, shown,
                H5Sget_simple_extent_type(space) == H5S_NULL ? 0LL : (long long)n);
  return 0;
}

int vh_attribute_string(vh_id file, const char *path, const char *name, char **value, char *err, size_t errlen) {
  lock();
  hid_t object, attribute, type = -1, space = -1, memtype = -1;
  char *vlen = NULL, *raw = NULL;
  int read_vlen = 0;
  const char *shown = is_root(path) ? "/" : path;
  int result = open_attribute((hid_t)file, path, name, &object, &attribute, err, errlen);
  if (result != 0) goto done;
  result = -1;
  if ((type = H5Aget_type(attribute)) < 0 || (space = H5Aget_space(attribute)) < 0) {
    h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
    goto done;
  }
  if (H5Tget_class(type) != H5T_STRING) {
    fail(err, errlen, "attribute '%s' of '%s' is not a string (%s)", name, shown, class_name(type));
    goto done;
  }
  if (single(space, name, shown, err, errlen) < 0) goto done;
  char *text;
  if (H5Tis_variable_str(type) > 0) {
    if ((memtype = vlen_string_type(type)) < 0 || H5Aread(attribute, memtype, &vlen) < 0) {
      h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
      goto done;
    }
    read_vlen = 1;
    size_t len = vlen ? strlen(vlen) : 0;
    if (!(text = malloc(len + 1))) {
      fail(err, errlen, "out of memory reading attribute '%s' of '%s'", name, shown);
      goto done;
    }
    if (len) memcpy(text, vlen, len);
    text[len] = 0;
  } else {
    size_t size = H5Tget_size(type);
    if (!(raw = malloc(size + 1))) {
      fail(err, errlen, "out of memory reading attribute '%s' of '%s'", name, shown);
      goto done;
    }
    if ((memtype = H5Tcopy(type)) < 0 || H5Aread(attribute, memtype, raw) < 0) {
      h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
      goto done;
    }
    raw[fixed_length(raw, size, H5Tget_strpad(type) == H5T_STR_SPACEPAD)] = 0;
    text = raw;
    raw = NULL;
  }
  *value = text;
  result = 0;
done:
  if (read_vlen) reclaim(memtype, space, &vlen);
  free(raw);
  if (memtype >= 0) H5Tclose(memtype);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (attribute >= 0) H5Aclose(attribute);
  if (object >= 0) H5Oclose(object);
  unlock();
  return result;
}

int vh_attribute_double(vh_id file, const char *path, const char *name, double *value, char *err, size_t errlen) {
  lock();
  hid_t object, attribute, type = -1, space = -1;
  const char *shown = is_root(path) ? "/" : path;
  int result = open_attribute((hid_t)file, path, name, &object, &attribute, err, errlen);
  if (result != 0) goto done;
  result = -1;
  if ((type = H5Aget_type(attribute)) < 0 || (space = H5Aget_space(attribute)) < 0) {
    h5fail(err, errlen, "cannot read attribute '%s' of '%s'", name, shown);
    goto done;
  }
  if (single(space, name, shown, err, errlen) < 0) goto done;
  char what[600];
  snprintf(what, sizeof what, "attribute '%s' of '%s'", name, shown);
  double v = 0;
  if (read_numeric(attribute, 1, type, 1, &v, what, err, errlen) < 0) goto done;
  *value = v;
  result = 0;
done:
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (attribute >= 0) H5Aclose(attribute);
  if (object >= 0) H5Oclose(object);
  unlock();
  return result;
}
