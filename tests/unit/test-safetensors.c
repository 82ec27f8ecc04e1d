/* safetensors reader/writer: valid files, every malformed-header case, round trips, and the
 * golden files written by the reference library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "cascade/safetensors.h"
#include "test-common.h"

/* An image: u64 header length, header text, data bytes. Caller frees. */
static uint8_t *mk_image(const char *hdr, const void *data, size_t dlen, size_t *size) {
    size_t   hl = strlen(hdr);
    uint8_t *b = malloc(8 + hl + dlen + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    *size = 8 + hl + dlen;
    return b;
}

/* Opens hdr + dlen zero bytes; returns the status, err filled, st closed. */
static cascade_status open_hdr(const char *hdr, size_t dlen, cascade_error *err) {
    uint8_t             *zeros = calloc(1, dlen + 1);
    size_t               size;
    uint8_t             *img = mk_image(hdr, zeros, dlen, &size);
    cascade_safetensors *st = (cascade_safetensors *)0x1;
    cascade_error_init(err);
    cascade_status s = cascade_safetensors_open_memory(img, size, "mem.safetensors", &st, err);
    if (s != CASCADE_STATUS_OK) assert_null(st);
    cascade_safetensors_close(st);
    free(img);
    free(zeros);
    return s;
}

static void expect_fail(const char *hdr, size_t dlen, cascade_status want, const char *needle) {
    cascade_error  err;
    cascade_status s = open_hdr(hdr, dlen, &err);
    if (s != want || !strstr(err.message, "mem.safetensors") ||
        (needle && !strstr(err.message, needle)))
        print_error("status %s, message: %s\n", cascade_status_name(s), err.message);
    assert_int_equal(s, want);
    assert_non_null(strstr(err.message, "mem.safetensors"));
    if (needle) assert_non_null(strstr(err.message, needle));
}

/* A well-formed image exposes names (sorted), dtypes, shapes, data and metadata. */
static void test_safetensors_open_memory_valid(void **state) {
    (void)state;
    float    a[6] = {1, 2, 3, 4, 5, 6};
    uint16_t b[2] = {0x3c00, 0xc000}; /* fp16 1, -2 */
    uint8_t  data[28];
    memcpy(data, a, 24);
    memcpy(data + 24, b, 4);
    const char          *hdr = "{\"z\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                               "\"__metadata__\":{\"format\":\"pt\"},"
                               "\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]}}";
    size_t               size;
    uint8_t             *img = mk_image(hdr, data, sizeof data, &size);
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "m", &st, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_safetensors_count(st), 2);
    assert_string_equal(cascade_safetensors_entry(st, 0)->name, "a");
    assert_string_equal(cascade_safetensors_entry(st, 1)->name, "z");
    assert_null(cascade_safetensors_entry(st, 2));
    const cascade_st_entry *z = cascade_safetensors_find(st, "z");
    assert_non_null(z);
    assert_int_equal(z->dtype, CASCADE_DTYPE_F32);
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[0], 2);
    assert_int_equal(z->shape[1], 3);
    assert_int_equal(z->nbytes, 24);
    assert_memory_equal(z->data, a, 24);
    assert_null(cascade_safetensors_find(st, "missing"));
    assert_string_equal(cascade_safetensors_metadata(st, "format"), "pt");
    assert_null(cascade_safetensors_metadata(st, "nope"));

    cascade_tensor *t = NULL;
    assert_int_equal(cascade_safetensors_load(st, "a", CASCADE_DTYPE_F32, &t, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(t->dtype, CASCADE_DTYPE_F32);
    assert_true(((float *)t->data)[0] == 1.0f);
    assert_true(((float *)t->data)[1] == -2.0f);
    cascade_tensor_free(t);
    cascade_safetensors_close(st);
    free(img);
}

/* A file shorter than the 8-byte length prefix is FORMAT, naming the file. */
static void test_safetensors_truncated_prefix(void **state) {
    (void)state;
    uint8_t              b[5] = {1, 0, 0, 0, 0};
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(b, sizeof b, "short.st", &st, &err),
                     CASCADE_STATUS_FORMAT);
    assert_null(st);
    assert_non_null(strstr(err.message, "short.st"));
    assert_non_null(strstr(err.message, "truncated"));
}

