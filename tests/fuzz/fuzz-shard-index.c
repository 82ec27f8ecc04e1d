/* libFuzzer harness: a sharded checkpoint's model.safetensors.index.json
 * (cascade_weights_open_dir) in a folder that also holds two valid shards, a.safetensors
 * (tensors x, y) and b.safetensors (tensor z). A refusal names the index; an accepted index
 * gives weights whose every tensor loads. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/safetensors.h"
#include "cascade/tensor.h"
#include "cascade/weights.h"
#include "fuzz-common.h"

static void write_shard(const char *rel, size_t n, const char *const *names) {
    cascade_tensor *t[2] = {NULL, NULL};
    const int64_t   shape[2] = {2, 3};
    cascade_error   err;
    cascade_error_init(&err);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(cascade_tensor_new(CASCADE_DTYPE_F32, 2, shape, &t[i], &err) == 0);
        for (int k = 0; k < 6; k++)
            ((float *)t[i]->data)[k] = (float)(k + 1) * 0.5f;
    }
    char *p = fuzz_path(rel);
    FUZZ_ASSERT(cascade_safetensors_write(p, n, names, (const cascade_tensor *const *)t, NULL,
                                          &err) == CASCADE_STATUS_OK);
    g_free(p);
    for (size_t i = 0; i < n; i++)
        cascade_tensor_free(t[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    fuzz_init();
    if (!ready) {
        static const char *const a[] = {"x", "y"}, *const b[] = {"z"};
        write_shard("w/a.safetensors", 2, a);
        write_shard("w/b.safetensors", 1, b);
        ready = 1;
    }
    g_free(fuzz_write("w/model.safetensors.index.json", data, size));
    char            *dir = fuzz_path("w");
    cascade_weights *w = NULL;
    cascade_error    err;
    cascade_error_init(&err);
    cascade_status st = cascade_weights_open_dir(dir, CASCADE_DTYPE_F32, &w, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (w != NULL));
    if (w) {
        for (size_t i = 0; i < cascade_weights_count(w); i++) {
            const char *name = cascade_weights_name(w, i);
            FUZZ_ASSERT(name && cascade_weights_has(w, name));
            const cascade_tensor *t = NULL;
            cascade_error_init(&err);
            const int64_t shape[2] = {2, 3};
            FUZZ_ASSERT(cascade_weights_get(w, name, 2, shape, &t, &err) == CASCADE_STATUS_OK);
            FUZZ_ASSERT(((const float *)t->data)[5] == 3.0f);
        }
        cascade_error_init(&err);
        (void)cascade_weights_check_all_used(w, &err);
        cascade_weights_free(w);
    }
    g_free(dir);
    return 0;
}
