#include "cascade/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t      size;
} dtype_info[CASCADE_DTYPE_COUNT] = {
    [CASCADE_DTYPE_F32] = {"F32", 4},         [CASCADE_DTYPE_F16] = {"F16", 2},
    [CASCADE_DTYPE_BF16] = {"BF16", 2},       [CASCADE_DTYPE_F64] = {"F64", 8},
    [CASCADE_DTYPE_I8] = {"I8", 1},           [CASCADE_DTYPE_U8] = {"U8", 1},
    [CASCADE_DTYPE_I16] = {"I16", 2},         [CASCADE_DTYPE_U16] = {"U16", 2},
    [CASCADE_DTYPE_I32] = {"I32", 4},         [CASCADE_DTYPE_U32] = {"U32", 4},
    [CASCADE_DTYPE_I64] = {"I64", 8},         [CASCADE_DTYPE_U64] = {"U64", 8},
    [CASCADE_DTYPE_BOOL] = {"BOOL", 1},       [CASCADE_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [CASCADE_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};

size_t cascade_dtype_size(cascade_dtype dt) {
    return (unsigned)dt < CASCADE_DTYPE_COUNT ? dtype_info[dt].size : 0;
}

const char *cascade_dtype_name(cascade_dtype dt) {
    return (unsigned)dt < CASCADE_DTYPE_COUNT ? dtype_info[dt].name : "?";
}

bool cascade_dtype_from_name(const char *name, cascade_dtype *out) {
    for (int i = 0; i < CASCADE_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (cascade_dtype)i;
            return true;
        }
    }
    return false;
}

bool cascade_shape_numel(int32_t ndim, const int64_t *shape, int64_t *out) {
    int64_t n = 1;
    if (ndim < 0 || ndim > CASCADE_MAX_DIMS) return false;
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0) return false;
        if (shape[i] != 0 && n > INT64_MAX / shape[i]) return false;
        n *= shape[i];
    }
    *out = n;
    return true;
}

void cascade_shape_contiguous_strides(int32_t ndim, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int32_t i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i];
    }
}

int64_t cascade_tensor_numel(const cascade_tensor *t) {
    int64_t n = 0;
    cascade_shape_numel(t->ndim, t->shape, &n);
    return n;
}

size_t cascade_tensor_nbytes(const cascade_tensor *t) {
    return (size_t)cascade_tensor_numel(t) * cascade_dtype_size(t->dtype);
}

bool cascade_tensor_is_contiguous(const cascade_tensor *t) {
    int64_t s = 1;
    for (int32_t i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

const char *cascade_shape_format(int32_t ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "[");
    for (int32_t i = 0; i < ndim; i++)
        k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "%s%lld", i ? ", " : "",
                              (long long)shape[i]);
    snprintf(buf + k, n > k ? n - k : 0, "]");
    return buf;
}

static cascade_status tensor_alloc(cascade_dtype dtype, int32_t ndim, const int64_t *shape,
                                   void *data, cascade_tensor **out, cascade_error *err) {
    *out = NULL;
    int64_t numel;
    if ((unsigned)dtype >= CASCADE_DTYPE_COUNT)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tensor: bad dtype %d", dtype);
    if (!cascade_shape_numel(ndim, shape, &numel) ||
        (uint64_t)numel > SIZE_MAX / cascade_dtype_size(dtype))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tensor: invalid shape (%d dims) or size overflow", ndim);
    cascade_tensor *t = calloc(1, sizeof *t);
    if (!t) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "tensor: out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    cascade_shape_contiguous_strides(ndim, shape, t->stride);
    if (data) {
        t->data = data;
    } else {
        size_t nbytes = (size_t)numel * cascade_dtype_size(dtype);
        t->data = calloc(1, nbytes ? nbytes : 1);
        t->owns_data = true;
        if (!t->data) {
            free(t);
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "tensor: out of memory allocating %zu bytes", nbytes);
        }
    }
    *out = t;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_tensor_new(cascade_dtype dtype, int32_t ndim, const int64_t *shape,
                                  cascade_tensor **out, cascade_error *err) {
    return tensor_alloc(dtype, ndim, shape, NULL, out, err);
}

