/* tfjs model.json conversion (tfjs-convert.c): error paths only; the converted networks'
 * numbers are golden-sr.c's job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cascade/tfjs-convert.h"
#include "test-common.h"

/* Converts dir into dir/out; expects FORMAT with a message holding needle and no out/. */
static void expect_convert_format(const char *dir, const char *needle) {
    char                        *out = g_build_filename(dir, "out", NULL);
    cascade_tfjs_convert_options opt;
    cascade_error                err;
    cascade_tfjs_convert_options_init(&opt);
    cascade_error_init(&err);
    assert_int_equal(cascade_tfjs_convert(dir, out, &opt, &err), CASCADE_STATUS_FORMAT);
    if (!strstr(err.message, needle)) fprintf(stderr, "# %s\n", err.message);
    assert_non_null(strstr(err.message, "model.json"));
    assert_non_null(strstr(err.message, needle));
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    g_free(out);
}

/* A model.json nested 80,000 deep (issue 14), with a duplicate key or with a comment is a
 * FORMAT error naming the file, from the strict reader, not a stack overflow. */
static void test_tfjs_convert_hostile_model_json(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char *mj = g_build_filename(dir, "model.json", NULL);
    assert_true(test_write_nested_json(mj, 80000));
    expect_convert_format(dir, "nested too deeply");
    const char *dup = "{\"format\": \"layers-model\", \"format\": \"layers-model\"}";
    assert_true(test_write_file(mj, dup, strlen(dup)));
    expect_convert_format(dir, "twice");
    const char *comment = "{\"format\": \"layers-model\" // c\n}";
    assert_true(test_write_file(mj, comment, strlen(comment)));
    expect_convert_format(dir, "not valid JSON");
    remove(mj);
    remove(dir);
    g_free(mj);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tfjs_convert_hostile_model_json),
    };
    return cmocka_run_group_tests_name("tfjs-convert", tests, NULL, NULL);
}
