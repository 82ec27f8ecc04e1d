/* libFuzzer harness: the config.json of the other model components, through their real
 * loaders on a scratch folder holding only that file: the T5 encoder, the CLIP text encoder
 * and the VAE. Each must refuse the folder (no weights, or a bad config) with a message
 * naming it; a config that passes reaches the weights lookup, which then fails. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/clip-text.h"
#include "cascade/t5.h"
#include "cascade/vae.h"
#include "fuzz-common.h"

static cascade_backend *cpu;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    if (!cpu) {
        cascade_cpu_options opt;
        cascade_error       e;
        cascade_error_init(&e);
        cascade_cpu_options_init(&opt);
        opt.n_threads = 1;
        FUZZ_ASSERT(cascade_backend_cpu_new(&opt, &cpu, &e) == CASCADE_STATUS_OK);
    }
    g_free(fuzz_write("enc/config.json", data, size));
    char         *dir = fuzz_path("enc");
    cascade_error err;

    cascade_t5 *t5 = NULL;
    cascade_error_init(&err);
    cascade_status st = cascade_t5_load(dir, CASCADE_DTYPE_F32, &t5, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT(st != CASCADE_STATUS_OK && !t5); /* there are no weights */

    cascade_clip_text *clip = NULL;
    cascade_error_init(&err);
    st = cascade_clip_text_load(dir, CASCADE_DTYPE_F32, &clip, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT(st != CASCADE_STATUS_OK && !clip);

    cascade_vae *vae = NULL;
    cascade_error_init(&err);
    st = cascade_vae_load(dir, cpu, CASCADE_DTYPE_F32, &vae, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT(st != CASCADE_STATUS_OK && !vae);
    g_free(dir);
    return 0;
}
