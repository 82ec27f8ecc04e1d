/* PNG files row by row, for images too large to hold whole (cascade upscale streams its input
 * and output through these). Same conversions and rules as image-io.h, which is built on them:
 * 8-bit RGB or RGBA rows, top to bottom. */
#ifndef CASCADE_PNG_STREAM_H
#define CASCADE_PNG_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/cancel.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_png_reader cascade_png_reader;

/* Opens path and reads its header: refused above max_pixels (<= 0: no limit) before anything
 * is allocated. An interlaced PNG cannot be read in rows and is decoded whole here (so it
 * costs its full size). FORMAT for a damaged file, IO when it cannot be read. */
cascade_status cascade_png_reader_open(const char *path, int64_t max_pixels,
                                       cascade_png_reader **out, cascade_error *err);
void           cascade_png_reader_free(cascade_png_reader *r); /* NULL-safe */
int64_t        cascade_png_reader_width(const cascade_png_reader *r);
int64_t        cascade_png_reader_height(const cascade_png_reader *r);
int32_t        cascade_png_reader_channels(const cascade_png_reader *r); /* 3 or 4 */
/* The next n rows (width * channels bytes each, stride apart in dst). Reading past the last
 * row is INVALID_ARG; a damaged file is FORMAT, after which the reader only fails. */
cascade_status cascade_png_reader_read_rows(cascade_png_reader *r, uint8_t *dst, size_t stride,
                                            int64_t n, cascade_error *err);

typedef struct cascade_png_writer cascade_png_writer;

/* Starts an 8-bit RGB (channels 3) or RGBA (4) PNG of width x height at path, written into
 * a temporary file beside it (see cascade_image_write_png): nothing replaces path before
 * cascade_png_writer_commit. IO naming path and the reason when it cannot be created. */
cascade_status cascade_png_writer_open(const char *path, int64_t width, int64_t height,
                                       int32_t channels, cascade_png_writer **out,
                                       cascade_error *err);
/* Appends n rows (stride apart in src), checking cancel (may be NULL) between rows: then
 * CANCELLED, and the writer only fails afterwards. */
cascade_status cascade_png_writer_write_rows(cascade_png_writer *w, const uint8_t *src,
                                             size_t stride, int64_t n,
                                             const cascade_cancel *cancel, cascade_error *err);
/* Once every row is written: finishes the file and renames it over path. Frees w either way;
 * on failure the previous file at path is kept. */
cascade_status cascade_png_writer_commit(cascade_png_writer *w, cascade_error *err);
/* Drops the temporary file and frees w (NULL-safe); path is left as it was. */
void cascade_png_writer_abort(cascade_png_writer *w);

#ifdef __cplusplus
}
#endif

#endif