cascade_status cascade_tensor_new_view(cascade_dtype dtype, int32_t ndim, const int64_t *shape,
                                       void *data, cascade_tensor **out, cascade_error *err) {
    if (!data) {
        *out = NULL;
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tensor view: NULL data");
    }
    return tensor_alloc(dtype, ndim, shape, data, out, err);
}

void cascade_tensor_free(cascade_tensor *t) {
    if (!t) return;
    if (t->owns_data) free(t->data);
    free(t);
}

/* IEEE half conversion with round-to-nearest-even, subnormals, inf and NaN. */
uint16_t cascade_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into exponent: ok */
    return (uint16_t)(sign | h);
}

float cascade_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        if (man == 0) {
            x = sign;
        } else {
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        x = sign | 0x7f800000u | (man << 13);
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

uint16_t cascade_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float cascade_bf16_to_fp32(uint16_t b) {
    uint32_t x = (uint32_t)b << 16;
    float    f;
    memcpy(&f, &x, 4);
    return f;
}

/* fp8 (OCP): E4M3 has no inf and one NaN pattern; E5M2 is IEEE-like. */
static float fp8_to_fp32(uint8_t v, int exp_bits, int bias, bool e4m3) {
    int man_bits = 7 - exp_bits;
    int sign = v >> 7, exp = (v >> man_bits) & ((1 << exp_bits) - 1), man = v & ((1 << man_bits) - 1);
    float r;
    if (e4m3 && exp == 15 && man == 7) return NAN;
    if (!e4m3 && exp == 31) return man ? NAN : (sign ? -INFINITY : INFINITY);
    if (exp == 0) r = ldexpf((float)man, 1 - bias - man_bits);
    else r = ldexpf((float)(man | (1 << man_bits)), exp - bias - man_bits);
    return sign ? -r : r;
}

static double load_as_double(cascade_dtype dt, const void *src, size_t i) {
    switch (dt) {
    case CASCADE_DTYPE_F32: { float v; memcpy(&v, (const char *)src + 4 * i, 4); return v; }
    case CASCADE_DTYPE_F64: { double v; memcpy(&v, (const char *)src + 8 * i, 8); return v; }
    case CASCADE_DTYPE_F16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); return cascade_fp16_to_fp32(v); }
    case CASCADE_DTYPE_BF16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); return cascade_bf16_to_fp32(v); }
    case CASCADE_DTYPE_I8: return ((const int8_t *)src)[i];
    case CASCADE_DTYPE_U8: return ((const uint8_t *)src)[i];
    case CASCADE_DTYPE_BOOL: return ((const uint8_t *)src)[i] != 0;
    case CASCADE_DTYPE_I16: { int16_t v; memcpy(&v, (const char *)src + 2 * i, 2); return v; }
    case CASCADE_DTYPE_U16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); return v; }
    case CASCADE_DTYPE_I32: { int32_t v; memcpy(&v, (const char *)src + 4 * i, 4); return v; }
    case CASCADE_DTYPE_U32: { uint32_t v; memcpy(&v, (const char *)src + 4 * i, 4); return v; }
    case CASCADE_DTYPE_I64: { int64_t v; memcpy(&v, (const char *)src + 8 * i, 8); return (double)v; }
    case CASCADE_DTYPE_U64: { uint64_t v; memcpy(&v, (const char *)src + 8 * i, 8); return (double)v; }
    case CASCADE_DTYPE_F8_E4M3: return fp8_to_fp32(((const uint8_t *)src)[i], 4, 7, true);
    case CASCADE_DTYPE_F8_E5M2: return fp8_to_fp32(((const uint8_t *)src)[i], 5, 15, false);
    default: return 0;
    }
}

/* 1 stored, 0 dst_dt not handled, -1 v is not representable in the integer dtype (NaN,
 * infinite or out of range: the C conversion would be undefined). */
