/* libFuzzer harness: a model folder's prompts.json (cascade_model_prompts_load). A refusal
 * names the file; accepted lists hold non-empty strings within the documented maximum. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/model-prompts.h"
#include "fuzz-common.h"

static void check_list(char **list, size_t n) {
    FUZZ_ASSERT(n <= CASCADE_MODEL_PROMPTS_MAX);
    FUZZ_ASSERT((n == 0) == (list == NULL));
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(list[i] && list[i][0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    g_free(fuzz_write("mp/prompts.json", data, size));
    char                  *dir = fuzz_path("mp");
    cascade_model_prompts *p = NULL;
    cascade_error          err;
    cascade_error_init(&err);
    cascade_status st = cascade_model_prompts_load(dir, &p, &err);
    fuzz_check_failure(st, &err, "prompts.json");
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (p != NULL)); /* the file is there */
    if (p) {
        check_list(p->styles, p->n_styles);
        check_list(p->subjects, p->n_subjects);
        check_list(p->prompts, p->n_prompts);
        cascade_model_prompts_free(p);
    }
    g_free(dir);
    return 0;
}
