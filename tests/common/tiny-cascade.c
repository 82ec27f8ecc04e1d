/* A tiny two-stage cascade assembled from the golden cases, for the CLI and ui tests (see
 * tiny-cascade.h). */
#include "tiny-cascade.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "test-common.h"

void tiny_cascade_rm_tree(const char *path) {
    GDir *d = g_file_test(path, G_FILE_TEST_IS_SYMLINK) ? NULL : g_dir_open(path, 0, NULL);
    if (d) {
        const char *e;
        while ((e = g_dir_read_name(d))) {
            char *p = g_build_filename(path, e, NULL);
            tiny_cascade_rm_tree(p);
            g_free(p);
        }
        g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

char *tiny_cascade_make(void) {
    if (!test_golden_exists("pipeline_if_stage1/model_index.json") ||
        !test_golden_exists("pipeline_if_stage2/model_index.json") ||
        !test_golden_exists("t5_encoder/config.json"))
        return NULL;
    char *root = test_make_tmpdir();
    char *s1 = g_build_filename(root, "stage1", NULL);
    if (g_mkdir(s1, 0755)) return NULL;
    static const char *const links[][2] = {{"tokenizer", "t5_tokenizer"},
                                           {"text_encoder", "t5_encoder"},
                                           {"unet", "pipeline_if_stage1/unet"},
                                           {"scheduler", "pipeline_if_stage1/scheduler"}};
    for (size_t i = 0; i < G_N_ELEMENTS(links); i++) {
        char *dst = g_build_filename(s1, links[i][0], NULL);
        char *src = g_canonicalize_filename(test_golden_path(links[i][1]), NULL);
        int   rc = symlink(src, dst);
        g_free(dst), g_free(src);
        if (rc) return NULL;
    }
    char *s2 = g_build_filename(root, "stage2", NULL);
    char *s2src = g_canonicalize_filename(test_golden_path("pipeline_if_stage2"), NULL);
    if (symlink(s2src, s2)) return NULL;
    /* the golden stage I index has no text encoder (embeddings were passed directly) */
    gchar *idx = NULL;
    if (!g_file_get_contents(test_golden_path("pipeline_if_stage1/model_index.json"), &idx, NULL,
                             NULL))
        return NULL;
    GString *gs = g_string_new(idx);
    g_string_replace(gs, "\"text_encoder\": [\n    null,\n    null\n  ]",
                     "\"text_encoder\": [\"transformers\", \"T5EncoderModel\"]", 1);
    g_string_replace(gs, "\"tokenizer\": [\n    null,\n    null\n  ]",
                     "\"tokenizer\": [\"transformers\", \"T5Tokenizer\"]", 1);
    char *idx_path = g_build_filename(s1, "model_index.json", NULL);
    bool  ok = test_write_file(idx_path, gs->str, gs->len);
    g_string_free(gs, TRUE);
    g_free(idx), g_free(idx_path), g_free(s1), g_free(s2), g_free(s2src);
    if (ok) return root;
    free(root);
    return NULL;
}

/* Links name -> golden rel inside dir; false on failure. */
static bool link_golden(const char *dir, const char *name, const char *rel) {
    char *dst = g_build_filename(dir, name, NULL);
    char *src = g_canonicalize_filename(test_golden_path(rel), NULL);
    int   rc = symlink(src, dst);
    g_free(dst), g_free(src);
    return rc == 0;
}

char *tiny_cascade_make_x4(const char *root) {
    if (!test_golden_exists("pipeline_sd_x4_upscaler/model_index.json") ||
        !test_golden_exists("pipeline_sd/text_encoder/config.json"))
        return NULL;
    char *dir = g_build_filename(root, "x4", NULL);
    bool  ok = g_mkdir(dir, 0755) == 0;
    static const char *const links[][2] = {{"unet", "pipeline_sd_x4_upscaler/unet"},
                                           {"vae", "pipeline_sd_x4_upscaler/vae"},
                                           {"scheduler", "pipeline_sd_x4_upscaler/scheduler"},
                                           {"low_res_scheduler",
                                            "pipeline_sd_x4_upscaler/low_res_scheduler"},
                                           {"text_encoder", "pipeline_sd/text_encoder"},
                                           {"tokenizer", "pipeline_sd/tokenizer"}};
    for (size_t i = 0; ok && i < G_N_ELEMENTS(links); i++)
        ok = link_golden(dir, links[i][0], links[i][1]);
    /* the golden upscaler was run on embeddings: give its index the SD case's CLIP */
    gchar *idx = NULL;
    ok = ok && g_file_get_contents(test_golden_path("pipeline_sd_x4_upscaler/model_index.json"),
                                   &idx, NULL, NULL);
    if (ok) {
        GString *gs = g_string_new(idx);
        g_string_replace(gs, "\"text_encoder\": [\n    null,\n    null\n  ]",
                         "\"text_encoder\": [\"transformers\", \"CLIPTextModel\"]", 1);
        g_string_replace(gs, "\"tokenizer\": [\n    null,\n    null\n  ]",
                         "\"tokenizer\": [\"transformers\", \"CLIPTokenizer\"]", 1);
        char *idx_path = g_build_filename(dir, "model_index.json", NULL);
        ok = test_write_file(idx_path, gs->str, gs->len);
        g_string_free(gs, TRUE);
        g_free(idx_path);
    }
    g_free(idx);
    if (ok) return dir;
    g_free(dir);
    return NULL;
}
