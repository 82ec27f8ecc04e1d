/* CascadeRecipe and presets: key-file round trip, unknown keys and bad values rejected with
 * the key named, validation per mode, preset files applied, listed and saved. */
#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "cascade-presets.h"
#include "cascade-recipe.h"
#include "test-common.h"

static CascadeRecipe sample_recipe(void) {
    CascadeRecipe r;
    cascade_recipe_init(&r);
    r.mode = CASCADE_MODE_INPAINT;
    g_free(r.prompt);
    r.prompt = g_strdup("a red fox;\n\"quoted\" [group] = ünïcödé");
    g_free(r.negative_prompt);
    r.negative_prompt = g_strdup("blurry\\text");
    g_free(r.style);
    r.style = g_strdup("flat emoji");
    g_free(r.backend);
    r.backend = g_strdup("vulkan:NVIDIA H200");
    r.seed = G_GUINT64_CONSTANT(18446744073709551615);
    r.random_seed = FALSE;
    r.steps1 = 13;
    r.steps2 = 7;
    r.guidance1 = 6.25;
    r.guidance2 = 0.1;
    r.stage2 = FALSE;
    r.noise_level = 999;
    r.batch = 16;
    r.candidate = 15;
    r.context_margin = 4096;
    r.upscale_factor = 8;
    g_free(r.aspect);
    r.aspect = g_strdup("16:9");
    r.tile = 128;
    r.expand_left = 1, r.expand_top = 8192, r.expand_right = 64, r.expand_bottom = 0;
    return r;
}

static void assert_recipes_equal(const CascadeRecipe *a, const CascadeRecipe *b) {
    assert_int_equal(a->mode, b->mode);
    assert_string_equal(a->prompt, b->prompt);
    assert_string_equal(a->negative_prompt, b->negative_prompt);
    assert_string_equal(a->style, b->style);
    assert_string_equal(a->model_dir, b->model_dir);
    assert_string_equal(a->sr_model_dir, b->sr_model_dir);
    assert_string_equal(a->upscaler_dir, b->upscaler_dir);
    assert_string_equal(a->preset, b->preset);
    assert_string_equal(a->backend, b->backend);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->random_seed, b->random_seed);
    assert_int_equal(a->steps1, b->steps1);
    assert_int_equal(a->steps2, b->steps2);
    assert_true(a->guidance1 == b->guidance1);
    assert_true(a->guidance2 == b->guidance2);
    assert_int_equal(a->stage2, b->stage2);
    assert_int_equal(a->noise_level, b->noise_level);
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->candidate, b->candidate);
    assert_int_equal(a->context_margin, b->context_margin);
    assert_int_equal(a->upscale_factor, b->upscale_factor);
    assert_int_equal(a->tile, b->tile);
    assert_string_equal(a->aspect, b->aspect);
    assert_int_equal(a->expand_left, b->expand_left);
    assert_int_equal(a->expand_top, b->expand_top);
    assert_int_equal(a->expand_right, b->expand_right);
    assert_int_equal(a->expand_bottom, b->expand_bottom);
}

/* to_string then from_string gives back every field exactly, awkward strings included. */
static void test_recipe_round_trip(void **state) {
    (void)state;
    CascadeRecipe a = sample_recipe(), b;
    cascade_recipe_init(&b);
    gchar  *text = cascade_recipe_to_string(&a);
    GError *e = NULL;
    assert_true(cascade_recipe_from_string(&b, text, &e));
    assert_null(e);
    assert_recipes_equal(&a, &b);
    assert_non_null(strstr(text, "version="));
    g_free(text);
    cascade_recipe_clear(&a);
    cascade_recipe_clear(&b);
}

/* A copy is deep: clearing the source leaves the copy intact and equal. */
static void test_recipe_copy_is_deep(void **state) {
    (void)state;
    CascadeRecipe a = sample_recipe(), b, c = sample_recipe();
    cascade_recipe_copy(&b, &a);
    assert_ptr_not_equal(a.prompt, b.prompt);
    cascade_recipe_clear(&a);
    assert_recipes_equal(&b, &c);
    cascade_recipe_clear(&b);
    cascade_recipe_clear(&c);
}

