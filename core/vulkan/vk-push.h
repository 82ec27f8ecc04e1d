/* The push-constant layouts of vulkan_shaders/include/push-params.glsl, seen from C and
 * pinned here so a change on one side fails the build instead of corrupting a dispatch. */
#ifndef CASCADE_VK_PUSH_H
#define CASCADE_VK_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "include/push-params.glsl"

#define CASCADE_VK_PUSH_MAX 128

_Static_assert(sizeof(cascade_pc_binary) == 14 * 4, "binary push layout");
_Static_assert(offsetof(cascade_pc_binary, sb) == 32 && offsetof(cascade_pc_binary, op) == 52,
               "binary push layout");
_Static_assert(sizeof(cascade_pc_unary) == 16 && offsetof(cascade_pc_unary, f1) == 12,
               "unary push layout");
_Static_assert(sizeof(cascade_pc_copy) == 36 && offsetof(cascade_pc_copy, obase) == 32,
               "copy push layout");
_Static_assert(sizeof(cascade_pc_permute) == 56 && offsetof(cascade_pc_permute, st) == 32,
               "permute push layout");
_Static_assert(sizeof(cascade_pc_matmul) == 52 && offsetof(cascade_pc_matmul, has_bias) == 48,
               "matmul push layout");
_Static_assert(sizeof(cascade_pc_conv2d) == 68 && offsetof(cascade_pc_conv2d, has_bias) == 64,
               "conv2d push layout");
_Static_assert(sizeof(cascade_pc_norm) == 28 && offsetof(cascade_pc_norm, eps) == 24,
               "norm push layout");
_Static_assert(sizeof(cascade_pc_reduce) == 12, "reduce push layout");
_Static_assert(sizeof(cascade_pc_attention) == 44 && offsetof(cascade_pc_attention, bs) == 24 &&
                   offsetof(cascade_pc_attention, scale) == 40,
               "attention push layout");
_Static_assert(sizeof(cascade_pc_resample) == 44 &&
                   offsetof(cascade_pc_resample, align_corners) == 40,
               "resample push layout");
_Static_assert(sizeof(cascade_pc_rows) == 12, "get_rows push layout");
_Static_assert(sizeof(cascade_pc_cast) == 8, "cast push layout");

#endif