/* A real file cut short in its data area is refused with the tensor that runs past the end. */
static void test_safetensors_truncated_file(void **state) {
    (void)state;
    float    v[16] = {0};
    size_t   size;
    uint8_t *img = mk_image("{\"w\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[0,64]}}", v,
                            sizeof v, &size);
    char    *dir = test_make_tmpdir();
    char     path[4096];
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    assert_true(test_write_file(path, img, size - 10));
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open(path, &st, &err), CASCADE_STATUS_FORMAT);
    assert_null(st);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "'w'"));
    assert_non_null(strstr(err.message, "past the data area"));
    unlink(path);
    rmdir(dir);
    free(dir);
    free(img);
}

/* Releasing an entry of a mapped file (and of a memory image) leaves its bytes readable and
 * unchanged: the pages are read from the file again (12 KiB, so whole pages are dropped). */
static void test_safetensors_release_keeps_data(void **state) {
    (void)state;
    enum { N = 3072 };
    static float v[N];
    for (int i = 0; i < N; i++) v[i] = (float)i * 0.25f - 7.0f;
    size_t   size;
    uint8_t *img = mk_image("{\"w\":{\"dtype\":\"F32\",\"shape\":[3072],\"data_offsets\":[0,12288]}}",
                            v, sizeof v, &size);
    char    *dir = test_make_tmpdir();
    char     path[4096];
    snprintf(path, sizeof path, "%s/r.safetensors", dir);
    assert_true(test_write_file(path, img, size));
    cascade_safetensors *st = NULL, *mem = NULL;
    assert_int_equal(cascade_safetensors_open(path, &st, NULL), CASCADE_STATUS_OK);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "img", &mem, NULL), CASCADE_STATUS_OK);
    for (int k = 0; k < 2; k++) {
        const cascade_st_entry *e = cascade_safetensors_find(k ? mem : st, "w");
        assert_non_null(e);
        assert_memory_equal(e->data, v, sizeof v); /* touched: resident */
        cascade_safetensors_release(k ? mem : st, e);
        assert_memory_equal(e->data, v, sizeof v);
    }
    cascade_safetensors_close(mem);
    cascade_safetensors_close(st);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(img);
}

/* A header length larger than the file is FORMAT. */
static void test_safetensors_header_length_past_end(void **state) {
    (void)state;
    size_t   size;
    uint8_t *img = mk_image("{}", NULL, 0, &size);
    img[0] = 200;
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "mem.safetensors", &st, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "header length 200"));
    /* the full 64-bit range too: no overflow in the bound check */
    memset(img, 0xff, 8);
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "mem.safetensors", &st, &err),
                     CASCADE_STATUS_FORMAT);
    assert_null(st);
    free(img);
}

/* data_offsets ending past the data area are FORMAT naming the tensor. */
static void test_safetensors_offsets_out_of_range(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16,
                CASCADE_STATUS_FORMAT, "'t'");
}

/* begin > end is FORMAT. */
static void test_safetensors_offsets_reversed(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16,
                CASCADE_STATUS_FORMAT, "begin 8 > end 4");
}

/* data_offsets that are not a pair of non-negative integers are FORMAT. */
static void test_safetensors_offsets_not_int_pair(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0]}}", 16,
                CASCADE_STATUS_FORMAT, "data_offsets");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[\"0\",4]}}", 16,
                CASCADE_STATUS_FORMAT, "data_offsets");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4.0]}}", 16,
                CASCADE_STATUS_FORMAT, "data_offsets");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-4,0]}}", 16,
                CASCADE_STATUS_FORMAT, "data_offsets");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[4]}}", 16, CASCADE_STATUS_FORMAT,
                "data_offsets");
}

