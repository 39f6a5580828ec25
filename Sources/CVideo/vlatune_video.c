#include "vlatune_video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#ifndef VT_VIDEO_THREADS
#define VT_VIDEO_THREADS 2
#endif

#define VT_SEEK_AHEAD 2.0 /* seek instead of decoding forward past this many seconds */
#define VT_EPS 1e-6       /* slack when comparing frame times */

struct vt_video {
  AVFormatContext *fmt;
  AVCodecContext *dec;
  AVPacket *pkt;
  AVFrame *win[3]; /* win[0]: previous frame, win[1]: latest frame, win[2]: spare */
  double time[2];
  int have[2];
  int head;     /* nothing before win[0] (or the next frame) was skipped: at the stream start */
  int draining; /* NULL packet sent */
  int eof;      /* decoder fully drained */
  int stream;
  double tb, fps;
  int64_t start;
  char *path;
  struct SwsContext *sws;
  int sws_key[5];
  AVFrame *conv;
  tjhandle tj;
  unsigned char *jpeg;
  unsigned long jpeg_cap;
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void set_log_level(void) { av_log_set_level(AV_LOG_QUIET); }

static int fail(char *err, size_t errlen, const char *format, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, format);
    vsnprintf(err, errlen, format, ap);
    va_end(ap);
  }
  return -1;
}

static const char *averr(int code, char *buf, size_t len) {
  av_strerror(code, buf, len);
  return buf;
}

vt_video *vt_video_open(const char *path, char *err, size_t errlen) {
  char e[128];
  int r;
  pthread_once(&log_once, set_log_level);
  vt_video *v = calloc(1, sizeof *v);
  if (!v) return fail(err, errlen, "out of memory"), NULL;
  v->stream = -1;
  if ((r = avformat_open_input(&v->fmt, path, NULL, NULL)) < 0) {
    fail(err, errlen, "cannot open %s: %s", path, averr(r, e, sizeof e));
    goto error;
  }
  if ((r = avformat_find_stream_info(v->fmt, NULL)) < 0) {
    fail(err, errlen, "cannot read stream info of %s: %s", path, averr(r, e, sizeof e));
    goto error;
  }
  for (unsigned i = 0; i < v->fmt->nb_streams && v->stream < 0; i++) {
    AVStream *s = v->fmt->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
      v->stream = (int)i;
  }
  if (v->stream < 0) {
    fail(err, errlen, "no video stream in %s", path);
    goto error;
  }
  AVStream *st = v->fmt->streams[v->stream];
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) {
    fail(err, errlen, "no decoder for codec %s in %s", avcodec_get_name(st->codecpar->codec_id), path);
    goto error;
  }
  if (!(v->dec = avcodec_alloc_context3(codec)) ||
      (r = avcodec_parameters_to_context(v->dec, st->codecpar)) < 0) {
    fail(err, errlen, "cannot set up the %s decoder for %s", codec->name, path);
    goto error;
  }
  v->dec->thread_count = VT_VIDEO_THREADS;
  v->dec->pkt_timebase = st->time_base;
  if ((r = avcodec_open2(v->dec, codec, NULL)) < 0) {
    fail(err, errlen, "cannot open the %s decoder for %s: %s", codec->name, path, averr(r, e, sizeof e));
    goto error;
  }
  v->tb = av_q2d(st->time_base);
  v->start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
  v->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
  v->head = 1;
  v->pkt = av_packet_alloc();
  for (int i = 0; i < 3; i++) v->win[i] = av_frame_alloc();
  v->conv = av_frame_alloc();
  v->path = av_strdup(path);
  v->tj = tjInitCompress();
  if (!v->pkt || !v->win[0] || !v->win[1] || !v->win[2] || !v->conv || !v->path || !v->tj) {
    fail(err, errlen, "out of memory opening %s", path);
    goto error;
  }
  return v;
error:
  vt_video_close(v);
  return NULL;
}

int vt_video_width(const vt_video *v) { return v->fmt->streams[v->stream]->codecpar->width; }
int vt_video_height(const vt_video *v) { return v->fmt->streams[v->stream]->codecpar->height; }
double vt_video_fps(const vt_video *v) { return v->fps; }
const char *vt_video_codec(const vt_video *v) {
  return avcodec_get_name(v->fmt->streams[v->stream]->codecpar->codec_id);
}

void vt_video_close(vt_video *v) {
  if (!v) return;
  avcodec_free_context(&v->dec);
  avformat_close_input(&v->fmt);
  av_packet_free(&v->pkt);
  for (int i = 0; i < 3; i++) av_frame_free(&v->win[i]);
  av_frame_free(&v->conv);
  sws_freeContext(v->sws);
  if (v->tj) tjDestroy(v->tj);
  if (v->jpeg) tjFree(v->jpeg);
  av_free(v->path);
  free(v);
}

