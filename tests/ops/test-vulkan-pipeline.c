/* The whole cascade through the public pipeline API on Vulkan against the CPU reference:
 * prompt -> T5 -> stage I (16 px) -> stage II (32 px) on the tiny golden models, with the
 * same seed on both backends, under the Khronos validation layer. With no Vulkan device
 * each case skips, unless CASCADE_REQUIRE_VULKAN=1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/pipeline.h"
#include "cascade/vulkan.h"
#include "test-common.h"

/* fp32: the golden pipeline_if_stage2 case allows atol 2e-3 on this loop (10x torch fp32
 * vs fp64 on the same models); CPU and Vulkan differ only in fp32 summation order, which
 * is the same kind of error, so the same bound holds between them. */
#define MAX_ABS_F32 2e-3
/* fp16 storage: unit roundoff u = 2^-11; RMS error of 32u per forward pass, adding up over
 * the S denoising steps at worst linearly (as in golden-common.c): NMSE <= (S 32u)^2. */
#define FP16_U (1.0 / 2048.0)

enum { STEPS1 = 3, STEPS2 = 2, BATCH = 2, SIDE = 32 };

typedef struct fixture {
    char             *dir;
    cascade_backend  *cpu, *vk[2]; /* Vulkan fp32, fp16 */
    cascade_pipeline *p_cpu, *p_vk[2];
    char              why[512];
} fixture;

static bool require_vulkan(void) {
    const char *v = getenv("CASCADE_REQUIRE_VULKAN");
    return v && strcmp(v, "1") == 0;
}

static bool link_into(const char *dir, const char *name, const char *golden_rel) {
    char dst[512];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    char *src = realpath(test_golden_path(golden_rel), NULL);
    bool  ok = src && symlink(src, dst) == 0;
    free(src);
    return ok;
}

