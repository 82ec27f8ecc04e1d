/* PNG output (io/image-io.c over io/out-file.c): whole or not at all (issue 14). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cascade/image-io.h"
#include "cascade/png-stream.h"
#include "cascade/resample.h"
#include "test-common.h"

static int setup(void **state) {
    *state = test_make_tmpdir();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    char       *dir = *state;
    GDir       *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, n, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(dir);
    free(dir);
    return 0;
}

/* A w x h RGB image of noise (does not compress). */
static cascade_image *noise(int64_t w, int64_t h) {
    cascade_image *im = NULL;
    assert_int_equal(cascade_image_new(w, h, 3, &im, NULL), CASCADE_STATUS_OK);
    uint32_t s = 12345;
    for (int64_t i = 0; i < w * h * 3; i++) im->pixels[i] = (uint8_t)((s = s * 1103515245u + 12345u) >> 24);
    return im;
}

/* Number of entries in dir (the temporary files must all be gone). */
static int entries(const char *dir) {
    GDir *d = g_dir_open(dir, 0, NULL);
    int   n = 0;
    while (d && g_dir_read_name(d)) n++;
    if (d) g_dir_close(d);
    return n;
}

/* A write that fails half-way (file size limit) keeps the previous file byte-identical and
 * leaves no temporary file; the error names the path and the reason. */
static void test_image_io_failed_write_keeps_old_file(void **state) {
    const char    *dir = *state;
    char          *path = g_build_filename(dir, "out.png", NULL);
    cascade_image *small = noise(4, 4), *big = noise(256, 256);
    assert_int_equal(cascade_image_write_png(path, small, NULL), CASCADE_STATUS_OK);
    gchar *before = NULL, *after = NULL;
    gsize  n_before = 0, n_after = 0;
    assert_true(g_file_get_contents(path, &before, &n_before, NULL));

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_image_write_png(path, big, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, path));

    assert_true(g_file_get_contents(path, &after, &n_after, NULL));
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    assert_int_equal(entries(dir), 1);
    g_free(before), g_free(after), g_free(path);
    cascade_image_free(small), cascade_image_free(big);
}

/* A cancelled write (Ctrl-C while the PNG is written) is CANCELLED, keeps the previous file
 * and leaves neither a truncated output nor a temporary file. */
static void test_image_io_cancelled_write(void **state) {
    const char    *dir = *state;
    char          *path = g_build_filename(dir, "out.png", NULL);
    char          *fresh = g_build_filename(dir, "new.png", NULL);
    cascade_image *small = noise(4, 4), *big = noise(64, 64);
    assert_int_equal(cascade_image_write_png(path, small, NULL), CASCADE_STATUS_OK);
    gchar *before = NULL, *after = NULL;
    gsize  n_before = 0, n_after = 0;
    assert_true(g_file_get_contents(path, &before, &n_before, NULL));
    cascade_cancel cancel;
    cascade_cancel_init(&cancel);
    cascade_cancel_raise(&cancel);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_image_write_png_cancel(path, big, &cancel, &err),
                     CASCADE_STATUS_CANCELLED);
    assert_int_equal(cascade_image_write_png_cancel(fresh, big, &cancel, NULL),
                     CASCADE_STATUS_CANCELLED);
    assert_false(g_file_test(fresh, G_FILE_TEST_EXISTS));
    assert_true(g_file_get_contents(path, &after, &n_after, NULL));
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    assert_int_equal(entries(dir), 1);
    /* not raised: the new image replaces the old file */
    cascade_cancel_reset(&cancel);
    assert_int_equal(cascade_image_write_png_cancel(path, big, &cancel, NULL), CASCADE_STATUS_OK);
    cascade_image *back = NULL;
    assert_int_equal(cascade_image_read_png(path, &back, NULL), CASCADE_STATUS_OK);
    assert_int_equal(back->width, 64);
    assert_memory_equal(back->pixels, big->pixels, 64 * 64 * 3);
    cascade_image_free(back);
    g_free(before), g_free(after), g_free(path), g_free(fresh);
    cascade_image_free(small), cascade_image_free(big);
}

/* The output check fails before any compute for a missing folder, a path below a file and a
 * folder, naming the path and the reason; a good path passes and leaves nothing behind. */
