/* See cascade/aspect.h. */
#include "cascade/aspect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cascade_status cascade_aspect_parse(const char *text, double *ratio, cascade_error *err) {
    *ratio = 1.0;
    if (!text || !*text) return CASCADE_STATUS_OK;
    char *end = NULL;
    long  w = 0, h = 0;
    if (text[0] >= '1' && text[0] <= '9') w = strtol(text, &end, 10);
    if (end && *end == ':' && end[1] >= '1' && end[1] <= '9') h = strtol(end + 1, &end, 10);
    if (w <= 0 || h <= 0 || w > 10000 || h > 10000 || !end || *end)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "aspect ratio '%s': expected WIDTH:HEIGHT, e.g. 16:9", text);
    double r = (double)w / (double)h;
    if (r > 8.0 || r < 1.0 / 8.0)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "aspect ratio '%s' is beyond 8:1 (the first stage would be a few "
                                 "pixels across)",
                                 text);
    *ratio = r;
    return CASCADE_STATUS_OK;
}

static int64_t round_to(double x, int64_t m) {
    int64_t n = (int64_t)llround(x / (double)m);
    return (n < 1 ? 1 : n) * m;
}

void cascade_aspect_size(int64_t base_h, int64_t base_w, int64_t multiple, double ratio,
                         int64_t *height, int64_t *width) {
    double area = (double)base_h * (double)base_w;
    if (multiple < 1) multiple = 1;
    *width = round_to(sqrt(area * ratio), multiple);
    *height = round_to(sqrt(area / ratio), multiple);
}
