/* libFuzzer harness: a PNG file (cascade_image_read_png_limit, the reader of input images and
 * masks). libpng's longjmp errors must come back as a FORMAT error naming the file, with
 * nothing leaked; a decoded image is RGB or RGBA within the pixel limit, every byte readable.
 * The limit is 2^22 pixels here, not the default 2^27, so that an exec stays fast; the
 * header check before allocation is the same code. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/image-io.h"
#include "fuzz-common.h"

#define LIMIT ((int64_t)1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    char          *path = fuzz_write("in.png", data, size);
    cascade_image *img = NULL;
    cascade_error  err;
    cascade_error_init(&err);
    cascade_status st = cascade_image_read_png_limit(path, LIMIT, &img, &err);
    fuzz_check_failure(st, &err, path);
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (img != NULL));
    if (img) {
        FUZZ_ASSERT(img->width >= 1 && img->height >= 1 && img->width * img->height <= LIMIT);
        FUZZ_ASSERT(img->channels == 3 || img->channels == 4);
        const size_t     n = (size_t)(img->width * img->height * img->channels);
        volatile uint8_t sink = img->pixels[0] ^ img->pixels[n - 1];
        (void)sink;
        cascade_image_free(img);
    }
    g_free(path);
    return 0;
}
