/* Storage types. FLOAT16 variants keep activations and weights as float16_t in memory
 * (VK_KHR_16bit_storage); all arithmetic is fp32 either way. */
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : enable

#ifdef FLOAT16
#define T float16_t
#else
#define T float
#endif

/* Flattened 2-D dispatch so element counts past 65535 workgroups still fit. */
#define GLOBAL_INDEX ((gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

#include "push-params.glsl"