/* Forgets the decoded frames; with head = 0 the next request seeks. */
static void reset_window(vt_video *v, int head) {
  for (int i = 0; i < 3; i++) av_frame_unref(v->win[i]);
  v->have[0] = v->have[1] = 0;
  v->head = head;
}

/* Decodes the next frame into win[1] (the previous one moves to win[0]).
   1: a frame, 0: end of stream, -1: error. */
static int decode_next(vt_video *v, char *err, size_t errlen) {
  char e[128];
  for (;;) {
    int r = avcodec_receive_frame(v->dec, v->win[2]);
    if (r == 0) {
      AVFrame *f = v->win[2];
      int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
      double t = ts != AV_NOPTS_VALUE ? (double)(ts - v->start) * v->tb
                 : v->have[1] && v->fps > 0 ? v->time[1] + 1 / v->fps : 0;
      if (v->have[0]) v->head = 0;
      av_frame_unref(v->win[0]);
      v->win[2] = v->win[0];
      v->win[0] = v->win[1];
      v->win[1] = f;
      v->time[0] = v->time[1];
      v->have[0] = v->have[1];
      v->time[1] = t;
      v->have[1] = 1;
      return 1;
    }
    if (r == AVERROR_EOF || (r == AVERROR(EAGAIN) && v->draining)) return v->eof = 1, 0;
    if (r != AVERROR(EAGAIN)) return fail(err, errlen, "decoding %s: %s", v->path, averr(r, e, sizeof e));
    r = av_read_frame(v->fmt, v->pkt);
    if (r == AVERROR_EOF) {
      v->draining = 1;
      r = avcodec_send_packet(v->dec, NULL);
      if (r < 0 && r != AVERROR_EOF) return fail(err, errlen, "flushing %s: %s", v->path, averr(r, e, sizeof e));
      continue;
    }
    if (r < 0) return fail(err, errlen, "reading %s: %s", v->path, averr(r, e, sizeof e));
    r = v->pkt->stream_index == v->stream ? avcodec_send_packet(v->dec, v->pkt) : 0;
    av_packet_unref(v->pkt);
    if (r < 0 && r != AVERROR_INVALIDDATA) return fail(err, errlen, "decoding %s: %s", v->path, averr(r, e, sizeof e));
  }
}

/* Seeks to the last keyframe at or before t (the stream start when t <= 0). */
static int seek_to(vt_video *v, double t, char *err, size_t errlen) {
  char e[128];
  int r = -1, head = t <= 0;
  if (!head) r = av_seek_frame(v->fmt, v->stream, v->start + (int64_t)floor(t / v->tb), AVSEEK_FLAG_BACKWARD);
  if (r < 0) {
    head = 1;
    r = av_seek_frame(v->fmt, v->stream, v->start, AVSEEK_FLAG_BACKWARD);
    if (r < 0) r = avformat_seek_file(v->fmt, -1, INT64_MIN, INT64_MIN, INT64_MIN, 0);
  }
  avcodec_flush_buffers(v->dec);
  v->draining = v->eof = 0;
  reset_window(v, head);
  if (r < 0) return fail(err, errlen, "cannot seek to %g s in %s: %s", t, v->path, averr(r, e, sizeof e));
  return 0;
}

/* Positions the decoder so that the frames around t are ahead: after seeking, the first frame
   must not be later than t (a container may index keyframes by decode time), else seek earlier. */
static int seek_for(vt_video *v, double t, char *err, size_t errlen) {
  for (double margin = 0;; margin = margin > 0 ? margin * 2 : 1) {
    if (seek_to(v, t - margin, err, errlen) < 0) return -1;
    if (v->head) return 0;
    int r = decode_next(v, err, errlen);
    if (r < 0) return -1;
    if (r > 0 && v->time[1] <= t + VT_EPS) return 0;
  }
}

/* Whether seeking to t would skip decoding: the container's index has a keyframe at or before t
   that is later than the latest decoded frame (no index: assume so). */
static int keyframe_ahead(vt_video *v, double t) {
  AVStream *st = v->fmt->streams[v->stream];
  const AVIndexEntry *e =
      avformat_index_get_entry_from_timestamp(st, v->start + (int64_t)floor(t / v->tb), AVSEEK_FLAG_BACKWARD);
  return !e || !v->have[1] || (double)(e->timestamp - v->start) * v->tb > v->time[1];
}

