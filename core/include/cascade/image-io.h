/* 8-bit image files for the CLI and tests: PNG through libpng. Images are interleaved,
 * rows top to bottom, no padding between rows. */
#ifndef CASCADE_IMAGE_IO_H
#define CASCADE_IMAGE_IO_H

#include <stdint.h>

#include "cascade/cancel.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_image {
    int64_t  width, height;
    int32_t  channels; /* 3 (RGB) or 4 (RGBA) */
    uint8_t *pixels;   /* height * width * channels bytes */
} cascade_image;

/* A zeroed image. *out stays NULL on failure. */
cascade_status cascade_image_new(int64_t width, int64_t height, int32_t channels,
                                 cascade_image **out, cascade_error *err);
void           cascade_image_free(cascade_image *img); /* NULL-safe */

/* Reads any PNG: palette and grey are expanded to RGB, transparency (alpha channel or tRNS)
 * to RGBA, 16-bit samples reduced to 8 bits. Gamma and colour profiles are ignored (pixel
 * values are used as stored). FORMAT for a damaged file, IO when it cannot be read. */
cascade_status cascade_image_read_png(const char *path, cascade_image **out, cascade_error *err);
/* Total pixels cascade_image_read_png accepts (the header is checked before any allocation,
 * so a small file declaring a huge canvas fails at once): 2^27, ~11,585 x 11,585. */
#define CASCADE_IMAGE_MAX_PIXELS ((int64_t)1 << 27)
/* The limit image readers apply: $CASCADE_MAX_PIXELS when set to a positive integer (for a
 * machine with the memory for larger canvases), else CASCADE_IMAGE_MAX_PIXELS. */
int64_t cascade_image_max_pixels(void);
/* cascade_image_read_png with another limit (max_pixels <= 0: none). */
cascade_status cascade_image_read_png_limit(const char *path, int64_t max_pixels,
                                            cascade_image **out, cascade_error *err);
/* Writes an 8-bit RGB or RGBA PNG whole or not at all: into a temporary file beside path,
 * renamed over it when complete, so a failed write keeps the previous file and never leaves
 * a truncated one. IO errors name path and the reason. */
cascade_status cascade_image_write_png(const char *path, const cascade_image *img,
                                       cascade_error *err);
/* The same, checking cancel (may be NULL) between rows: CANCELLED, with nothing written and
 * the previous file kept. */
cascade_status cascade_image_write_png_cancel(const char *path, const cascade_image *img,
                                              const cascade_cancel *cancel, cascade_error *err);
/* Checks, before a long computation, that path can be written the way the writers do it (a
 * temporary file in its folder): IO naming path and the reason (missing folder, permission,
 * read-only file system, a folder at path). Leaves nothing behind. */
cascade_status cascade_image_check_output(const char *path, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