static cascade_pipeline *load(fixture *f, cascade_backend *be) {
    cascade_pipeline_options o;
    cascade_error            err;
    cascade_pipeline        *p = NULL;
    char                     sr[512];
    cascade_pipeline_options_init(&o);
    cascade_error_init(&err);
    snprintf(sr, sizeof sr, "%s", test_golden_path("pipeline_if_stage2"));
    o.model_dir = f->dir;
    o.sr_model_dir = sr;
    o.backend = be;
    cascade_status st = cascade_pipeline_load(&o, &p, &err);
    if (st) fprintf(stderr, "pipeline_load on %s: %s\n", cascade_backend_name(be), err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    return p;
}

static int setup(void **state) {
    static const char *const needed[] = {"t5_encoder/config.json", "t5_tokenizer/spiece.model",
                                         "pipeline_if_stage1/unet/config.json",
                                         "pipeline_if_stage2/unet/config.json"};
    fixture                 *f = calloc(1, sizeof *f);
    *state = f;
    for (size_t i = 0; i < 4; i++)
        if (!test_golden_exists(needed[i])) {
            snprintf(f->why, sizeof f->why, "golden file %s missing", needed[i]);
            return 0;
        }
    cascade_error err;
    cascade_error_init(&err);
    for (int p = 0; p < 2; p++) {
        cascade_vulkan_options vo;
        cascade_vulkan_options_init(&vo);
        vo.precision = p ? CASCADE_VULKAN_PRECISION_FP16 : CASCADE_VULKAN_PRECISION_FP32;
        if (cascade_backend_vulkan_new(&vo, &f->vk[p], &err) && !f->why[0])
            snprintf(f->why, sizeof f->why, "%s", err.message);
    }
    if (!f->vk[0]) return 0;
    f->dir = test_make_tmpdir();
    const char *index = "{\"_class_name\": \"IFPipeline\", \"_diffusers_version\": \"0.25.1\","
                        " \"text_encoder\": [\"transformers\", \"T5EncoderModel\"],"
                        " \"tokenizer\": [\"transformers\", \"T5Tokenizer\"],"
                        " \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
                        " \"scheduler\": [\"diffusers\", \"DDPMScheduler\"]}";
    char        path[512];
    snprintf(path, sizeof path, "%s/model_index.json", f->dir);
    assert_true(test_write_file(path, index, strlen(index)));
    assert_true(link_into(f->dir, "text_encoder", "t5_encoder"));
    assert_true(link_into(f->dir, "tokenizer", "t5_tokenizer"));
    assert_true(link_into(f->dir, "unet", "pipeline_if_stage1/unet"));
    assert_true(link_into(f->dir, "scheduler", "pipeline_if_stage1/scheduler"));
    cascade_cpu_options co;
    cascade_cpu_options_init(&co);
    assert_int_equal(cascade_backend_cpu_new(&co, &f->cpu, &err), CASCADE_STATUS_OK);
    f->p_cpu = load(f, f->cpu);
    for (int p = 0; p < 2; p++)
        if (f->vk[p]) f->p_vk[p] = load(f, f->vk[p]);
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    for (int p = 0; p < 2; p++) {
        cascade_pipeline_free(f->p_vk[p]);
        cascade_backend_free(f->vk[p]);
    }
    cascade_pipeline_free(f->p_cpu);
    cascade_backend_free(f->cpu);
    if (f->dir) {
        const char *names[] = {"model_index.json", "text_encoder", "tokenizer", "unet",
                               "scheduler"};
        char        path[512];
        for (size_t i = 0; i < 5; i++) {
            snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
            remove(path);
        }
        remove(f->dir);
        free(f->dir);
    }
    free(f);
    return 0;
}

static cascade_pipeline *need(fixture *f, int precision) {
    if (!f->vk[0] || (precision && !f->vk[1])) {
        if (require_vulkan()) fail_msg("CASCADE_REQUIRE_VULKAN=1 but no Vulkan: %s", f->why);
        skip();
    }
    return f->p_vk[precision];
}

static void params(cascade_generate_params *g) {
    cascade_generate_params_init(g);
    g->prompt = "A red fox in the snow";
    g->negative_prompt = "blurry";
    g->batch = BATCH;
    g->steps1 = STEPS1;
    g->steps2 = STEPS2;
    g->max_length = 12;
    g->seed = 20240671;
}

static float *run(cascade_pipeline *p, const cascade_generate_params *g, bool inpaint) {
    float        *out = NULL;
    int64_t       shape[4] = {0};
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st;
    if (inpaint) {
        static float image[3 * SIDE * SIDE], mask[SIDE * SIDE];
        test_fill_uniform(image, 3 * SIDE * SIDE, 9, -1, 1);
        for (int i = 0; i < SIDE * SIDE; i++) mask[i] = (i % SIDE) >= 8 && (i / SIDE) < 24;
        st = cascade_pipeline_inpaint(p, g, image, mask, SIDE, SIDE, &out, shape, &err);
    } else {
        st = cascade_pipeline_generate(p, g, &out, shape, &err);
    }
    if (st) fail_msg("%s: %s", inpaint ? "inpaint" : "generate", err.message);
    assert_int_equal(shape[0], BATCH);
    assert_int_equal(shape[1], 3);
    assert_int_equal(shape[2], SIDE);
    assert_int_equal(shape[3], SIDE);
    return out;
}

/* Vulkan (precision 0 fp32, 1 fp16) agrees with the CPU on the same call, and the
 * validation layer stays silent. */
static void compare(fixture *f, int precision, bool inpaint) {
    cascade_pipeline       *pv = need(f, precision);
    cascade_backend        *be = f->vk[precision];
    uint64_t                msgs = cascade_vulkan_validation_messages(be);
    cascade_generate_params g;
    params(&g);
    float *want = run(f->p_cpu, &g, inpaint);
    float *got = run(pv, &g, inpaint);
    size_t n = (size_t)BATCH * 3 * SIDE * SIDE;
    test_diff d;
    bool      ok;
    if (precision == 0) {
        ok = test_compare(got, want, n, MAX_ABS_F32, 0, &d);
        fprintf(stderr, "# fp32 %s: max|d| %.3g (<= %.1g), nmse %.3g\n",
                inpaint ? "inpaint" : "generate", d.max_abs, MAX_ABS_F32, d.nmse);
    } else {
        double rms = (STEPS1 + STEPS2) * 32 * FP16_U;
        test_compare(got, want, n, 1e30, 0, &d);
        ok = !isnan(d.nmse) && d.nmse <= rms * rms;
        fprintf(stderr, "# fp16 %s: nmse %.3g (<= %.3g), max|d| %.3g\n",
                inpaint ? "inpaint" : "generate", d.nmse, rms * rms, d.max_abs);
    }
    if (!ok) test_diff_print("out_image", got, want, n, &d);
    free(got);
    free(want);
    assert_true(ok);
    assert_int_equal(cascade_vulkan_validation_messages(be), msgs);
}

/* Text to image through both stages: Vulkan fp32 matches the CPU within fp32 tolerance. */
static void test_vulkan_pipeline_generate_fp32(void **state) { compare(*state, 0, false); }
/* The same with fp16 storage, within the fp16 bound. */
static void test_vulkan_pipeline_generate_fp16(void **state) { compare(*state, 1, false); }
/* Inpainting through both stages: Vulkan fp32 matches the CPU. */
static void test_vulkan_pipeline_inpaint_fp32(void **state) { compare(*state, 0, true); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulkan_pipeline_generate_fp32),
        cmocka_unit_test(test_vulkan_pipeline_generate_fp16),
        cmocka_unit_test(test_vulkan_pipeline_inpaint_fp32),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
