#include "vlatune_media.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define LOAD(field, symbol)                                                   \
  do {                                                                        \
    *(void **)(&table->field) = dlsym(handle, symbol);                        \
    if (table->field == NULL) {                                               \
      snprintf(err, errlen, "%s lacks %s: %s", path, symbol, dlerror());       \
      return -1;                                                              \
    }                                                                         \
  } while (0)

int vlatune_media_load(const char *path, vlatune_media *table, char *err, size_t errlen) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    snprintf(err, errlen, "%s", dlerror());
    return -1;
  }
  memset(table, 0, sizeof *table);
  LOAD(video_open, "vt_video_open");
  LOAD(video_width, "vt_video_width");
  LOAD(video_height, "vt_video_height");
  LOAD(video_fps, "vt_video_fps");
  LOAD(video_codec, "vt_video_codec");
  LOAD(video_extract_jpeg, "vt_video_extract_jpeg");
  LOAD(video_close, "vt_video_close");
  LOAD(jpeg_encode_rgb, "vt_jpeg_encode_rgb");
  LOAD(jpeg_rotate180, "vt_jpeg_rotate180");
  LOAD(jpeg_decode_rgb, "vt_jpeg_decode_rgb");
  LOAD(media_free, "vt_free");
  LOAD(h5_open, "vh_open");
  LOAD(h5_close, "vh_close");
  LOAD(h5_kind, "vh_kind");
  LOAD(h5_children, "vh_children");
  LOAD(h5_free, "vh_free");
  LOAD(h5_shape, "vh_shape");
  LOAD(h5_read_doubles, "vh_read_doubles");
  LOAD(h5_read_u8_rows, "vh_read_u8_rows");
  LOAD(h5_read_strings, "vh_read_strings");
  LOAD(h5_attribute_string, "vh_attribute_string");
  LOAD(h5_attribute_double, "vh_attribute_double");
  return 0;
}
