/* PNG rows in and out with libpng (see png-stream.h). libpng reports errors by longjmp: each
 * function that calls into it sets its own jump target first, and a reader or writer that
 * took an error is marked failed, since libpng's state is undefined after one. */
#include "cascade/png-stream.h"

#include <errno.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "io-reason.h"
#include "out-file.h"

#define MAX_EDGE (1 << 20)

typedef struct png_msg {
    char text[200];
} png_msg;

static void on_error(png_structp png, png_const_charp msg) {
    png_msg *m = png_get_error_ptr(png);
    snprintf(m->text, sizeof m->text, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

struct cascade_png_reader {
    char       *path;
    FILE       *f;
    png_structp png;
    png_infop   info;
    png_msg     msg;
    int64_t     width, height, next;
    int32_t     channels;
    uint8_t    *whole; /* an interlaced file, decoded at open */
    bool        failed;
};

void cascade_png_reader_free(cascade_png_reader *r) {
    if (!r) return;
    if (r->png) png_destroy_read_struct(&r->png, &r->info, NULL);
    if (r->f) fclose(r->f);
    free(r->whole);
    g_free(r->path);
    free(r);
}

int64_t cascade_png_reader_width(const cascade_png_reader *r) { return r->width; }
int64_t cascade_png_reader_height(const cascade_png_reader *r) { return r->height; }
int32_t cascade_png_reader_channels(const cascade_png_reader *r) { return r->channels; }

/* The header, the conversions to 8-bit RGB(A), and for an interlaced file the whole image.
 * Called under the reader's jump target. */
static void read_header(cascade_png_reader *r, int64_t max_pixels) {
    png_init_io(r->png, r->f);
    png_set_user_limits(r->png, MAX_EDGE, MAX_EDGE);
    png_read_info(r->png, r->info);
    png_uint_32 w = png_get_image_width(r->png, r->info), h = png_get_image_height(r->png, r->info);
    /* before anything is allocated: a few KB of PNG can declare gigabytes of pixels */
    if (max_pixels > 0 && (int64_t)w * (int64_t)h > max_pixels) {
        snprintf(r->msg.text, sizeof r->msg.text,
                 "%ux%u is %lld pixels, above the limit of %lld (a decompression bomb?)", w, h,
                 (long long)w * (long long)h, (long long)max_pixels);
        png_longjmp(r->png, 1);
    }
    int ct = png_get_color_type(r->png, r->info), bd = png_get_bit_depth(r->png, r->info);
    if (bd == 16) png_set_strip_16(r->png);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r->png);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8) png_set_expand_gray_1_2_4_to_8(r->png);
    if (png_get_valid(r->png, r->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(r->png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(r->png);
    int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    int ch = png_get_channels(r->png, r->info);
    if (ch != 3 && ch != 4) png_error(r->png, "unexpected channel count after conversion");
    r->width = w, r->height = h, r->channels = ch;
    if (passes > 1) {
        size_t row = (size_t)w * (size_t)ch;
        r->whole = malloc(row * h);
        if (!r->whole) png_error(r->png, "out of memory for an interlaced image");
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(r->png, r->whole + y * row, NULL);
    }
}

cascade_status cascade_png_reader_open(const char *path, int64_t max_pixels,
                                       cascade_png_reader **out, cascade_error *err) {
    *out = NULL;
    cascade_png_reader *r = calloc(1, sizeof *r);
    if (!r) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    r->path = g_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        int e = errno;
        cascade_png_reader_free(r);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot open: %s", path,
                                 cascade_io_errno_reason(e));
    }
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->msg, on_error, on_warning);
    r->info = r->png ? png_create_info_struct(r->png) : NULL;
    if (!r->png || !r->info) {
        cascade_png_reader_free(r);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: libpng", path);
    }
    if (setjmp(png_jmpbuf(r->png))) {
        cascade_status st =
            cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s", path, r->msg.text);
        cascade_png_reader_free(r);
        return st;
    }
    read_header(r, max_pixels);
    *out = r;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_png_reader_read_rows(cascade_png_reader *r, uint8_t *dst, size_t stride,
                                            int64_t n, cascade_error *err) {
    const size_t row = (size_t)r->width * (size_t)r->channels;
    if (r->failed)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s", r->path, r->msg.text);
    if (n < 0 || n > r->height - r->next || stride < row)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: rows %lld..%lld of %lld (stride %zu)", r->path,
                                 (long long)r->next, (long long)(r->next + n),
                                 (long long)r->height, stride);
    if (r->whole) {
        for (int64_t y = 0; y < n; y++)
            memcpy(dst + (size_t)y * stride, r->whole + (size_t)(r->next + y) * row, row);
        r->next += n;
        return CASCADE_STATUS_OK;
    }
    if (setjmp(png_jmpbuf(r->png))) {
        r->failed = true;
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s", r->path, r->msg.text);
    }
    for (int64_t y = 0; y < n; y++) png_read_row(r->png, dst + (size_t)y * stride, NULL);
    r->next += n;
    /* the rest of the file (its end chunk, a CRC) is checked with the last row */
    if (r->next == r->height) png_read_end(r->png, NULL);
    return CASCADE_STATUS_OK;
}

