/* Inpainting with IF's semantics (IFInpaintingPipeline, IFInpaintingSuperResolutionPipeline):
 * the mask is binarised at 0.5; the start is the original with the masked region noised to
 * the first timestep; after every step the unmasked region is put back from before the step,
 * so the pixels outside the mask come out as they went in. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline-internal.h"

void pipe_binarize_mask(const float *mask, int64_t mb, int64_t batch, size_t hw, float *out) {
    for (int64_t b = 0; b < batch; b++) {
        const float *m = mask + (size_t)(mb == 1 ? 0 : b) * hw;
        for (size_t i = 0; i < hw; i++)
            out[(size_t)b * hw + i] = m[i] >= 0.5f ? 1.0f : 0.0f;
    }
}

void pipe_blend_mask(float *x, const float *keep, const float *mask, int64_t batch,
                     int64_t channels, size_t hw) {
    for (int64_t b = 0; b < batch; b++)
        for (int64_t c = 0; c < channels; c++) {
            size_t       o = ((size_t)(b * channels + c)) * hw;
            const float *m = mask + (size_t)b * hw;
            for (size_t i = 0; i < hw; i++)
                x[o + i] = (1.0f - m[i]) * keep[o + i] + m[i] * x[o + i];
        }
}

void pipe_downscale_area(const float *x, int64_t n_planes, int64_t h, int64_t w, int64_t f,
                         float *out) {
    int64_t oh = h / f, ow = w / f;
    float   inv = 1.0f / (float)(f * f);
    for (int64_t p = 0; p < n_planes; p++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t xx = 0; xx < ow; xx++) {
                float acc = 0;
                for (int64_t dy = 0; dy < f; dy++)
                    for (int64_t dx = 0; dx < f; dx++)
                        acc += x[(size_t)p * (size_t)(h * w) +
                                 (size_t)((y * f + dy) * w + xx * f + dx)];
                out[(size_t)p * (size_t)(oh * ow) + (size_t)(y * ow + xx)] = acc * inv;
            }
}

void cascade_image_to_rgb8(const float *img, int64_t h, int64_t w, uint8_t *rgb) {
    size_t hw = (size_t)(h * w);
    for (size_t i = 0; i < hw; i++)
        for (size_t c = 0; c < 3; c++) {
            float v = img[c * hw + i] / 2.0f + 0.5f;
            v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
            rgb[i * 3 + c] = (uint8_t)nearbyintf(v * 255.0f); /* numpy round: half to even */
        }
}

void cascade_image_from_rgb8(const uint8_t *rgb, int64_t h, int64_t w, int32_t channels,
                             float *img) {
    size_t hw = (size_t)(h * w);
    for (size_t i = 0; i < hw; i++)
        for (size_t c = 0; c < 3; c++)
            img[c * hw + i] = (float)rgb[i * (size_t)channels + c] / 127.5f - 1.0f;
}

void cascade_mask_from_grey8(const uint8_t *grey, int64_t h, int64_t w, float *mask) {
    for (size_t i = 0; i < (size_t)(h * w); i++)
        mask[i] = (float)grey[i] / 255.0f;
}
