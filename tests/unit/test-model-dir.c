/* diffusers model directories: model_index.json components and component config paths. */
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
#include <glib/gstdio.h>

#include "cascade/model-dir.h"
#include "cascade/model-search.h"
#include "test-common.h"
#include "tiny-cascade.h"

static int setup(void **state) {
    *state = test_make_tmpdir();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    gchar *p = g_build_filename(*state, "model_index.json", NULL);
    g_remove(p);
    g_free(p);
    g_rmdir(*state);
    free(*state);
    return 0;
}

static cascade_status open_with(const char *dir, const char *json, cascade_model_dir **md,
                                cascade_error *err) {
    gchar *p = g_build_filename(dir, "model_index.json", NULL);
    assert_true(test_write_file(p, json, strlen(json)));
    g_free(p);
    cascade_error_init(err);
    *md = (cascade_model_dir *)0x1;
    cascade_status s = cascade_model_dir_open(dir, md, err);
    if (s != CASCADE_STATUS_OK) assert_null(*md);
    return s;
}

/* The golden IF stage-I index: class, version, components in file order, null ones kept. */
static void test_model_dir_golden_if_stage1(void **state) {
    (void)state;
    if (!test_golden_exists("pipeline_if_stage1/model_index.json")) skip();
    gchar             *dir = g_strdup(test_golden_path("pipeline_if_stage1"));
    cascade_model_dir *md = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_model_dir_open(dir, &md, &err), CASCADE_STATUS_OK);
    assert_string_equal(cascade_model_dir_pipeline_class(md), "IFPipeline");
    assert_string_equal(cascade_model_dir_diffusers_version(md), "0.25.1");
    assert_string_equal(cascade_model_dir_path(md), dir);
    /* feature_extractor safety_checker scheduler text_encoder tokenizer unet watermarker;
     * requires_safety_checker is an option, not a component */
    assert_int_equal(cascade_model_dir_count(md), 7);
    const cascade_model_component *c0 = cascade_model_dir_component(md, 0);
    assert_string_equal(c0->name, "feature_extractor");
    assert_null(c0->library);
    assert_null(c0->class_name);
    assert_null(cascade_model_dir_component(md, 7));
    const cascade_model_component *u = cascade_model_dir_find(md, "unet");
    assert_non_null(u);
    assert_string_equal(u->library, "diffusers");
    assert_string_equal(u->class_name, "UNet2DConditionModel");
    gchar *upath = g_build_filename(dir, "unet", NULL);
    assert_string_equal(u->path, upath);
    g_free(upath);
    assert_string_equal(cascade_model_dir_find(md, "scheduler")->class_name, "DDPMScheduler");
    assert_null(cascade_model_dir_find(md, "text_encoder"));
    assert_null(cascade_model_dir_find(md, "requires_safety_checker"));
    assert_null(cascade_model_dir_find(md, "nothing"));

    char *cp = cascade_component_config_path(u->path, &err);
    assert_non_null(cp);
    assert_true(g_str_has_suffix(cp, "/unet/config.json"));
    free(cp);
    cp = cascade_component_config_path(cascade_model_dir_find(md, "scheduler")->path, &err);
    assert_non_null(cp);
    assert_true(g_str_has_suffix(cp, "/scheduler/scheduler_config.json"));
    free(cp);
    cascade_model_dir_free(md);
    g_free(dir);
}

/* A directory without config.json or scheduler_config.json gives NULL and an IO error. */
static void test_model_dir_config_path_missing(void **state) {
    cascade_error err;
    cascade_error_init(&err);
    assert_null(cascade_component_config_path(*state, &err));
    assert_int_equal(err.status, CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, *state));
}

/* No model_index.json is IO naming the path. */
static void test_model_dir_missing_index(void **state) {
    cascade_model_dir *md = (cascade_model_dir *)0x1;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_model_dir_open(*state, &md, &err), CASCADE_STATUS_IO);
    assert_null(md);
    assert_non_null(strstr(err.message, "model_index.json"));
}