/* Converts f to RGB24 in v->conv, honoring its YUV matrix and range. */
static int to_rgb(vt_video *v, const AVFrame *f, char *err, size_t errlen) {
  int cs = f->colorspace >= 0 && f->colorspace <= AVCOL_SPC_BT2020_CL ? (int)f->colorspace : SWS_CS_DEFAULT;
  int range = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
              f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
  int key[5] = {f->width, f->height, f->format, cs, range};
  if (!v->sws || memcmp(key, v->sws_key, sizeof key) != 0) {
    av_frame_unref(v->conv);
    v->conv->width = f->width;
    v->conv->height = f->height;
    v->conv->format = AV_PIX_FMT_RGB24;
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format, f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!v->sws || av_frame_get_buffer(v->conv, 0) < 0) {
      memset(v->sws_key, 0, sizeof v->sws_key);
      return fail(err, errlen, "cannot convert %s frames of %s", av_get_pix_fmt_name(f->format), v->path);
    }
    sws_setColorspaceDetails(v->sws, sws_getCoefficients(cs), range, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                             1 << 16, 1 << 16);
    memcpy(v->sws_key, key, sizeof key);
  }
  sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, v->conv->data, v->conv->linesize);
  return 0;
}

/* Encodes f as JPEG into v->jpeg: 8-bit full-range YUV with the BT.601 matrix (what JPEG
   stores) goes to TurboJPEG as planes; anything else (limited range, other matrices, high bit
   depth, RGB) through RGB24. The JPEG keeps the frame's chroma subsampling. */
static int encode(vt_video *v, const AVFrame *f, int quality, unsigned long *length, char *err, size_t errlen) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
  if (!d) return fail(err, errlen, "unknown pixel format in %s", v->path);
  int subsamp = d->nb_components < 3                             ? TJSAMP_GRAY
                : d->log2_chroma_w == 0 && d->log2_chroma_h == 0 ? TJSAMP_444
                : d->log2_chroma_w == 1 && d->log2_chroma_h == 0 ? TJSAMP_422
                                                                 : TJSAMP_420;
  int yuv8 = f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUV422P || f->format == AV_PIX_FMT_YUV444P;
  int yuvj = f->format == AV_PIX_FMT_YUVJ420P || f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
  int bt601 = f->colorspace == AVCOL_SPC_UNSPECIFIED || f->colorspace == AVCOL_SPC_BT470BG ||
              f->colorspace == AVCOL_SPC_SMPTE170M;
  int direct = (yuvj || (yuv8 && f->color_range == AVCOL_RANGE_JPEG)) && bt601 && f->linesize[0] > 0 &&
               f->linesize[1] > 0 && f->linesize[2] > 0;
  unsigned long need = tjBufSize(f->width, f->height, TJSAMP_444);
  if (need == (unsigned long)-1 || need > INT32_MAX) return fail(err, errlen, "bad frame size in %s", v->path);
  if (need > v->jpeg_cap) {
    if (v->jpeg) tjFree(v->jpeg);
    v->jpeg_cap = (v->jpeg = tjAlloc((int)need)) ? need : 0;
    if (!v->jpeg) return fail(err, errlen, "out of memory");
  }
  unsigned char *buf = v->jpeg;
  *length = v->jpeg_cap;
  int r;
  if (direct) {
    const unsigned char *planes[3] = {f->data[0], f->data[1], f->data[2]};
    int strides[3] = {f->linesize[0], f->linesize[1], f->linesize[2]};
    r = tjCompressFromYUVPlanes(v->tj, planes, f->width, strides, f->height, subsamp, &buf, length, quality,
                                TJFLAG_NOREALLOC);
  } else {
    if (to_rgb(v, f, err, errlen) < 0) return -1;
    r = tjCompress2(v->tj, v->conv->data[0], f->width, v->conv->linesize[0], f->height, TJPF_RGB, &buf, length,
                    subsamp, quality, TJFLAG_NOREALLOC);
  }
  if (r < 0) return fail(err, errlen, "JPEG encoding failed for %s: %s", v->path, tjGetErrorStr2(v->tj));
  return 0;
}

