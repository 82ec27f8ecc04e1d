/* Whole 8-bit images and PNG files (see image-io.h); the files go through png-stream.c's
 * row reader and writer, so there is one libpng path. */
#include "cascade/image-io.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/png-stream.h"
#include "out-file.h"

#define MAX_EDGE (1 << 20)

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

int64_t cascade_image_max_pixels(void) {
    const char *e = getenv("CASCADE_MAX_PIXELS");
    char       *end = NULL;
    long long   v = e ? strtoll(e, &end, 10) : 0;
    return e && *e && end && !*end && v > 0 ? (int64_t)v : CASCADE_IMAGE_MAX_PIXELS;
}

cascade_status cascade_image_read_png(const char *path, cascade_image **out, cascade_error *err) {
    return cascade_image_read_png_limit(path, cascade_image_max_pixels(), out, err);
}

cascade_status cascade_image_read_png_limit(const char *path, int64_t max_pixels,
                                            cascade_image **out, cascade_error *err) {
    *out = NULL;
    cascade_png_reader *r = NULL;
    cascade_image      *img = NULL;
    CASCADE_TRY(cascade_png_reader_open(path, max_pixels, &r, err));
    cascade_status st =
        cascade_image_new(cascade_png_reader_width(r), cascade_png_reader_height(r),
                          cascade_png_reader_channels(r), &img, err);
    if (st == CASCADE_STATUS_OK)
        st = cascade_png_reader_read_rows(r, img->pixels,
                                          (size_t)(img->width * img->channels), img->height, err);
    cascade_png_reader_free(r);
    if (st != CASCADE_STATUS_OK) {
        cascade_image_free(img);
        return st;
    }
    *out = img;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_image_write_png(const char *path, const cascade_image *img,
                                       cascade_error *err) {
    return cascade_image_write_png_cancel(path, img, NULL, err);
}

cascade_status cascade_image_write_png_cancel(const char *path, const cascade_image *img,
                                              const cascade_cancel *cancel, cascade_error *err) {
    if (!img)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: no image", path);
    cascade_png_writer *w = NULL;
    CASCADE_TRY(cascade_png_writer_open(path, img->width, img->height, img->channels, &w, err));
    cascade_status st = cascade_png_writer_write_rows(
        w, img->pixels, (size_t)(img->width * img->channels), img->height, cancel, err);
    if (st != CASCADE_STATUS_OK) {
        cascade_png_writer_abort(w);
        return st;
    }
    return cascade_png_writer_commit(w, err);
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
