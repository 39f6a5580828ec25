#include <snappy-c.h>
#include <zstd.h>
#include <zlib.h>