int vt_video_extract_jpeg(vt_video *v, const double *timestamps, size_t count, double tolerance, int quality,
                          vt_frame_callback callback, void *context, char *err, size_t errlen) {
  if (quality < 1 || quality > 100) return fail(err, errlen, "JPEG quality %d is not in 1...100", quality);
  for (size_t i = 0; i < count; i++) {
    double t = timestamps[i];
    if (!isfinite(t) || (i > 0 && t < timestamps[i - 1]))
      return fail(err, errlen, "timestamp %zu (%g s) is not finite or is before the previous one", i, t);
    /* The frames nearest t are still ahead unless a frame at or before t was passed already. */
    int reachable = v->head || (v->have[0] && v->time[0] <= t + VT_EPS) || (v->have[1] && v->time[1] <= t + VT_EPS);
    if (!reachable || (t > (v->have[1] ? v->time[1] : 0) + VT_SEEK_AHEAD && keyframe_ahead(v, t))) {
      if (seek_for(v, t, err, errlen) < 0) return reset_window(v, 0), -1;
    }
    while (!v->eof && (!v->have[1] || v->time[1] < t)) {
      if (decode_next(v, err, errlen) < 0) return reset_window(v, 0), -1;
    }
    int k = -1;
    double best = INFINITY;
    for (int j = 0; j < 2; j++) {
      if (v->have[j] && fabs(v->time[j] - t) < best) {
        best = fabs(v->time[j] - t);
        k = j;
      }
    }
    if (k < 0) return fail(err, errlen, "no frame within %g s of %g s (no frames decoded) in %s", tolerance, t, v->path);
    if (best > tolerance)
      return fail(err, errlen, "no frame within %g s of %.6g s (nearest %.6g s%s) in %s", tolerance, t, v->time[k],
                  v->eof && k == 1 ? ", the last frame" : "", v->path);
    unsigned long length = 0;
    if (encode(v, v->win[k], quality, &length, err, errlen) < 0) return -1;
    int r = callback(context, i, v->jpeg, (size_t)length, v->time[k]);
    if (r != 0) return r;
  }
  return 0;
}

/* ---- Still JPEG images ---- */

void vt_free(void *pointer) { free(pointer); }

/* Whether the last TurboJPEG call on h only warned, about something other than truncated
   data: the output is complete then. */
static int tj_tolerable(tjhandle h) {
  return tjGetErrorCode(h) == TJERR_WARNING && !strstr(tjGetErrorStr2(h), "Premature end");
}

/* Encodes pixels (pf: TJPF_RGB, TJPF_GRAY or TJPF_CMYK) into a malloc'd JPEG. */
static int jpeg_encode(const unsigned char *pixels, int width, int height, int pf, int subsamp, int quality,
                       unsigned char **jpeg, size_t *length, char *err, size_t errlen) {
  unsigned long cap = tjBufSize(width, height, subsamp);
  if (cap == (unsigned long)-1 || cap > INT32_MAX)
    return fail(err, errlen, "cannot encode a %dx%d image as JPEG: too large", width, height);
  tjhandle h = tjInitCompress();
  if (!h) return fail(err, errlen, "cannot start the JPEG encoder: %s", tjGetErrorStr2(NULL));
  unsigned char *buf = malloc(cap);
  if (!buf) {
    tjDestroy(h);
    return fail(err, errlen, "out of memory encoding a %dx%d JPEG", width, height);
  }
  unsigned char *dst = buf;
  unsigned long size = cap;
  int r = tjCompress2(h, pixels, width, width * tjPixelSize[pf], height, pf, &dst, &size, subsamp, quality,
                      TJFLAG_NOREALLOC);
  if (r < 0) {
    fail(err, errlen, "JPEG encoding of a %dx%d image failed: %s", width, height, tjGetErrorStr2(h));
    tjDestroy(h);
    free(buf);
    return -1;
  }
  tjDestroy(h);
  unsigned char *shrunk = realloc(buf, size ? size : 1);
  *jpeg = shrunk ? shrunk : buf;
  *length = size;
  return 0;
}

int vt_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, unsigned char **jpeg,
                       size_t *length, char *err, size_t errlen) {
  if (quality < 1 || quality > 100) return fail(err, errlen, "JPEG quality %d is not in 1...100", quality);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
    return fail(err, errlen, "cannot encode a %dx%d image as JPEG (sides must be 1...65535)", width, height);
  return jpeg_encode(rgb, width, height, TJPF_RGB, quality >= 90 ? TJSAMP_444 : TJSAMP_420, quality, jpeg, length,
                     err, errlen);
}

/* Decodes into malloc'd pixels of format pf. */
static int jpeg_decode(tjhandle h, const unsigned char *jpeg, size_t length, int pf, int width, int height,
                       unsigned char **pixels, char *err, size_t errlen) {
  size_t size = (size_t)width * (size_t)height * (size_t)tjPixelSize[pf];
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf) return fail(err, errlen, "out of memory decoding a %dx%d JPEG", width, height);
  if (tjDecompress2(h, jpeg, (unsigned long)length, buf, width, 0, height, pf, 0) < 0 && !tj_tolerable(h)) {
    fail(err, errlen, "JPEG decoding failed: %s", tjGetErrorStr2(h));
    free(buf);
    return -1;
  }
  *pixels = buf;
  return 0;
}