/* Two tensors sharing bytes are FORMAT naming both. */
static void test_safetensors_overlap(void **state) {
    (void)state;
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
                16, CASCADE_STATUS_FORMAT, "overlap");
    cascade_error err;
    open_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
             16, &err);
    assert_non_null(strstr(err.message, "'a'"));
    assert_non_null(strstr(err.message, "'b'"));
}

/* Empty tensors own no bytes: several may share an offset, even inside another range. */
static void test_safetensors_empty_tensors_allowed(void **state) {
    (void)state;
    cascade_error err;
    assert_int_equal(open_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                              "\"c\":{\"dtype\":\"F16\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
                              "\"d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}",
                              12, &err),
                     CASCADE_STATUS_OK);
}

/* Loading an empty tensor into another dtype gives an empty tensor (no write past it). */
static void test_safetensors_load_empty_tensor(void **state) {
    (void)state;
    size_t   size;
    uint8_t *img = mk_image("{\"e\":{\"dtype\":\"U8\",\"shape\":[3,0],\"data_offsets\":[0,0]}}",
                            NULL, 0, &size);
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "m", &st, &err), CASCADE_STATUS_OK);
    cascade_tensor *t = NULL;
    assert_int_equal(cascade_safetensors_load(st, "e", CASCADE_DTYPE_F32, &t, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(cascade_tensor_numel(t), 0);
    cascade_tensor_free(t);
    cascade_safetensors_close(st);
    free(img);
}

/* A dtype outside the format is FORMAT naming it. */
static void test_safetensors_unknown_dtype(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                CASCADE_STATUS_FORMAT, "unknown dtype 'F17'");
    expect_fail("{\"t\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                CASCADE_STATUS_FORMAT, "'dtype'");
}

/* nbytes must equal numel x dtype size. */
static void test_safetensors_size_shape_mismatch(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
                CASCADE_STATUS_FORMAT, "needs 24 bytes but data_offsets span 20");
}

/* numel x size overflowing 64 bits is FORMAT, not a wrapped small size. */
static void test_safetensors_shape_overflow(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
                "\"data_offsets\":[0,0]}}",
                4, CASCADE_STATUS_FORMAT, "overflows");
    expect_fail("{\"t\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952,1],"
                "\"data_offsets\":[0,0]}}",
                4, CASCADE_STATUS_FORMAT, "overflows");
}

/* Shape entries must be non-negative integers; at most CASCADE_MAX_DIMS of them. */
static void test_safetensors_bad_shape(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,2]}}", 4,
                CASCADE_STATUS_FORMAT, "shape[0]");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,2]}}", 4,
                CASCADE_STATUS_FORMAT, "shape[1]");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":\"2\",\"data_offsets\":[0,2]}}", 4,
                CASCADE_STATUS_FORMAT, "'shape'");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_UNSUPPORTED, "7 dimensions");
}

/* Bytes that are not UTF-8 in the header are FORMAT. */
static void test_safetensors_invalid_utf8(void **state) {
    (void)state;
    expect_fail("{\"t\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "UTF-8");
}

/* A header that is not JSON, or not an object, is FORMAT. */
static void test_safetensors_invalid_json(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"U8\",", 4, CASCADE_STATUS_FORMAT, "not valid JSON");
    expect_fail("[1, 2]", 0, CASCADE_STATUS_FORMAT, "JSON object");
    expect_fail("{\"t\": 5}", 0, CASCADE_STATUS_FORMAT, "'t'");
    expect_fail("{} trailing", 0, CASCADE_STATUS_FORMAT, "not valid JSON");
}

