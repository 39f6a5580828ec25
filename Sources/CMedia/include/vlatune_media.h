#ifndef VLATUNE_MEDIA_H
#define VLATUNE_MEDIA_H

#include <stddef.h>

/// The entry points of libVlatuneMedia.so (the CVideo and CHDF5 targets: FFmpeg, libjpeg-turbo,
/// libhdf5), loaded with dlopen only by the commands that read videos, raw images or HDF5 files.
/// Linking those libraries into the vlatune binary would load ~120 shared libraries on every
/// command (job status went from 26 to 45 ms); see the headers of CVideo and CHDF5 for the
/// meaning of each function.
typedef struct vt_video vt_video;
typedef int (*vm_frame_callback)(void *context, size_t index, const unsigned char *jpeg,
                                 size_t length, double frame_seconds);

typedef struct vlatune_media {
  vt_video *(*video_open)(const char *path, char *err, size_t errlen);
  int (*video_width)(const vt_video *video);
  int (*video_height)(const vt_video *video);
  double (*video_fps)(const vt_video *video);
  const char *(*video_codec)(const vt_video *video);
  int (*video_extract_jpeg)(vt_video *video, const double *timestamps, size_t count,
                            double tolerance, int quality, vm_frame_callback callback,
                            void *context, char *err, size_t errlen);
  void (*video_close)(vt_video *video);
  int (*jpeg_encode_rgb)(const unsigned char *rgb, int width, int height, int quality,
                         unsigned char **jpeg, size_t *length, char *err, size_t errlen);
  int (*jpeg_rotate180)(const unsigned char *jpeg, size_t length, unsigned char **out,
                        size_t *out_length, char *err, size_t errlen);
  int (*jpeg_decode_rgb)(const unsigned char *jpeg, size_t length, unsigned char **rgb,
                         int *width, int *height, char *err, size_t errlen);
  void (*media_free)(void *pointer);
  long long (*h5_open)(const char *path, char *err, size_t errlen);
  void (*h5_close)(long long file);
  int (*h5_kind)(long long file, const char *path);
  int (*h5_children)(long long file, const char *path, char **names, size_t *count, char *err,
                     size_t errlen);
  void (*h5_free)(void *pointer);
  int (*h5_shape)(long long file, const char *path, int *rank, unsigned long long *dims,
                  int *type_class, size_t *element_size, int *is_signed, char *err,
                  size_t errlen);
  int (*h5_read_doubles)(long long file, const char *path, double *out, size_t count, char *err,
                         size_t errlen);
  int (*h5_read_u8_rows)(long long file, const char *path, unsigned long long start,
                         unsigned long long rows, unsigned char *out, size_t capacity, char *err,
                         size_t errlen);
  int (*h5_read_strings)(long long file, const char *path, char **buffer, size_t *count,
                         char *err, size_t errlen);
  int (*h5_attribute_string)(long long file, const char *path, const char *name, char **value,
                             char *err, size_t errlen);
  int (*h5_attribute_double)(long long file, const char *path, const char *name, double *value,
                             char *err, size_t errlen);
} vlatune_media;

/// Loads the library at `path` and fills `table`. 0 on success, -1 with dlerror's message.
int vlatune_media_load(const char *path, vlatune_media *table, char *err, size_t errlen);

#endif
