/* safetensors files: a little-endian u64 header length N, N bytes of JSON describing each
 * tensor (dtype, shape, data_offsets relative to the data area), then the raw data.
 * The reader maps the file and validates the whole header against it before anything is
 * used: well-formed UTF-8 JSON, known dtypes, offsets inside the data area, no overlaps,
 * byte size = numel x dtype size, unique names. */
#ifndef CASCADE_SAFETENSORS_H
#define CASCADE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_safetensors cascade_safetensors;

typedef struct cascade_st_entry {
    const char   *name;
    cascade_dtype dtype;
    int32_t       ndim;
    int64_t       shape[CASCADE_MAX_DIMS];
    uint64_t      nbytes;
    const void   *data; /* into the mapping; valid until the file is closed; may be unaligned */
} cascade_st_entry;

/* Maps and validates path. *out stays NULL on failure; the message names the file. */
cascade_status cascade_safetensors_open(const char *path, cascade_safetensors **out,
                                        cascade_error *err);
/* Validates an in-memory image (borrowed; used by the fuzzer and tests); label names it. */
cascade_status cascade_safetensors_open_memory(const void *data, size_t size, const char *label,
                                               cascade_safetensors **out, cascade_error *err);
void cascade_safetensors_close(cascade_safetensors *st); /* NULL-safe */

const char             *cascade_safetensors_path(const cascade_safetensors *st);
size_t                  cascade_safetensors_count(const cascade_safetensors *st);
const cascade_st_entry *cascade_safetensors_entry(const cascade_safetensors *st, size_t i);
const cascade_st_entry *cascade_safetensors_find(const cascade_safetensors *st,
                                                 const char *name); /* NULL when absent */
/* "__metadata__" string value, or NULL. */
const char *cascade_safetensors_metadata(const cascade_safetensors *st, const char *key);

/* Says e's bytes (an entry of st) have been copied out and will not be read soon: for a file
 * mapping, the pages under it leave this process's resident memory (the data stays valid and
 * is read from the file again if touched); nothing for memory images. Used after converting
 * a weight, so a checkpoint is not held twice (mapped and converted). */
void cascade_safetensors_release(const cascade_safetensors *st, const cascade_st_entry *e);

/* Copies an entry into a new contiguous tensor of dtype (converting; aligned). */
cascade_status cascade_safetensors_load(const cascade_safetensors *st, const char *name,
                                        cascade_dtype dtype, cascade_tensor **out,
                                        cascade_error *err);

/* Writes tensors (contiguous) under names to path, sorted by name as the reference
 * library does, with the data area 8-byte aligned. metadata may be NULL. */
cascade_status cascade_safetensors_write(const char *path, size_t n, const char *const *names,
                                         const cascade_tensor *const *tensors,
                                         const char *const *metadata_kv /* NULL-terminated
                                                                           key,value,... */,
                                         cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