/* Missing keys keep the values already in the recipe. */
static void test_recipe_missing_keys_keep_values(void **state) {
    (void)state;
    CascadeRecipe r = sample_recipe();
    assert_true(cascade_recipe_from_string(&r, "[cascade-recipe]\nsteps1=21\n", NULL));
    assert_int_equal(r.steps1, 21);
    assert_int_equal(r.steps2, 7);
    assert_string_equal(r.style, "flat emoji");
    cascade_recipe_clear(&r);
}

/* An unknown key is a parse error naming it, and the recipe is left unchanged. */
static void test_recipe_unknown_key_rejected(void **state) {
    (void)state;
    CascadeRecipe r, want;
    cascade_recipe_init(&r);
    cascade_recipe_init(&want);
    GError *e = NULL;
    assert_false(cascade_recipe_from_string(&r, "[cascade-recipe]\nsteps1=3\nsampler=euler\n", &e));
    assert_true(g_error_matches(e, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE));
    assert_non_null(strstr(e->message, "sampler"));
    assert_recipes_equal(&r, &want);
    g_clear_error(&e);
    assert_false(cascade_recipe_from_string(&r, "[other]\nsteps1=3\n", &e));
    assert_non_null(strstr(e->message, "other"));
    g_clear_error(&e);
    assert_false(cascade_recipe_from_string(&r, "not a key file", &e));
    assert_non_null(e);
    g_clear_error(&e);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&want);
}

/* Bad values (out of range, not a number, bad enum/boolean) are errors naming the key. */
static void test_recipe_bad_values_rejected(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"steps1=-1", "steps1"}, /* 0 is "the model's" */
        {"steps2=1001", "steps2"},
        {"guidance1=abc", "guidance1"},
        {"guidance2=-1.5", "guidance2"}, /* -1 is "the model's" */
        {"guidance1=nan", "guidance1"},
        {"noise-level=1000", "noise-level"},
        {"batch=17", "batch"},
        {"batch=2x", "batch"},
        {"candidate=-2", "candidate"},
        {"mode=paint", "mode"},
        {"stage2=maybe", "stage2"},
        {"seed=-1", "seed"},
        {"seed=18446744073709551616", "seed"},
        {"upscale-factor=9", "upscale-factor"},
        {"tile=-5", "tile"},
        {"context-margin=99999", "context-margin"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        CascadeRecipe r;
        cascade_recipe_init(&r);
        gchar  *text = g_strdup_printf("[cascade-recipe]\n%s\n", bad[i][0]);
        GError *e = NULL;
        assert_false(cascade_recipe_from_string(&r, text, &e));
        assert_non_null(e);
        if (!strstr(e->message, bad[i][1])) fail_msg("'%s': message '%s'", bad[i][0], e->message);
        assert_int_equal(r.steps1, CASCADE_RECIPE_MODEL_STEPS);
        g_error_free(e);
        g_free(text);
        cascade_recipe_clear(&r);
    }
}

/* validate: the prompt is required for generate/inpaint but not upscale; the upscale
 * factor is one of 2, 3, 4, 8; the candidate lies inside the batch. */