static void test_image_io_check_output(void **state) {
    const char   *dir = *state;
    char         *missing = g_build_filename(dir, "no-such-folder", "out.png", NULL);
    char         *file = g_build_filename(dir, "f.png", NULL);
    char         *below = g_build_filename(file, "out.png", NULL);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_image_check_output(missing, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, missing));
    assert_non_null(strstr(err.message, "No such file"));
    assert_true(test_write_file(file, "x", 1));
    cascade_error_init(&err);
    assert_int_equal(cascade_image_check_output(below, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, "Not a directory"));
    cascade_error_init(&err);
    assert_int_equal(cascade_image_check_output(dir, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, "folder"));
    char *good = g_build_filename(dir, "good.png", NULL);
    assert_int_equal(cascade_image_check_output(good, NULL), CASCADE_STATUS_OK);
    assert_int_equal(entries(dir), 1); /* only f.png */
    g_free(missing), g_free(file), g_free(below), g_free(good);
}

/* A PNG whose header declares more pixels than the limit is refused before its pixels are
 * allocated, naming the size (issue 14: decompression bombs); the default limit is 2^27. */
static void test_image_io_pixel_limit(void **state) {
    const char    *dir = *state;
    char          *path = g_build_filename(dir, "in.png", NULL);
    cascade_image *im = noise(20, 10), *back = (cascade_image *)&back;
    assert_int_equal(cascade_image_write_png(path, im, NULL), CASCADE_STATUS_OK);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_image_read_png_limit(path, 199, &back, &err), CASCADE_STATUS_FORMAT);
    assert_null(back);
    assert_non_null(strstr(err.message, "20x10"));
    assert_non_null(strstr(err.message, "limit"));
    assert_int_equal(cascade_image_read_png_limit(path, 200, &back, NULL), CASCADE_STATUS_OK);
    cascade_image_free(back);
    assert_true(CASCADE_IMAGE_MAX_PIXELS == (int64_t)1 << 27);
    g_free(path);
    cascade_image_free(im);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* <source>/tests/data/<name> */
static char *data_path(const char *name) {
    const char *src = getenv("CASCADE_SOURCE_DIR");
    return g_build_filename(src && *src ? src : ".", "tests", "data", name, NULL);
}

/* The one resize rule (cascade_resample_planes) against PIL's BILINEAR resize of a float
 * image (tests/data/make-resample-pil.py): 13x9 shrunk to 5x4 (antialiased) and enlarged to
 * 29x20, within 1e-3 of 255 (PIL sums in double, we in float). */