/* Malformed JSON, a missing or non-string _class_name, a bad version: FORMAT. */
static void test_model_dir_bad_index(void **state) {
    cascade_model_dir *md;
    cascade_error      err;
    assert_int_equal(open_with(*state, "{\"_class_name\": ", &md, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "model_index.json"));
    assert_int_equal(open_with(*state, "{\"unet\": [\"diffusers\", \"U\"]}", &md, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'_class_name'"));
    assert_int_equal(open_with(*state, "{\"_class_name\": 3}", &md, &err), CASCADE_STATUS_FORMAT);
    assert_int_equal(
        open_with(*state, "{\"_class_name\": \"P\", \"_diffusers_version\": 1}", &md, &err),
        CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'_diffusers_version'"));
    assert_int_equal(
        open_with(*state, "{\"_class_name\": \"P\", \"unet\": [1, 2], \"unet\": 3}", &md, &err),
        CASCADE_STATUS_FORMAT);
}

/* A component name that would leave the directory is FORMAT. */
static void test_model_dir_component_name_escapes(void **state) {
    cascade_model_dir *md;
    cascade_error      err;
    assert_int_equal(
        open_with(*state, "{\"_class_name\": \"P\", \"../evil\": [\"a\", \"b\"]}", &md, &err),
        CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'../evil'"));
}

/* A minimal index: no version, option values skipped, [library, null] is still found. */
static void test_model_dir_minimal(void **state) {
    cascade_model_dir *md;
    cascade_error      err;
    assert_int_equal(open_with(*state,
                               "{\"_class_name\": \"P\", \"flag\": true, \"list\": [1, 2, 3],"
                               " \"unet\": [\"diffusers\", null]}",
                               &md, &err),
                     CASCADE_STATUS_OK);
    assert_null(cascade_model_dir_diffusers_version(md));
    assert_int_equal(cascade_model_dir_count(md), 1);
    const cascade_model_component *u = cascade_model_dir_find(md, "unet");
    assert_non_null(u);
    assert_string_equal(u->library, "diffusers");
    assert_null(u->class_name);
    cascade_model_dir_free(md);
    cascade_model_dir_free(NULL);
}

/* The one rule every front end finds model folders by (cascade_model_resolve): a cascade
 * root's stage1/ and stage2/, a pipeline folder by itself (no stage II unless given), stage
 * II only when wanted, $CASCADE_MODEL as the default, and a clear error without any. */
static void mkpipe(const char *dir) {
    assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
    gchar *idx = g_build_filename(dir, "model_index.json", NULL);
    assert_true(test_write_file(idx, "{}", 2));
    g_free(idx);
}

static void test_model_resolve(void **state) {
    (void)state;
    char  *tmp = test_make_tmpdir();
    gchar *s1 = g_build_filename(tmp, "root", "stage1", NULL);
    gchar *s2 = g_build_filename(tmp, "root", "stage2", NULL);
    gchar *root = g_build_filename(tmp, "root", NULL);
    gchar *solo = g_build_filename(tmp, "solo", NULL);
    mkpipe(s1), mkpipe(s2), mkpipe(solo);
    char         *a = NULL, *b = NULL;
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_model_resolve(root, NULL, true, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(a, s1);
    assert_string_equal(b, s2);
    free(a), free(b);
    assert_int_equal(cascade_model_resolve(root, NULL, false, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(a, s1);
    assert_null(b);
    free(a);
    assert_int_equal(cascade_model_resolve(solo, NULL, true, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(a, solo);
    assert_null(b);
    free(a);
    assert_int_equal(cascade_model_resolve(solo, s2, true, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(b, s2);
    free(a), free(b);
    g_setenv("CASCADE_MODEL", root, TRUE); /* the default */
    assert_int_equal(cascade_model_resolve(NULL, NULL, true, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(a, s1);
    assert_string_equal(b, s2);
    free(a), free(b);
    assert_int_equal(cascade_model_resolve("", "", true, &a, &b, &err), CASCADE_STATUS_OK);
    assert_string_equal(a, s1);
    free(a), free(b);
    g_unsetenv("CASCADE_MODEL");
    tiny_cascade_rm_tree(tmp);
    free(tmp);
    g_free(s1), g_free(s2), g_free(root), g_free(solo);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_dir_golden_if_stage1),
        cmocka_unit_test(test_model_resolve),
        T(test_model_dir_config_path_missing),
        T(test_model_dir_missing_index),
        T(test_model_dir_bad_index),
        T(test_model_dir_component_name_escapes),
        T(test_model_dir_minimal),
    };
    return cmocka_run_group_tests_name("model-dir", tests, NULL, NULL);
}