static void test_recipe_validate(void **state) {
    (void)state;
    CascadeRecipe r;
    GError       *e = NULL;
    cascade_recipe_init(&r);
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "prompt"));
    g_clear_error(&e);
    r.mode = CASCADE_MODE_UPSCALE;
    assert_true(cascade_recipe_validate(&r, NULL));
    r.upscale_factor = 5;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "upscale-factor"));
    g_clear_error(&e);
    r.mode = CASCADE_MODE_GENERATE;
    g_free(r.prompt);
    r.prompt = g_strdup("  \n ");
    assert_false(cascade_recipe_validate(&r, NULL));
    g_free(r.prompt);
    r.prompt = g_strdup("a cat");
    assert_true(cascade_recipe_validate(&r, NULL));
    r.batch = 4;
    r.candidate = 4;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "candidate"));
    g_clear_error(&e);
    r.candidate = 3;
    r.steps2 = -1;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "steps2"));
    g_clear_error(&e);
    r.steps2 = 10;
    const char *bad_aspects[] = {"16x9", "0:1", "9:1", "wide"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad_aspects); i++) {
        g_free(r.aspect);
        r.aspect = g_strdup(bad_aspects[i]);
        assert_false(cascade_recipe_validate(&r, &e));
        assert_non_null(strstr(e->message, "aspect"));
        assert_non_null(strstr(e->message, bad_aspects[i]));
        g_clear_error(&e);
    }
    g_free(r.aspect);
    r.aspect = g_strdup("2:3");
    assert_true(cascade_recipe_validate(&r, NULL));
    /* outpaint: some side must grow, none by less than 0 or more than 8192 */
    r.mode = CASCADE_MODE_OUTPAINT;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "expand-left"));
    assert_non_null(strstr(e->message, "all 0"));
    g_clear_error(&e);
    r.expand_bottom = 16;
    assert_true(cascade_recipe_validate(&r, NULL));
    r.expand_top = -4;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "expand-top"));
    g_clear_error(&e);
    r.expand_top = 8193;
    assert_false(cascade_recipe_validate(&r, &e));
    assert_non_null(strstr(e->message, "expand-top"));
    g_clear_error(&e);
    r.expand_top = 0;
    gchar *text = cascade_recipe_to_string(&r);
    assert_non_null(strstr(text, "mode=outpaint"));
    assert_non_null(strstr(text, "expand-bottom=16"));
    g_free(text);
    cascade_recipe_clear(&r);
}

/* The style is appended to the prompt the model sees. */
static void test_recipe_full_prompt(void **state) {
    (void)state;
    CascadeRecipe r;
    cascade_recipe_init(&r);
    g_free(r.prompt);
    r.prompt = g_strdup("a fox ");
    gchar *p = cascade_recipe_full_prompt(&r);
    assert_string_equal(p, "a fox ");
    g_free(p);
    g_free(r.style);
    r.style = g_strdup("flat emoji");
    p = cascade_recipe_full_prompt(&r);
    assert_string_equal(p, "a fox, flat emoji");
    g_free(p);
    cascade_recipe_clear(&r);
}

static char *presets_dir(void) {
    const char *src = g_getenv("CASCADE_SOURCE_DIR");
    return g_build_filename(src ? src : ".", "presets", NULL);
}

/* Every shipped preset applies; draft turns stage II off and names itself; a style sets
 * the style and negative prompt and leaves the step counts alone. */
static void test_recipe_apply_shipped_presets(void **state) {
    (void)state;
    char         *dir = presets_dir();
    CascadeRecipe r;
    cascade_recipe_init(&r);
    char   *draft = g_build_filename(dir, "draft.json", NULL);
    GError *e = NULL;
    if (!cascade_recipe_apply_preset_file(&r, draft, &e)) fail_msg("%s", e->message);
    assert_false(r.stage2);
    assert_int_equal(r.steps1, 20);
    assert_string_equal(r.preset, "draft");
    char *flat = g_build_filename(dir, "flat-emoji.json", NULL);
    assert_true(cascade_recipe_apply_preset_file(&r, flat, NULL));
    assert_int_equal(r.steps1, 20);
    assert_non_null(strstr(r.style, "flat"));
    assert_non_null(strstr(r.negative_prompt, "photo"));
    assert_string_equal(r.preset, "flat-emoji");
    char *best = g_build_filename(dir, "best.json", NULL);
    assert_true(cascade_recipe_apply_preset_file(&r, best, NULL));
    assert_true(r.stage2);
    assert_true(r.steps1 > 50 && r.steps2 > 25);
    g_free(draft), g_free(flat), g_free(best), g_free(dir);
    cascade_recipe_clear(&r);
}

static void write_preset(const char *path, const char *json) {
    assert_true(test_write_file(path, json, strlen(json)));
}

/* Bad preset files: unknown key, a key presets may not set, a wrong type, not JSON, an
 * unknown top-level member; each names what is wrong and leaves the recipe unchanged. */
