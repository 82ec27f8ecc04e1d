/* libFuzzer harness: a U-Net config.json (cascade_unet_new on cascade_config_parse's tree).
 * Any bytes are refused with a message naming the file, or give a U-Net whose info is sane. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/unet.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    cascade_status st = cascade_config_parse((const char *)data, size, "unet.json", &cfg, &err);
    fuzz_check_failure(st, &err, "unet.json");
    if (st) return 0;
    cascade_unet *u = NULL;
    st = cascade_unet_new(cfg, &u, &err);
    fuzz_check_failure(st, &err, "unet.json");
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (u != NULL));
    if (u) {
        cascade_unet_info info;
        cascade_unet_get_info(u, &info);
        FUZZ_ASSERT(info.in_channels > 0 && info.out_channels > 0);
        FUZZ_ASSERT(info.size_multiple >= 1);
        FUZZ_ASSERT(info.sample_size[0] >= 0 && info.sample_size[1] >= 0);
        cascade_unet_free(u);
    }
    cascade_config_free(cfg);
    return 0;
}