static void test_resample_matches_pil(void **state) {
    (void)state;
    char  *path = data_path("resample-pil.bin");
    gchar *buf = NULL;
    gsize  len = 0;
    assert_true(g_file_get_contents(path, &buf, &len, NULL));
    assert_int_equal(len, sizeof(float) * (9 * 13 + 4 * 5 + 20 * 29));
    const float *src = (const float *)buf, *small = src + 9 * 13, *big = small + 4 * 5;
    float        out[20 * 29];
    assert_int_equal(cascade_resample_planes(src, 1, 9, 13, 4, 5, out, NULL), CASCADE_STATUS_OK);
    for (int i = 0; i < 4 * 5; i++) assert_float_equal(out[i], small[i], 1e-3);
    assert_int_equal(cascade_resample_planes(src, 1, 9, 13, 20, 29, out, NULL), CASCADE_STATUS_OK);
    for (int i = 0; i < 20 * 29; i++) assert_float_equal(out[i], big[i], 1e-3);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_resample_planes(src, 1, 9, 13, 0, 5, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    g_free(buf);
    g_free(path);
}

/* The row reader (png-stream.c): a plain and an Adam7-interlaced file of the same RGBA pixels
 * (made by tools outside the project: PIL, and a hand-written Adam7 encoder) read in uneven
 * chunks of rows give the same bytes; reading past the end is refused. */
static void test_png_reader_rows(void **state) {
    (void)state;
    static const char *const names[] = {"rows-plain.png", "rows-adam7.png"};
    uint8_t *got[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        char               *path = data_path(names[k]);
        cascade_png_reader *r = NULL;
        cascade_error       err;
        cascade_error_init(&err);
        if (cascade_png_reader_open(path, 0, &r, &err)) fail_msg("%s", err.message);
        assert_int_equal(cascade_png_reader_width(r), 37);
        assert_int_equal(cascade_png_reader_height(r), 23);
        assert_int_equal(cascade_png_reader_channels(r), 4);
        const size_t row = 37 * 4;
        got[k] = calloc(23, row);
        for (int64_t y = 0, n = 1; y < 23; y += n, n = n % 5 + 2) {
            if (y + n > 23) n = 23 - y;
            assert_int_equal(cascade_png_reader_read_rows(r, got[k] + y * row, row, n, &err),
                             CASCADE_STATUS_OK);
        }
        assert_int_equal(cascade_png_reader_read_rows(r, got[k], row, 1, &err),
                         CASCADE_STATUS_INVALID_ARG);
        cascade_png_reader_free(r);
        g_free(path);
    }
    assert_memory_equal(got[0], got[1], 23 * 37 * 4);
    /* not all one value: the alpha ramp (x * 7 mod 256) is there */
    assert_int_equal(got[0][4 * 5 + 3], 35);
    free(got[0]), free(got[1]);
}

/* The row writer: rows written in pieces read back as written; a file finished with rows
 * missing, or aborted, is not committed: the previous file stays and no temporary is left. */
static void test_png_writer_rows(void **state) {
    const char    *dir = *state;
    char          *path = g_build_filename(dir, "rows.png", NULL);
    cascade_image *im = noise(29, 17), *back = NULL;
    cascade_error  err;
    cascade_error_init(&err);
    cascade_png_writer *w = NULL;
    assert_int_equal(cascade_png_writer_open(path, 29, 17, 3, &w, &err), CASCADE_STATUS_OK);
    for (int64_t y = 0; y < 17; y += 4)
        assert_int_equal(cascade_png_writer_write_rows(w, im->pixels + y * 29 * 3, 29 * 3,
                                                       y + 4 <= 17 ? 4 : 17 - y, NULL, &err),
                         CASCADE_STATUS_OK);
    assert_int_equal(cascade_png_writer_commit(w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_image_read_png(path, &back, &err), CASCADE_STATUS_OK);
    assert_memory_equal(back->pixels, im->pixels, 29 * 17 * 3);
    cascade_image_free(back);
    back = NULL;
    /* the readers' pixel limit can be set for a machine with more memory (or less) */
    assert_int_equal(cascade_image_max_pixels(), CASCADE_IMAGE_MAX_PIXELS);
    setenv("CASCADE_MAX_PIXELS", "100", 1);
    assert_int_equal(cascade_image_max_pixels(), 100);
    assert_int_equal(cascade_image_read_png(path, &back, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "limit of 100"));
    setenv("CASCADE_MAX_PIXELS", "lots", 1);
    assert_int_equal(cascade_image_max_pixels(), CASCADE_IMAGE_MAX_PIXELS);
    unsetenv("CASCADE_MAX_PIXELS");
    cascade_error_init(&err);

    cascade_image *other = noise(5, 5);
    assert_int_equal(cascade_png_writer_open(path, 5, 5, 3, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_png_writer_write_rows(w, other->pixels, 15, 3, NULL, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(cascade_png_writer_commit(w, &err), CASCADE_STATUS_INVALID_ARG);
    if (!strstr(err.message, "3 of 5 rows")) fail_msg("%s", err.message);
    assert_int_equal(cascade_png_writer_open(path, 5, 5, 3, &w, &err), CASCADE_STATUS_OK);
    cascade_png_writer_abort(w);
    assert_int_equal(entries(dir), 1);
    assert_int_equal(cascade_image_read_png(path, &back, &err), CASCADE_STATUS_OK);
    assert_int_equal(back->width, 29);
    assert_memory_equal(back->pixels, im->pixels, 29 * 17 * 3);
    cascade_image_free(back);
    cascade_image_free(other);
    cascade_image_free(im);
    g_free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_image_io_failed_write_keeps_old_file),
        T(test_image_io_cancelled_write),
        T(test_image_io_check_output),
        T(test_image_io_pixel_limit),
        T(test_resample_matches_pil),
        T(test_png_reader_rows),
        T(test_png_writer_rows),
    };
    return cmocka_run_group_tests_name("image-io", tests, NULL, NULL);
}