static void test_recipe_bad_preset_rejected(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"{\"name\":\"x\",\"values\":{\"sampler\":\"euler\"}}", "sampler"},
        {"{\"name\":\"x\",\"values\":{\"prompt\":\"a cat\"}}", "prompt"},
        {"{\"name\":\"x\",\"values\":{\"steps1\":[1]}}", "steps1"},
        {"{\"name\":\"x\",\"values\":{\"steps1\":-1}}", "steps1"},
        {"{\"name\":\"x\",\"values\":{\"stage2\":\"yes\"}}", "stage2"},
        {"{\"name\":\"x\",\"valeus\":{}}", "values"},
        {"{\"name\":\"x\",\"extra\":1,\"values\":{}}", "extra"},
        {"[1, 2", ".json"},
    };
    char *dir = test_make_tmpdir();
    char *path = g_build_filename(dir, "bad.json", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        write_preset(path, bad[i][0]);
        CascadeRecipe r;
        cascade_recipe_init(&r);
        GError *e = NULL;
        assert_false(cascade_recipe_apply_preset_file(&r, path, &e));
        assert_non_null(e);
        if (!strstr(e->message, bad[i][1])) fail_msg("case %zu: message '%s'", i, e->message);
        assert_int_equal(r.steps1, CASCADE_RECIPE_MODEL_STEPS);
        assert_string_equal(r.preset, "balanced");
        g_error_free(e);
        cascade_recipe_clear(&r);
    }
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    free(dir);
}

/* A user preset nested 80,000 deep or with a duplicate key (issue 14) is refused with the
 * file named, and the preset list still holds every shipped preset (the dialog survives). */
static void test_presets_hostile_file(void **state) {
    (void)state;
    char *src = presets_dir();
    char *user = test_make_tmpdir();
    char *deep = g_build_filename(user, "deep.json", NULL);
    char *dup = g_build_filename(user, "dup.json", NULL);
    assert_true(test_write_nested_json(deep, 80000));
    write_preset(dup, "{\"name\":\"x\",\"values\":{\"steps1\":3,\"steps1\":4}}");
    const char *const paths[] = {deep, dup};
    const char *const needles[] = {"nested too deeply", "twice"};
    for (size_t i = 0; i < 2; i++) {
        CascadeRecipe r;
        cascade_recipe_init(&r);
        GError *e = NULL;
        assert_false(cascade_recipe_apply_preset_file(&r, paths[i], &e));
        assert_non_null(e);
        assert_non_null(strstr(e->message, paths[i]));
        assert_non_null(strstr(e->message, needles[i]));
        assert_int_equal(r.steps1, CASCADE_RECIPE_MODEL_STEPS);
        g_error_free(e);
        cascade_recipe_clear(&r);
    }
    g_setenv("CASCADE_PRESETS_DIR", src, TRUE);
    g_setenv("CASCADE_USER_PRESETS_DIR", user, TRUE);
    GPtrArray *list = cascade_presets_list();
    assert_true(list->len >= 5);
    for (guint i = 0; i < list->len; i++)
        assert_false(((CascadePresetInfo *)list->pdata[i])->user);
    g_ptr_array_unref(list);
    g_unlink(deep);
    g_unlink(dup);
    g_rmdir(user);
    g_free(deep), g_free(dup), g_free(src);
    free(user);
}

/* A preset whose name or description is not a string (apply only checks the member names)
 * is listed under its id with no description instead of crashing the picker on a NULL name;
 * a style given as a number shows as the text it applies (found by fuzz-preset). */
