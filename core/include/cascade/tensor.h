/* Host tensors: a dtype, a shape in PyTorch order (outermost first) and contiguous data.
 * Strides exist for views into mapped files and are always in elements. */
#ifndef CASCADE_TENSOR_H
#define CASCADE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASCADE_MAX_DIMS 6

typedef enum cascade_dtype {
    CASCADE_DTYPE_F32 = 0,
    CASCADE_DTYPE_F16,
    CASCADE_DTYPE_BF16,
    CASCADE_DTYPE_F64,
    CASCADE_DTYPE_I8,
    CASCADE_DTYPE_U8,
    CASCADE_DTYPE_I16,
    CASCADE_DTYPE_U16,
    CASCADE_DTYPE_I32,
    CASCADE_DTYPE_U32,
    CASCADE_DTYPE_I64,
    CASCADE_DTYPE_U64,
    CASCADE_DTYPE_BOOL,
    CASCADE_DTYPE_F8_E4M3,
    CASCADE_DTYPE_F8_E5M2,
    CASCADE_DTYPE_COUNT
} cascade_dtype;

size_t      cascade_dtype_size(cascade_dtype dt);
const char *cascade_dtype_name(cascade_dtype dt); /* safetensors spelling: "F32", "BF16", ... */
/* Parses the safetensors spelling; false when unknown. */
bool cascade_dtype_from_name(const char *name, cascade_dtype *out);

typedef struct cascade_tensor {
    cascade_dtype dtype;
    int32_t       ndim;
    int64_t       shape[CASCADE_MAX_DIMS];
    int64_t       stride[CASCADE_MAX_DIMS]; /* in elements */
    void         *data;
    bool          owns_data; /* data was allocated by cascade_tensor_new and is freed with it */
} cascade_tensor;

/* Allocates a zeroed contiguous tensor. *out stays NULL on failure. */
cascade_status cascade_tensor_new(cascade_dtype dtype, int32_t ndim, const int64_t *shape,
                                  cascade_tensor **out, cascade_error *err);
/* Wraps borrowed contiguous data (must outlive the tensor). */
cascade_status cascade_tensor_new_view(cascade_dtype dtype, int32_t ndim, const int64_t *shape,
                                       void *data, cascade_tensor **out, cascade_error *err);
void cascade_tensor_free(cascade_tensor *t); /* NULL-safe */

/* Element count, with overflow checking: false if it does not fit in int64 / size_t. */
bool    cascade_shape_numel(int32_t ndim, const int64_t *shape, int64_t *out);
int64_t cascade_tensor_numel(const cascade_tensor *t);
size_t  cascade_tensor_nbytes(const cascade_tensor *t);
bool    cascade_tensor_is_contiguous(const cascade_tensor *t);
void    cascade_shape_contiguous_strides(int32_t ndim, const int64_t *shape, int64_t *stride);
/* "[2, 12, 64]" into buf. */
const char *cascade_shape_format(int32_t ndim, const int64_t *shape, char *buf, size_t n);

/* Converts n contiguous elements between dtypes (float <-> float, int -> float, float -> int
 * with rounding toward zero). Returns UNSUPPORTED for pairs it does not handle. */
cascade_status cascade_convert(cascade_dtype src_dt, const void *src, cascade_dtype dst_dt,
                               void *dst, size_t n, cascade_error *err);
/* New contiguous tensor holding t converted to dtype. */
cascade_status cascade_tensor_convert(const cascade_tensor *t, cascade_dtype dtype,
                                      cascade_tensor **out, cascade_error *err);

uint16_t cascade_fp32_to_fp16(float f);
float    cascade_fp16_to_fp32(uint16_t h);
uint16_t cascade_fp32_to_bf16(float f);
float    cascade_bf16_to_fp32(uint16_t b);

#ifdef __cplusplus
}
#endif

#endif
