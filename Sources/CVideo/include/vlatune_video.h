#ifndef VLATUNE_VIDEO_H
#define VLATUNE_VIDEO_H

#include <stddef.h>

/// Frame extraction from video files (MP4 with H.264, HEVC, AV1, ... — whatever the linked
/// FFmpeg decodes) at given timestamps, each frame encoded as JPEG with libjpeg-turbo.
///
/// Times are in seconds from the start of the video stream: a frame's time is its
/// best-effort presentation timestamp minus the stream's start time, so the first frame of a
/// file is at 0 (LeRobot v2: frame i at i/fps; v3: an episode's frame i at
/// from_timestamp + timestamp_i).
///
/// A handle is not shared between threads (use one per thread); distinct handles may be used
/// concurrently. Decoding uses up to 2 threads per handle.

/// An open video file (its first video stream).
typedef struct vt_video vt_video;

/// Opens the first video stream of `path`. NULL on failure with a message in err
/// (NUL-terminated, at most errlen bytes).
vt_video *vt_video_open(const char *path, char *err, size_t errlen);

/// Frame size in pixels.
int vt_video_width(const vt_video *video);
int vt_video_height(const vt_video *video);

/// Average frame rate of the stream (0 when unknown).
double vt_video_fps(const vt_video *video);

/// Codec short name, e.g. "h264", "hevc", "av1". Valid while the handle is open.
const char *vt_video_codec(const vt_video *video);

/// Called once per requested timestamp, in order. Return 0 to continue, nonzero to stop
/// (vt_video_extract_jpeg then returns that value). `jpeg` is valid only during the call.
/// `frame_seconds` is the time of the frame that was matched to timestamps[index].
typedef int (*vt_frame_callback)(void *context, size_t index, const unsigned char *jpeg,
                                 size_t length, double frame_seconds);

/// For each timestamp (seconds from the file start, non-decreasing), decodes the frame whose
/// presentation time is nearest and encodes it as JPEG at `quality` (1-100).
///
/// Seeks (backward to a keyframe) to the first timestamp, then decodes forward; seeks again
/// only when the next timestamp is more than 2 s beyond the last decoded frame (one episode
/// of a long v3 file costs about one seek). Decoder state is kept between calls, so
/// consecutive calls for consecutive ranges decode forward without seeking.
///
/// A frame is matched when |frame time - t| <= tolerance; if the nearest decoded frame is
/// farther than that, or the stream ends first, returns -1 with a message in err naming the
/// timestamp, the nearest frame time and the file.
///
/// Returns 0 on success, -1 on error (message in err), or the callback's nonzero value.
int vt_video_extract_jpeg(vt_video *video, const double *timestamps, size_t count,
                          double tolerance, int quality, vt_frame_callback callback,
                          void *context, char *err, size_t errlen);

/// Closes the file and frees everything the handle holds. NULL is allowed.
void vt_video_close(vt_video *video);

/// ---- Still JPEG images (libjpeg-turbo) ----
/// Each call uses its own TurboJPEG handle: any thread may call these. Buffers returned
/// through `unsigned char **` are malloc'd; free them with vt_free. All return 0 on success,
/// -1 on failure with a message in err (NUL-terminated, at most errlen bytes).

/// Encodes an 8-bit RGB image (height × width × 3 bytes, row-major, no row padding) as a
/// baseline JPEG at `quality` (1-100): 4:4:4 chroma at quality >= 90, 4:2:0 below.
/// *jpeg (malloc'd) and *length receive the JPEG.
int vt_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality,
                       unsigned char **jpeg, size_t *length, char *err, size_t errlen);

/// Decodes a JPEG (any subsampling; grayscale and CMYK are converted) to 8-bit RGB
/// (height × width × 3, malloc'd) and reports its size. Bytes after the end-of-image marker
/// are ignored (a padded buffer is fine). libjpeg warnings about recoverable corruption are
/// tolerated, except truncated data ("Premature end of JPEG file"), which is an error.
int vt_jpeg_decode_rgb(const unsigned char *jpeg, size_t length, unsigned char **rgb,
                       int *width, int *height, char *err, size_t errlen);

/// Rotates a JPEG by 180 degrees (LIBERO's upside-down frames), keeping its size. When the
/// width and height are multiples of the MCU size of the image's chroma subsampling, the
/// rotation is lossless (a DCT-domain transform; other markers are copied); otherwise the
/// image is decoded, its pixels rotated, and re-encoded at quality 95 with the same chroma
/// subsampling (grayscale stays grayscale). *out (malloc'd) and *out_length receive it.
int vt_jpeg_rotate180(const unsigned char *jpeg, size_t length, unsigned char **out,
                      size_t *out_length, char *err, size_t errlen);

/// Frees a buffer returned by the vt_jpeg_* functions (free()). NULL is allowed.
void vt_free(void *pointer);

#endif