static void test_presets_non_string_fields(void **state) {
    (void)state;
    char *installed = test_make_tmpdir();
    char *user = test_make_tmpdir();
    char *sty = g_build_filename(installed, "sty.json", NULL);
    char *mine = g_build_filename(user, "mine.json", NULL);
    write_preset(sty, "{\"name\": \"S\", \"values\": {\"style\": 3}}");
    write_preset(mine, "{\"name\": 5, \"description\": {\"x\": 1}, \"values\": {\"steps1\": 12}}");
    g_setenv("CASCADE_PRESETS_DIR", installed, TRUE);
    g_setenv("CASCADE_USER_PRESETS_DIR", user, TRUE);
    GPtrArray *list = cascade_presets_list();
    assert_int_equal(list->len, 2);
    const CascadePresetInfo *a = list->pdata[0], *b = list->pdata[1];
    assert_string_equal(a->id, "sty");
    assert_string_equal(a->name, "S");
    assert_string_equal(a->style, "3");
    assert_string_equal(b->id, "mine");
    assert_true(b->user);
    assert_string_equal(b->name, "mine");
    assert_string_equal(b->description, "");
    assert_null(b->style);
    g_ptr_array_unref(list);
    g_unlink(sty);
    g_unlink(mine);
    g_rmdir(installed);
    g_rmdir(user);
    g_free(sty), g_free(mine);
    free(installed), free(user);
}

/* The list holds the shipped presets, draft/balanced/best first; a saved user preset is
 * listed, found by id and applies back to the values it was saved from. */
static void test_presets_list_and_save(void **state) {
    (void)state;
    char *src = presets_dir();
    char *user = test_make_tmpdir();
    g_setenv("CASCADE_PRESETS_DIR", src, TRUE);
    g_setenv("CASCADE_USER_PRESETS_DIR", user, TRUE);
    GPtrArray *list = cascade_presets_list();
    assert_true(list->len >= 5);
    assert_string_equal(((CascadePresetInfo *)list->pdata[0])->id, "draft");
    assert_string_equal(((CascadePresetInfo *)list->pdata[1])->id, "balanced");
    assert_string_equal(((CascadePresetInfo *)list->pdata[2])->id, "best");
    assert_string_equal(((CascadePresetInfo *)list->pdata[1])->name, "Balanced");
    g_ptr_array_unref(list);

    CascadeRecipe r = sample_recipe();
    r.candidate = -1;
    gchar  *id = NULL;
    GError *e = NULL;
    if (!cascade_presets_save_user(&r, "My Emoji #2", "mine", &id, &e)) fail_msg("%s", e->message);
    assert_string_equal(id, "my-emoji-2");
    CascadePresetInfo *info = cascade_presets_find(id);
    assert_non_null(info);
    assert_true(info->user);
    assert_string_equal(info->name, "My Emoji #2");
    CascadeRecipe back;
    cascade_recipe_init(&back);
    assert_true(cascade_recipe_apply_preset_file(&back, info->path, NULL));
    assert_int_equal(back.steps1, r.steps1);
    assert_int_equal(back.steps2, r.steps2);
    assert_true(back.guidance1 == r.guidance1);
    assert_int_equal(back.stage2, r.stage2);
    assert_string_equal(back.style, r.style);
    assert_string_equal(back.negative_prompt, r.negative_prompt);
    assert_string_equal(back.preset, "my-emoji-2");
    assert_string_equal(back.prompt, ""); /* presets carry no prompt */
    assert_false(cascade_presets_save_user(&r, "  ", NULL, NULL, NULL));
    g_unlink(info->path);
    g_rmdir(user);
    cascade_preset_info_free(info);
    cascade_recipe_clear(&back);
    cascade_recipe_clear(&r);
    g_free(id);
    g_free(src);
    free(user);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recipe_round_trip),
        cmocka_unit_test(test_recipe_copy_is_deep),
        cmocka_unit_test(test_recipe_missing_keys_keep_values),
        cmocka_unit_test(test_recipe_unknown_key_rejected),
        cmocka_unit_test(test_recipe_bad_values_rejected),
        cmocka_unit_test(test_recipe_validate),
        cmocka_unit_test(test_recipe_full_prompt),
        cmocka_unit_test(test_recipe_apply_shipped_presets),
        cmocka_unit_test(test_recipe_bad_preset_rejected),
        cmocka_unit_test(test_presets_hostile_file),
        cmocka_unit_test(test_presets_non_string_fields),
        cmocka_unit_test(test_presets_list_and_save),
    };
    return cmocka_run_group_tests_name("recipe", tests, NULL, NULL);
}