struct cascade_png_writer {
    char          *path;
    cascade_io_out out;
    png_structp    png;
    png_infop      info;
    png_msg        msg;
    int64_t        width, height, next;
    int32_t        channels;
    bool           failed, cancelled;
};

void cascade_png_writer_abort(cascade_png_writer *w) {
    if (!w) return;
    if (w->png) png_destroy_write_struct(&w->png, &w->info);
    cascade_io_out_abort(&w->out);
    g_free(w->path);
    free(w);
}

cascade_status cascade_png_writer_open(const char *path, int64_t width, int64_t height,
                                       int32_t channels, cascade_png_writer **out,
                                       cascade_error *err) {
    *out = NULL;
    if ((channels != 3 && channels != 4) || width < 1 || height < 1 || width > MAX_EDGE ||
        height > MAX_EDGE)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: not an RGB/RGBA image (%lldx%lldx%d)", path,
                                 (long long)width, (long long)height, channels);
    cascade_png_writer *w = calloc(1, sizeof *w);
    if (!w) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    w->path = g_strdup(path);
    w->width = width, w->height = height, w->channels = channels;
    cascade_status st = cascade_io_out_open(path, &w->out, err);
    if (st != CASCADE_STATUS_OK) {
        cascade_png_writer_abort(w);
        return st;
    }
    w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->msg, on_error, on_warning);
    w->info = w->png ? png_create_info_struct(w->png) : NULL;
    if (!w->png || !w->info) {
        cascade_png_writer_abort(w);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: libpng", path);
    }
    if (setjmp(png_jmpbuf(w->png))) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", path, w->msg.text);
        cascade_png_writer_abort(w);
        return st;
    }
    png_init_io(w->png, w->out.f);
    png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    *out = w;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_png_writer_write_rows(cascade_png_writer *w, const uint8_t *src,
                                             size_t stride, int64_t n,
                                             const cascade_cancel *cancel, cascade_error *err) {
    const size_t row = (size_t)w->width * (size_t)w->channels;
    if (w->cancelled) return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", w->path);
    if (w->failed) return cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", w->path, w->msg.text);
    if (n < 0 || n > w->height - w->next || stride < row)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: rows %lld..%lld of %lld (stride %zu)", w->path,
                                 (long long)w->next, (long long)(w->next + n),
                                 (long long)w->height, stride);
    if (setjmp(png_jmpbuf(w->png))) {
        w->failed = true;
        /* e.g. a write interrupted by the signal that raised cancel */
        if (cascade_cancel_is_raised(cancel)) w->cancelled = true;
        return w->cancelled
                   ? cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", w->path)
                   : cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", w->path, w->msg.text);
    }
    /* row by row, so a cancel stops a large write within one row */
    for (int64_t y = 0; y < n; y++) {
        if (cascade_cancel_is_raised(cancel)) {
            w->cancelled = true;
            return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", w->path);
        }
        png_write_row(w->png, (png_const_bytep)(src + (size_t)y * stride));
    }
    w->next += n;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_png_writer_commit(cascade_png_writer *w, cascade_error *err) {
    cascade_status st = CASCADE_STATUS_OK;
    if (w->cancelled)
        st = cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", w->path);
    else if (w->failed)
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", w->path, w->msg.text);
    else if (w->next != w->height)
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: %lld of %lld rows written",
                               w->path, (long long)w->next, (long long)w->height);
    if (st != CASCADE_STATUS_OK) {
        cascade_png_writer_abort(w);
        return st;
    }
    if (setjmp(png_jmpbuf(w->png))) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", w->path, w->msg.text);
        cascade_png_writer_abort(w);
        return st;
    }
    png_write_end(w->png, NULL);
    png_destroy_write_struct(&w->png, &w->info);
    st = cascade_io_out_commit(&w->out, w->path, err);
    g_free(w->path);
    free(w);
    return st;
}