/* Reads the header: size, subsampling (-1 when TurboJPEG cannot classify it) and colorspace. */
static int jpeg_header(tjhandle h, const unsigned char *jpeg, size_t length, int *width, int *height, int *subsamp,
                       int *colorspace, char *err, size_t errlen) {
  if (!jpeg || length == 0) return fail(err, errlen, "not a JPEG: empty data");
  if (length > ULONG_MAX) return fail(err, errlen, "JPEG data too large");
  if (tjDecompressHeader3(h, jpeg, (unsigned long)length, width, height, subsamp, colorspace) < 0)
    return fail(err, errlen, "not a readable JPEG: %s", tjGetErrorStr2(h));
  if (*width <= 0 || *height <= 0) return fail(err, errlen, "JPEG has a bad size %dx%d", *width, *height);
  if (*subsamp < 0 || *subsamp >= TJ_NUMSAMP) *subsamp = -1;
  return 0;
}

int vt_jpeg_decode_rgb(const unsigned char *jpeg, size_t length, unsigned char **rgb, int *width, int *height,
                       char *err, size_t errlen) {
  tjhandle h = tjInitDecompress();
  if (!h) return fail(err, errlen, "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
  int w, hh, subsamp, cs;
  int r = jpeg_header(h, jpeg, length, &w, &hh, &subsamp, &cs, err, errlen);
  if (r == 0) r = jpeg_decode(h, jpeg, length, TJPF_RGB, w, hh, rgb, err, errlen);
  tjDestroy(h);
  if (r == 0) {
    *width = w;
    *height = hh;
  }
  return r;
}

/* Reverses the order of the pixels (bpp bytes each) in place: a 180-degree rotation. */
static void reverse_pixels(unsigned char *p, size_t count, int bpp) {
  if (count < 2) return;
  for (size_t i = 0, j = count - 1; i < j; i++, j--) {
    unsigned char *a = p + i * (size_t)bpp, *b = p + j * (size_t)bpp;
    for (int k = 0; k < bpp; k++) {
      unsigned char t = a[k];
      a[k] = b[k];
      b[k] = t;
    }
  }
}

int vt_jpeg_rotate180(const unsigned char *jpeg, size_t length, unsigned char **out, size_t *out_length, char *err,
                      size_t errlen) {
  tjhandle h = tjInitTransform();
  if (!h) return fail(err, errlen, "cannot start the JPEG transformer: %s", tjGetErrorStr2(NULL));
  int w, hh, subsamp, cs, r;
  if ((r = jpeg_header(h, jpeg, length, &w, &hh, &subsamp, &cs, err, errlen)) < 0) goto done;
  if (subsamp >= 0 && w % tjMCUWidth[subsamp] == 0 && hh % tjMCUHeight[subsamp] == 0) {
    /* Lossless: whole MCUs only, so TJXOPT_PERFECT holds and nothing is trimmed. */
    tjtransform xf;
    memset(&xf, 0, sizeof xf);
    xf.op = TJXOP_ROT180;
    xf.options = TJXOPT_PERFECT;
    unsigned char *dst = NULL;
    unsigned long size = 0;
    if (tjTransform(h, jpeg, (unsigned long)length, 1, &dst, &size, &xf, 0) == 0 || (dst && size && tj_tolerable(h))) {
      unsigned char *copy = malloc(size ? size : 1);
      if (copy && size) memcpy(copy, dst, size);
      tjFree(dst);
      if (!copy) {
        r = fail(err, errlen, "out of memory rotating a %dx%d JPEG", w, hh);
        goto done;
      }
      *out = copy;
      *out_length = size;
      r = 0;
      goto done;
    }
    tjFree(dst); /* fall back to decoding */
  }
  /* Decode, rotate the pixels, re-encode with the same subsampling. */
  int pf = subsamp == TJSAMP_GRAY ? TJPF_GRAY : cs == TJCS_CMYK || cs == TJCS_YCCK ? TJPF_CMYK : TJPF_RGB;
  unsigned char *pixels = NULL;
  if ((r = jpeg_decode(h, jpeg, length, pf, w, hh, &pixels, err, errlen)) < 0) goto done;
  reverse_pixels(pixels, (size_t)w * (size_t)hh, tjPixelSize[pf]);
  r = jpeg_encode(pixels, w, hh, pf, subsamp >= 0 ? subsamp : TJSAMP_444, 95, out, out_length, err, errlen);
  free(pixels);
done:
  tjDestroy(h);
  return r;
}
