/* libFuzzer harness: any byte string given to cascade_safetensors_open_memory must either be
 * refused with an error or yield entries whose data lies inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cascade/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    if (cascade_safetensors_open_memory(data, size, "fuzz.safetensors", &st, &err) !=
        CASCADE_STATUS_OK) {
        /* a refusal always carries a message naming the input */
        if (err.status == CASCADE_STATUS_OK || !strstr(err.message, "fuzz.safetensors"))
            __builtin_trap();
        return 0;
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < cascade_safetensors_count(st); i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(st, i);
        const uint8_t          *p = e->data;
        /* every byte must be readable: ASan flags anything outside the input */
        if (e->nbytes) {
            if (p < data || p + e->nbytes > data + size) __builtin_trap();
            sink ^= p[0] ^ p[e->nbytes - 1];
        }
        if (cascade_safetensors_find(st, e->name) != e) __builtin_trap();
        cascade_tensor *t = NULL;
        cascade_error   lerr;
        cascade_error_init(&lerr);
        if (cascade_safetensors_load(st, e->name, CASCADE_DTYPE_F32, &t, &lerr) ==
            CASCADE_STATUS_OK) {
            if (cascade_tensor_numel(t) && ((const float *)t->data)[0] != 0) sink ^= 1;
            cascade_tensor_free(t);
        }
    }
    (void)cascade_safetensors_metadata(st, "format");
    (void)sink;
    cascade_safetensors_close(st);
    return 0;
}