/* Extensions json-glib's scanner would accept are refused: the header is strict JSON. */
static void test_safetensors_non_standard_json(void **state) {
    (void)state;
    expect_fail("{/*c*/\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "not valid JSON");
    expect_fail("{'t':{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "expected a quoted key");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,0x1]}}", 4,
                CASCADE_STATUS_FORMAT, "not valid JSON");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "not valid JSON");
    expect_fail("{\"t\\u0000x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "u0000");
    expect_fail("{\"t\\ud800\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "surrogate");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "not valid JSON");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[-Infinity],\"data_offsets\":[0,1]}}", 4,
                CASCADE_STATUS_FORMAT, "Infinity is not JSON");
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[-99999999999999999999],"
                "\"data_offsets\":[0,1]}}",
                4, CASCADE_STATUS_FORMAT, "64-bit range");
    /* a proper surrogate pair and escapes are fine */
    cascade_error err;
    assert_int_equal(open_hdr("{\"\\ud83d\\ude00\\n\\\"\":{\"dtype\":\"U8\",\"shape\":[1],"
                              "\"data_offsets\":[0,1]}}",
                              4, &err),
                     CASCADE_STATUS_OK);
}

/* Deep nesting is refused before json-glib recurses into it. */
static void test_safetensors_deep_nesting(void **state) {
    (void)state;
    char hdr[2100];
    strcpy(hdr, "{\"x\":");
    for (int i = 0; i < 1000; i++) strcat(hdr, "[");
    strcat(hdr, "}");
    expect_fail(hdr, 0, CASCADE_STATUS_FORMAT, "nested too deeply");
}

/* A tensor name given twice is FORMAT naming it (json-glib alone would keep the last). */
static void test_safetensors_duplicate_names(void **state) {
    (void)state;
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                4, CASCADE_STATUS_FORMAT, "'w' twice");
}

/* __metadata__ must map strings to strings. */
static void test_safetensors_metadata_not_strings(void **state) {
    (void)state;
    expect_fail("{\"__metadata__\":{\"format\":1}}", 0, CASCADE_STATUS_FORMAT, "'format'");
    expect_fail("{\"__metadata__\":[\"pt\"]}", 0, CASCADE_STATUS_FORMAT, "__metadata__");
}

/* Fields other than dtype/shape/data_offsets in a tensor are FORMAT. */
static void test_safetensors_unexpected_field(void **state) {
    (void)state;
    expect_fail("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 4,
                CASCADE_STATUS_FORMAT, "unexpected field 'x'");
}

/* A missing file is IO naming it. */
static void test_safetensors_missing_file(void **state) {
    (void)state;
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open("/nonexistent/x.safetensors", &st, &err),
                     CASCADE_STATUS_IO);
    assert_null(st);
    assert_non_null(strstr(err.message, "/nonexistent/x.safetensors"));
}

/* Loading an absent name is FORMAT naming the file and the tensor. */
static void test_safetensors_load_missing_tensor(void **state) {
    (void)state;
    size_t   size;
    uint8_t  d[4] = {0};
    uint8_t *img =
        mk_image("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", d, 4, &size);
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "m.st", &st, &err),
                     CASCADE_STATUS_OK);
    cascade_tensor *t = (cascade_tensor *)0x1;
    assert_int_equal(cascade_safetensors_load(st, "nope", CASCADE_DTYPE_F32, &t, &err),
                     CASCADE_STATUS_FORMAT);
    assert_null(t);
    assert_non_null(strstr(err.message, "m.st"));
    assert_non_null(strstr(err.message, "'nope'"));
    cascade_safetensors_close(st);
    free(img);
}

/* write -> open returns the same bytes, shapes and metadata for every dtype; names are
 * sorted and the data area is 8-aligned with a space-padded header. */
