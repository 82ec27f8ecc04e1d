/* PNG reading and writing with libpng (see image-io.h). libpng reports errors by longjmp:
 * its error callback records the message, and every setjmp site releases what it holds. */
#include "cascade/image-io.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "io-reason.h"
#include "out-file.h"

#define MAX_EDGE (1 << 20)

typedef struct png_ctx {
    const char *path;
    char        msg[200];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

cascade_status cascade_image_new(int64_t width, int64_t height, int32_t channels,
                                 cascade_image **out, cascade_error *err) {
    *out = NULL;
    if (width < 1 || height < 1 || width > MAX_EDGE || height > MAX_EDGE || channels < 1 ||
        channels > 4)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "image %lldx%lldx%d",
                                 (long long)width, (long long)height, channels);
    cascade_image *img = calloc(1, sizeof *img);
    uint64_t       n = (uint64_t)width * (uint64_t)height * (uint64_t)channels;
    if (img && n <= SIZE_MAX) img->pixels = calloc((size_t)n, 1);
    if (!img || !img->pixels) {
        free(img);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "image %lldx%lld: out of memory", (long long)width,
                                 (long long)height);
    }
    img->width = width, img->height = height, img->channels = channels;
    *out = img;
    return CASCADE_STATUS_OK;
}

void cascade_image_free(cascade_image *img) {
    if (!img) return;
    free(img->pixels);
    free(img);
}

cascade_status cascade_image_read_png(const char *path, cascade_image **out, cascade_error *err) {
    return cascade_image_read_png_limit(path, CASCADE_IMAGE_MAX_PIXELS, out, err);
}

cascade_status cascade_image_read_png_limit(const char *path, int64_t max_pixels,
                                            cascade_image **out, cascade_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot open: %s", path,
                                 cascade_io_errno_reason(errno));
    png_ctx                 c = {.path = path};
    png_structp             png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error,
                                                         on_warning);
    png_infop               info = png ? png_create_info_struct(png) : NULL;
    cascade_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        cascade_image_free(img);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s", path, c.msg);
    }
    png_init_io(png, f);
    png_set_user_limits(png, MAX_EDGE, MAX_EDGE);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    /* before anything is allocated: a few KB of PNG can declare gigabytes of pixels */
    if (max_pixels > 0 && (int64_t)w * (int64_t)h > max_pixels) {
        snprintf(c.msg, sizeof c.msg,
                 "%ux%u is %lld pixels, above the limit of %lld (a decompression bomb?)", w, h,
                 (long long)w * (long long)h, (long long)max_pixels);
        png_longjmp(png, 1);
    }
    int         ct = png_get_color_type(png, info), bd = png_get_bit_depth(png, info);
    if (bd == 16) png_set_strip_16(png);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (ch != 3 && ch != 4) png_error(png, "unexpected channel count after conversion");
    cascade_image *im = NULL;
    cascade_error  e2;
    cascade_error_init(&e2);
    if (cascade_image_new(w, h, ch, &im, &e2) != CASCADE_STATUS_OK) png_error(png, e2.message);
    img = im;
    rows = malloc(sizeof(png_bytep) * h);
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->pixels + (size_t)y * w * (size_t)ch;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    *out = img;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_image_write_png(const char *path, const cascade_image *img,
                                       cascade_error *err) {
    return cascade_image_write_png_cancel(path, img, NULL, err);
}

cascade_status cascade_image_write_png_cancel(const char *path, const cascade_image *img,
                                              const cascade_cancel *cancel, cascade_error *err) {
    if (!img || (img->channels != 3 && img->channels != 4) || img->width > MAX_EDGE ||
        img->height > MAX_EDGE)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: not an RGB/RGBA image",
                                 path);
    /* written beside path and renamed over it when complete (out-file.h) */
    cascade_io_out out = {0};
    CASCADE_TRY(cascade_io_out_open(path, &out, err));
    png_ctx     c = {.path = path};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    png_infop   info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        cascade_io_out_abort(&out);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        cascade_io_out_abort(&out);
        if (cascade_cancel_is_raised(cancel)) /* e.g. a write interrupted by the signal */
            return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", path);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", path, c.msg);
    }
    png_init_io(png, out.f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    /* row by row, so a cancel stops a large write within one row */
    for (int64_t y = 0; y < img->height; y++) {
        if (cascade_cancel_is_raised(cancel)) png_error(png, "cancelled");
        png_write_row(png, img->pixels + (size_t)y * (size_t)img->width * (size_t)img->channels);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (cascade_cancel_is_raised(cancel)) {
        cascade_io_out_abort(&out);
        return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "%s: cancelled", path);
    }
    return cascade_io_out_commit(&out, path, err);
}

cascade_status cascade_image_check_output(const char *path, cascade_error *err) {
    if (!path || !*path)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "no output path");
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: is a folder, not a file", path);
    /* the exact step the writer will take: a temporary file in the same folder */
    cascade_io_out out = {0};
    CASCADE_TRY(cascade_io_out_open(path, &out, err));
    cascade_io_out_abort(&out);
    return CASCADE_STATUS_OK;
}
