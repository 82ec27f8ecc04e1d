/* libFuzzer harness: a pipeline folder's model_index.json (cascade_model_dir_open) and the
 * checks front ends make on a folder with it (is it a pipeline, an SD pipeline). A refusal
 * names the file; an accepted index lists components whose fields are valid strings. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/model-dir.h"
#include "cascade/model-search.h"
#include "cascade/sd-pipeline.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    g_free(fuzz_write("pipe/model_index.json", data, size));
    char              *dir = fuzz_path("pipe");
    cascade_model_dir *md = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    cascade_status st = cascade_model_dir_open(dir, &md, &err);
    fuzz_check_failure(st, &err, "model_index.json");
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (md != NULL));
    if (md) {
        FUZZ_ASSERT(!strcmp(cascade_model_dir_path(md), dir));
        const char     *cls = cascade_model_dir_pipeline_class(md);
        const char     *ver = cascade_model_dir_diffusers_version(md);
        volatile size_t sink = (cls ? strlen(cls) : 0) + (ver ? strlen(ver) : 0);
        for (size_t i = 0; i < cascade_model_dir_count(md); i++) {
            const cascade_model_component *c = cascade_model_dir_component(md, i);
            FUZZ_ASSERT(c && c->name && c->path);
            sink += strlen(c->name) + strlen(c->path);
            if (c->library) sink += strlen(c->library);
            if (c->class_name) {
                sink += strlen(c->class_name);
                /* only non-null components are found by name */
                FUZZ_ASSERT(cascade_model_dir_find(md, c->name) == c);
            }
        }
        (void)sink;
        cascade_model_dir_free(md);
    }
    (void)cascade_model_is_pipeline_dir(dir);
    (void)cascade_sd_pipeline_is_dir(dir);
    g_free(dir);
    return 0;
}