static int store_from_double(cascade_dtype dt, void *dst, size_t i, double v) {
    switch (dt) {
    case CASCADE_DTYPE_F32: { float f = (float)v; memcpy((char *)dst + 4 * i, &f, 4); return 1; }
    case CASCADE_DTYPE_F64: memcpy((char *)dst + 8 * i, &v, 8); return 1;
    case CASCADE_DTYPE_F16: { uint16_t h = cascade_fp32_to_fp16((float)v); memcpy((char *)dst + 2 * i, &h, 2); return 1; }
    case CASCADE_DTYPE_BF16: { uint16_t h = cascade_fp32_to_bf16((float)v); memcpy((char *)dst + 2 * i, &h, 2); return 1; }
    case CASCADE_DTYPE_I32:
        if (!(v > -2147483649.0 && v < 2147483648.0)) return -1;
        { int32_t k = (int32_t)v; memcpy((char *)dst + 4 * i, &k, 4); return 1; }
    case CASCADE_DTYPE_I64:
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return -1;
        { int64_t k = (int64_t)v; memcpy((char *)dst + 8 * i, &k, 8); return 1; }
    case CASCADE_DTYPE_I8:
        if (!(v > -129.0 && v < 128.0)) return -1;
        ((int8_t *)dst)[i] = (int8_t)v; return 1;
    case CASCADE_DTYPE_U8:
        if (!(v > -1.0 && v < 256.0)) return -1;
        ((uint8_t *)dst)[i] = (uint8_t)v; return 1;
    default: return 0;
    }
}

cascade_status cascade_convert(cascade_dtype src_dt, const void *src, cascade_dtype dst_dt,
                               void *dst, size_t n, cascade_error *err) {
    if ((unsigned)src_dt >= CASCADE_DTYPE_COUNT || (unsigned)dst_dt >= CASCADE_DTYPE_COUNT)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "convert: bad dtype");
    if (src_dt == dst_dt) {
        memcpy(dst, src, n * cascade_dtype_size(src_dt));
        return CASCADE_STATUS_OK;
    }
    /* fast paths for the conversions on the load path */
    if (dst_dt == CASCADE_DTYPE_F32 && src_dt == CASCADE_DTYPE_F16) {
        const uint8_t *s = src;
        float         *d = dst;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            d[i] = cascade_fp16_to_fp32(h);
        }
        return CASCADE_STATUS_OK;
    }
    if (dst_dt == CASCADE_DTYPE_F16 && src_dt == CASCADE_DTYPE_F32) {
        const uint8_t *s = src;
        uint16_t      *d = dst;
        for (size_t i = 0; i < n; i++) {
            float f;
            memcpy(&f, s + 4 * i, 4);
            d[i] = cascade_fp32_to_fp16(f);
        }
        return CASCADE_STATUS_OK;
    }
    uint64_t probe; /* asks store_from_double whether it handles dst_dt, without touching dst */
    if (!store_from_double(dst_dt, &probe, 0, 0.0))
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "convert: %s -> %s unsupported",
                                 cascade_dtype_name(src_dt), cascade_dtype_name(dst_dt));
    for (size_t i = 0; i < n; i++) {
        double v = load_as_double(src_dt, src, i);
        if (store_from_double(dst_dt, dst, i, v) < 0)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "convert: element %zu (%g) does not fit %s", i, v,
                                     cascade_dtype_name(dst_dt));
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_tensor_convert(const cascade_tensor *t, cascade_dtype dtype,
                                      cascade_tensor **out, cascade_error *err) {
    *out = NULL;
    if (!cascade_tensor_is_contiguous(t))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "convert: tensor not contiguous");
    cascade_tensor *r;
    CASCADE_TRY(cascade_tensor_new(dtype, t->ndim, t->shape, &r, err));
    cascade_status st =
        cascade_convert(t->dtype, t->data, dtype, r->data, (size_t)cascade_tensor_numel(t), err);
    if (st != CASCADE_STATUS_OK) {
        cascade_tensor_free(r);
        return st;
    }
    *out = r;
    return CASCADE_STATUS_OK;
}
