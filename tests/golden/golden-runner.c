/* golden-runner [--backend cpu|vulkan] [--precision fp32|fp16] [--case NAME] [-v] [DIR]
 * Runs every case folder under DIR (default ../shared/golden) whose class the engine
 * implements, prints PASS/FAIL/SKIP per case and "N passed, N failed, N skipped". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "golden-backend.h"
#include "test-common.h"

static const golden_family *const families[] = {
    &golden_family_t5_tokenizer,
    &golden_family_clip_tokenizer,
    &golden_family_t5_encoder,
    &golden_family_clip_text,
    &golden_family_scheduler,
    &golden_family_unet,
    &golden_family_sr,
    &golden_family_pipeline,
    &golden_family_sd,
    &golden_family_vae,
};

/* Families that compute on the host only: their cases keep the fp32 tolerances whatever
 * the backend's precision, since no value passes through backend storage. */
static const golden_family *const host_only[] = {
    &golden_family_t5_tokenizer,
    &golden_family_clip_tokenizer,
    &golden_family_scheduler,
};

static bool is_host_only(const golden_family *f) {
    for (size_t i = 0; i < G_N_ELEMENTS(host_only); i++)
        if (host_only[i] == f) return true;
    return false;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: golden-runner [--backend cpu|vulkan] [--precision fp32|fp16] [--case NAME|GLOB]\n"
            "                     [-v] [DIR]\n"
            "Runs the golden cases under DIR (default: $CASCADE_GOLDEN_DIR or ../shared/golden)\n"
            "against the engine and compares every output with the case's tolerance.\n");
}

static const golden_family *find_family(const golden_case *c) {
    for (size_t i = 0; i < G_N_ELEMENTS(families); i++)
        if (families[i]->matches(c)) return families[i];
    return NULL;
}

/* g_ptr_array_sort hands over pointers to the elements */
static gint compare_names(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *class_of(JsonObject *root) {
    if (!json_object_has_member(root, "produced_by")) return NULL;
    JsonNode *pb = json_object_get_member(root, "produced_by");
    if (!JSON_NODE_HOLDS_OBJECT(pb)) return NULL;
    JsonObject *o = json_node_get_object(pb);
    if (!json_object_has_member(o, "class")) return NULL;
    JsonNode *cn = json_object_get_member(o, "class");
    return JSON_NODE_HOLDS_VALUE(cn) ? json_node_get_string(cn) : NULL;
}

int main(int argc, char **argv) {
    const char *backend = "cpu", *precision = "fp32", *only = NULL, *dir = NULL;
    bool        verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) verbose = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "golden-runner: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else dir = argv[i];
    }
    if (!dir) dir = test_golden_dir();
    if (strcmp(precision, "fp32") && strcmp(precision, "fp16")) {
        fprintf(stderr, "golden-runner: --precision must be fp32 or fp16\n");
        return 2;
    }

    cascade_error    err;
    cascade_backend *be = NULL;
    cascade_error_init(&err);
    cascade_status bst = golden_backend_new(backend, precision, &be, &err);
    if (bst != CASCADE_STATUS_OK) {
        /* no device (or no 16-bit storage for fp16): meson's exitcode protocol reads 77 as
         * SKIP; CI sets CASCADE_REQUIRE_VULKAN=1 so that coverage cannot vanish */
        const char *req = getenv("CASCADE_REQUIRE_VULKAN");
        bool        skip = bst == CASCADE_STATUS_UNSUPPORTED && strcmp(backend, "cpu") != 0 &&
                    !(req && strcmp(req, "1") == 0);
        fprintf(stderr, "golden-runner: backend %s: %s%s\n", backend, err.message,
                skip ? " (skipped)" : "");
        return skip ? 77 : 2;
    }

    GError *gerr = NULL;
    GDir   *d = g_dir_open(dir, 0, &gerr);
    if (!d) {
        fprintf(stderr, "golden-runner: %s\n", gerr->message);
        g_error_free(gerr);
        cascade_backend_free(be);
        return 2;
    }
    GPtrArray  *names = g_ptr_array_new_with_free_func(g_free);
    const char *ent;
    while ((ent = g_dir_read_name(d))) {
        char *cj = g_build_filename(dir, ent, "case.json", NULL);
        if (g_file_test(cj, G_FILE_TEST_IS_REGULAR)) g_ptr_array_add(names, g_strdup(ent));
        g_free(cj);
    }
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);

    int n_pass = 0, n_fail = 0, n_skip = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (only && !g_pattern_match_simple(only, name)) continue; /* NAME or a glob */
        char       *case_dir = g_build_filename(dir, name, NULL);
        char       *cj = g_build_filename(case_dir, "case.json", NULL);
        JsonParser *parser = json_parser_new();
        golden_result r = {0};
        if (!json_parser_load_from_file(parser, cj, &gerr) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
            golden_fail(&r, "case.json: %s", gerr ? gerr->message : "not an object");
            g_clear_error(&gerr);
        } else {
            golden_case c = {.dir = case_dir, .name = name,
                             .json = json_node_get_object(json_parser_get_root(parser)),
                             .backend = backend, .precision = precision, .be = be,
                             .verbose = verbose};
            c.class_name = class_of(c.json);
            const golden_family *fam = find_family(&c);
            if (fam && is_host_only(fam)) c.precision = "fp32"; /* no backend storage involved */
            if (!fam) {
                golden_skip(&r, "class %s not implemented", c.class_name ? c.class_name : "(none)");
            } else {
                uint64_t msgs = golden_backend_validation_messages(be);
                cascade_error_init(&err);
                if (fam->run(&c, &r, &err) != CASCADE_STATUS_OK)
                    golden_fail(&r, "%s", err.message);
                else if (r.verdict == GOLDEN_PASS && r.n_checked == 0)
                    golden_fail(&r, "no output was checked");
                /* any validation-layer message fails the case (STYLE.md, Testing) */
                uint64_t more = golden_backend_validation_messages(be) - msgs;
                if (more)
                    golden_fail(&r, "%llu Vulkan validation message(s), see stderr",
                                (unsigned long long)more);
            }
        }
        static const char *const tag[] = {"PASS", "FAIL", "SKIP"};
        printf("%s %-32s max_abs=%.3g max_rel=%.3g%s%s\n", tag[r.verdict], name, r.max_abs,
               r.max_rel, r.note[0] ? "  " : "", r.note);
        fflush(stdout);
        n_pass += r.verdict == GOLDEN_PASS;
        n_fail += r.verdict == GOLDEN_FAIL;
        n_skip += r.verdict == GOLDEN_SKIP;
        g_object_unref(parser);
        g_free(cj);
        g_free(case_dir);
    }
    g_ptr_array_free(names, TRUE);
    cascade_backend_free(be);
    printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}
