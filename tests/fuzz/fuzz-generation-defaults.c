/* libFuzzer harness: a model folder's generation_defaults.json
 * (cascade_generation_defaults_load). A refusal names the file and leaves the defaults as
 * they were; an accepted file gives values inside the documented ranges. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/generation-defaults.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    g_free(fuzz_write("gd/generation_defaults.json", data, size));
    char                             *dir = fuzz_path("gd");
    const cascade_generation_defaults def = {50, 7.0, 250, 1.0};
    cascade_generation_defaults       d = def;
    cascade_error                     err;
    cascade_error_init(&err);
    cascade_status st = cascade_generation_defaults_load(dir, &d, &err);
    fuzz_check_failure(st, &err, "generation_defaults.json");
    if (st == CASCADE_STATUS_OK) {
        FUZZ_ASSERT(d.steps >= 1 && d.steps <= 1000);
        FUZZ_ASSERT(d.guidance >= 0 && d.guidance <= 100);
        FUZZ_ASSERT(d.noise_level >= 0 && d.noise_level <= 999);
        FUZZ_ASSERT(d.strength > 0 && d.strength <= 1);
    } else {
        FUZZ_ASSERT(!memcmp(&d, &def, sizeof d));
    }
    g_free(dir);
    return 0;
}