static void test_safetensors_roundtrip_all_dtypes(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char  path[4096];
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    cascade_tensor *ts[CASCADE_DTYPE_COUNT + 1];
    const char     *names[CASCADE_DTYPE_COUNT + 1];
    char            nbuf[CASCADE_DTYPE_COUNT + 1][32];
    cascade_error   err;
    cascade_error_init(&err);
    int64_t shape[3] = {3, 1, 5};
    for (int d = 0; d < CASCADE_DTYPE_COUNT; d++) {
        /* reverse order so the writer has to sort */
        snprintf(nbuf[d], sizeof nbuf[d], "t%02d.%s", CASCADE_DTYPE_COUNT - d,
                 cascade_dtype_name((cascade_dtype)d));
        names[d] = nbuf[d];
        assert_int_equal(cascade_tensor_new((cascade_dtype)d, 1 + d % 3, shape, &ts[d], &err),
                         CASCADE_STATUS_OK);
        uint8_t *p = ts[d]->data;
        for (size_t i = 0; i < cascade_tensor_nbytes(ts[d]); i++) p[i] = (uint8_t)(i * 7 + d);
    }
    /* and an empty tensor */
    int64_t zshape[2] = {4, 0};
    assert_int_equal(
        cascade_tensor_new(CASCADE_DTYPE_F32, 2, zshape, &ts[CASCADE_DTYPE_COUNT], &err),
        CASCADE_STATUS_OK);
    names[CASCADE_DTYPE_COUNT] = "empty";
    const char *meta[] = {"format", "pt", "quote\"key", "line\nvalue", NULL};
    assert_int_equal(cascade_safetensors_write(path, CASCADE_DTYPE_COUNT + 1, names,
                                               (const cascade_tensor *const *)ts, meta, &err),
                     CASCADE_STATUS_OK);

    cascade_safetensors *st = NULL;
    assert_int_equal(cascade_safetensors_open(path, &st, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_safetensors_count(st), CASCADE_DTYPE_COUNT + 1);
    assert_string_equal(cascade_safetensors_metadata(st, "format"), "pt");
    assert_string_equal(cascade_safetensors_metadata(st, "quote\"key"), "line\nvalue");
    for (size_t i = 1; i < cascade_safetensors_count(st); i++)
        assert_true(strcmp(cascade_safetensors_entry(st, i - 1)->name,
                           cascade_safetensors_entry(st, i)->name) < 0);
    for (int d = 0; d <= CASCADE_DTYPE_COUNT; d++) {
        const cascade_st_entry *e = cascade_safetensors_find(st, names[d]);
        assert_non_null(e);
        assert_int_equal(e->dtype, ts[d]->dtype);
        assert_int_equal(e->ndim, ts[d]->ndim);
        for (int k = 0; k < e->ndim; k++) assert_int_equal(e->shape[k], ts[d]->shape[k]);
        assert_int_equal(e->nbytes, cascade_tensor_nbytes(ts[d]));
        if (e->nbytes) assert_memory_equal(e->data, ts[d]->data, e->nbytes);
    }
    cascade_safetensors_close(st);

    /* raw layout: header length multiple of 8, padded with spaces, data offsets in name order */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t lb[8];
    assert_int_equal(fread(lb, 1, 8, f), 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | lb[i];
    assert_int_equal(hl % 8, 0);
    char *h = calloc(1, hl + 1);
    assert_int_equal(fread(h, 1, hl, f), hl);
    fclose(f);
    assert_true(h[hl - 1] == ' ' || h[hl - 1] == '}');
    assert_non_null(strstr(h, "\"empty\""));
    assert_true(strstr(h, "t01.") < strstr(h, "t15."));
    free(h);

    for (int d = 0; d <= CASCADE_DTYPE_COUNT; d++) cascade_tensor_free(ts[d]);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* The writer refuses a name given twice and leaves no file behind. */
static void test_safetensors_write_rejects_duplicates(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char  path[4096];
    snprintf(path, sizeof path, "%s/dup.safetensors", dir);
    int64_t         shape[1] = {2};
    cascade_tensor *t = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tensor_new(CASCADE_DTYPE_F32, 1, shape, &t, &err), CASCADE_STATUS_OK);
    const char           *names[2] = {"x", "x"};
    const cascade_tensor *ts[2] = {t, t};
    assert_int_equal(cascade_safetensors_write(path, 2, names, ts, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "'x'"));
    assert_int_equal(access(path, F_OK), -1);
    cascade_tensor_free(t);
    rmdir(dir);
    free(dir);
}

/* Zero tensors and no metadata make a valid file holding "{}" padded to 8 bytes. */
static void test_safetensors_write_empty_file(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char  path[4096];
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_write(path, 0, NULL, NULL, NULL, &err), CASCADE_STATUS_OK);
    cascade_safetensors *st = NULL;
    assert_int_equal(cascade_safetensors_open(path, &st, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_safetensors_count(st), 0);
    assert_null(cascade_safetensors_metadata(st, "format"));
    cascade_safetensors_close(st);
    FILE *f = fopen(path, "rb");
    char  buf[32] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, f), 16);
    fclose(f);
    assert_int_equal(buf[0], 8);
    assert_memory_equal(buf + 8, "{}      ", 8);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Writing into a directory that does not exist is IO naming the path. */
static void test_safetensors_write_io_error(void **state) {
    (void)state;
    int64_t         shape[1] = {2};
    cascade_tensor *t = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tensor_new(CASCADE_DTYPE_F32, 1, shape, &t, &err), CASCADE_STATUS_OK);
    const char           *names[1] = {"x"};
    const cascade_tensor *ts[1] = {t};
    assert_int_equal(
        cascade_safetensors_write("/nonexistent-dir/out.safetensors", 1, names, ts, NULL, &err),
        CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/out.safetensors"));
    cascade_tensor_free(t);
}

/* load converts on the way out: F32 -> F16 -> F32 keeps exactly representable values. */
static void test_safetensors_load_converts(void **state) {
    (void)state;
    float    v[4] = {0.5f, -3.0f, 1024.0f, 0.0f};
    size_t   size;
    uint8_t *img = mk_image("{\"v\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                            v, sizeof v, &size);
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open_memory(img, size, "m", &st, &err), CASCADE_STATUS_OK);
    cascade_tensor *h = NULL;
    assert_int_equal(cascade_safetensors_load(st, "v", CASCADE_DTYPE_F16, &h, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(h->ndim, 2);
    const uint16_t *hv = h->data;
    assert_int_equal(hv[0], 0x3800);
    assert_int_equal(hv[1], 0xc200);
    assert_true(cascade_fp16_to_fp32(hv[2]) == 1024.0f);
    cascade_tensor *b = NULL;
    assert_int_equal(cascade_safetensors_load(st, "v", CASCADE_DTYPE_BF16, &b, &err),
                     CASCADE_STATUS_OK);
    assert_true(cascade_bf16_to_fp32(((uint16_t *)b->data)[1]) == -3.0f);
    cascade_tensor_free(b);
    cascade_tensor_free(h);
    cascade_safetensors_close(st);
    free(img);
}

/* The reference library's T5 weights open: 3344-byte header, format metadata, F32 shapes. */
static void test_safetensors_golden_t5_weights(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/weights.safetensors")) skip();
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(
        cascade_safetensors_open(test_golden_path("t5_encoder/weights.safetensors"), &st, &err),
        CASCADE_STATUS_OK);
    assert_true(cascade_safetensors_count(st) > 10);
    assert_string_equal(cascade_safetensors_metadata(st, "format"), "pt");
    const cascade_st_entry *e =
        cascade_safetensors_find(st, "encoder.block.0.layer.0.SelfAttention.q.weight");
    assert_non_null(e);
    assert_int_equal(e->dtype, CASCADE_DTYPE_F32);
    assert_int_equal(e->ndim, 2);
    assert_int_equal(e->shape[0], 64);
    assert_int_equal(e->shape[1], 64);
    e = cascade_safetensors_find(
        st, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    assert_non_null(e);
    assert_int_equal(e->shape[0], 32);
    assert_int_equal(e->shape[1], 4);
    cascade_safetensors_close(st);
}

/* The golden io file holds the token ids and outputs the reference library wrote. */
static void test_safetensors_golden_t5_io(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/io.safetensors")) skip();
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(
        cascade_safetensors_open(test_golden_path("t5_encoder/io.safetensors"), &st, &err),
        CASCADE_STATUS_OK);
    assert_string_equal(cascade_safetensors_metadata(st, "case"), "t5_encoder");
    cascade_tensor *ids = NULL;
    assert_int_equal(cascade_safetensors_load(st, "input_ids", CASCADE_DTYPE_I64, &ids, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(ids->ndim, 2);
    assert_int_equal(ids->shape[0], 2);
    assert_int_equal(ids->shape[1], 12);
    const int64_t *iv = ids->data;
    assert_int_equal(iv[0], 66);
    assert_int_equal(iv[2], 978);
    assert_int_equal(iv[6], 1);
    assert_int_equal(iv[12], 501);
    cascade_tensor *mask = NULL;
    assert_int_equal(cascade_safetensors_load(st, "attention_mask", CASCADE_DTYPE_F32, &mask, &err),
                     CASCADE_STATUS_OK);
    assert_true(((float *)mask->data)[6] == 1.0f);
    assert_true(((float *)mask->data)[7] == 0.0f);
    cascade_tensor *h = NULL;
    assert_int_equal(cascade_safetensors_load(st, "last_hidden_state", CASCADE_DTYPE_F32, &h, &err),
                     CASCADE_STATUS_OK);
    assert_float_equal(((float *)h->data)[0], 0.13876699f, 1e-7);
    assert_float_equal(((float *)h->data)[2], -0.78338355f, 1e-7);
    cascade_tensor_free(h);
    cascade_tensor_free(mask);
    cascade_tensor_free(ids);
    cascade_safetensors_close(st);
}

/* Re-writing a golden file (same tensors, same metadata) reproduces the reference library's
 * bytes exactly: header text, key order, padding, data order. */
static void rewrite_and_compare(const char *rel) {
    if (!test_golden_exists(rel)) skip();
    char                *src = strdup(test_golden_path(rel));
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_safetensors_open(src, &st, &err), CASCADE_STATUS_OK);
    size_t           n = cascade_safetensors_count(st);
    const char     **names = calloc(n, sizeof *names);
    cascade_tensor **ts = calloc(n, sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(st, i);
        names[i] = e->name;
        assert_int_equal(cascade_safetensors_load(st, e->name, e->dtype, &ts[i], &err),
                         CASCADE_STATUS_OK);
    }
    const char              *meta[8] = {NULL};
    size_t                   k = 0;
    static const char *const keys[] = {"format", "case", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const char *v = cascade_safetensors_metadata(st, keys[i]);
        if (v) {
            meta[k++] = keys[i];
            meta[k++] = v;
        }
    }
    char *dir = test_make_tmpdir();
    char  path[4096];
    snprintf(path, sizeof path, "%s/copy.safetensors", dir);
    assert_int_equal(
        cascade_safetensors_write(path, n, names, (const cascade_tensor *const *)ts, meta, &err),
        CASCADE_STATUS_OK);
    FILE *fa = fopen(src, "rb"), *fb = fopen(path, "rb");
    assert_non_null(fa);
    assert_non_null(fb);
    size_t pos = 0;
    for (;;) {
        int a = fgetc(fa), b = fgetc(fb);
        if (a != b) print_error("%s: first difference at byte %zu\n", rel, pos);
        assert_int_equal(a, b);
        if (a == EOF) break;
        pos++;
    }
    fclose(fa);
    fclose(fb);
    for (size_t i = 0; i < n; i++) cascade_tensor_free(ts[i]);
    free(ts);
    free(names);
    cascade_safetensors_close(st);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(src);
}

/* Byte-identical rewrite of the golden T5 io file (mixed I64/F32, metadata "case"). */
static void test_safetensors_write_matches_reference_io(void **state) {
    (void)state;
    rewrite_and_compare("t5_encoder/io.safetensors");
}

/* Byte-identical rewrite of the golden T5 weights (metadata "format": "pt"). */
static void test_safetensors_write_matches_reference_weights(void **state) {
    (void)state;
    rewrite_and_compare("t5_encoder/weights.safetensors");
}

/* A header of 300,000 empty entries (a decompression bomb of json-glib nodes, ~1.6 KB each)
 * is refused by the syntax scan's key cap before any tree is built (issue 14); a nested one
 * 80,000 deep by the depth cap. */
static void test_safetensors_header_too_many_keys(void **state) {
    (void)state;
    GString *h = g_string_new("{");
    for (int i = 0; i < 300000; i++) g_string_append_printf(h, "%s\"t%d\":{}", i ? "," : "", i);
    g_string_append_c(h, '}');
    expect_fail(h->str, 0, CASCADE_STATUS_FORMAT, "too many keys");
    g_string_free(h, TRUE);
    h = g_string_new("{\"t\":");
    for (int i = 0; i < 80000; i++) g_string_append_c(h, '[');
    for (int i = 0; i < 80000; i++) g_string_append_c(h, ']');
    g_string_append_c(h, '}');
    expect_fail(h->str, 0, CASCADE_STATUS_FORMAT, "nested too deeply");
    g_string_free(h, TRUE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_open_memory_valid),
        cmocka_unit_test(test_safetensors_truncated_prefix),
        cmocka_unit_test(test_safetensors_truncated_file),
        cmocka_unit_test(test_safetensors_release_keeps_data),
        cmocka_unit_test(test_safetensors_header_length_past_end),
        cmocka_unit_test(test_safetensors_offsets_out_of_range),
        cmocka_unit_test(test_safetensors_offsets_reversed),
        cmocka_unit_test(test_safetensors_offsets_not_int_pair),
        cmocka_unit_test(test_safetensors_overlap),
        cmocka_unit_test(test_safetensors_empty_tensors_allowed),
        cmocka_unit_test(test_safetensors_load_empty_tensor),
        cmocka_unit_test(test_safetensors_unknown_dtype),
        cmocka_unit_test(test_safetensors_size_shape_mismatch),
        cmocka_unit_test(test_safetensors_shape_overflow),
        cmocka_unit_test(test_safetensors_bad_shape),
        cmocka_unit_test(test_safetensors_invalid_utf8),
        cmocka_unit_test(test_safetensors_invalid_json),
        cmocka_unit_test(test_safetensors_non_standard_json),
        cmocka_unit_test(test_safetensors_deep_nesting),
        cmocka_unit_test(test_safetensors_duplicate_names),
        cmocka_unit_test(test_safetensors_metadata_not_strings),
        cmocka_unit_test(test_safetensors_unexpected_field),
        cmocka_unit_test(test_safetensors_missing_file),
        cmocka_unit_test(test_safetensors_load_missing_tensor),
        cmocka_unit_test(test_safetensors_roundtrip_all_dtypes),
        cmocka_unit_test(test_safetensors_write_rejects_duplicates),
        cmocka_unit_test(test_safetensors_write_empty_file),
        cmocka_unit_test(test_safetensors_write_io_error),
        cmocka_unit_test(test_safetensors_load_converts),
        cmocka_unit_test(test_safetensors_golden_t5_weights),
        cmocka_unit_test(test_safetensors_golden_t5_io),
        cmocka_unit_test(test_safetensors_write_matches_reference_io),
        cmocka_unit_test(test_safetensors_write_matches_reference_weights),
        cmocka_unit_test(test_safetensors_header_too_many_keys),
    };
    return cmocka_run_group_tests_name("safetensors", tests, NULL, NULL);
}
