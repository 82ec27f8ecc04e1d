/* config.json of a model component (diffusers / transformers style): typed getters that
 * record which fields were read, so a model can refuse every field it does not implement
 * with one call to cascade_config_check_all_used(). Missing fields take the given default
 * (the reference library's default); a field of the wrong JSON type is a FORMAT error. */
#ifndef CASCADE_CONFIG_H
#define CASCADE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_config cascade_config;

cascade_status cascade_config_load(const char *path, cascade_config **out, cascade_error *err);
/* <dir>/<name> when the file exists (*out NULL and OK when it does not: an optional file such
 * as generation_defaults.json), its "_comment" field marked as used. */
cascade_status cascade_config_load_optional(const char *dir, const char *name,
                                            cascade_config **out, cascade_error *err);
/* Parses a JSON object from memory; label is used in messages in place of a path. */
cascade_status cascade_config_parse(const char *json, size_t len, const char *label,
                                    cascade_config **out, cascade_error *err);
void        cascade_config_free(cascade_config *cfg); /* NULL-safe */
const char *cascade_config_path(const cascade_config *cfg);

bool cascade_config_has(const cascade_config *cfg, const char *key);
/* Present with the JSON value null. */
bool cascade_config_is_null(const cascade_config *cfg, const char *key);

/* Each getter marks key as used. Null or missing -> def. */
cascade_status cascade_config_int(cascade_config *cfg, const char *key, int64_t def,
                                  int64_t *out, cascade_error *err);
cascade_status cascade_config_float(cascade_config *cfg, const char *key, double def,
                                    double *out, cascade_error *err); /* ints accepted */
cascade_status cascade_config_bool(cascade_config *cfg, const char *key, bool def, bool *out,
                                   cascade_error *err);
/* *out points into cfg (or is def); valid until cascade_config_free. */
cascade_status cascade_config_string(cascade_config *cfg, const char *key, const char *def,
                                     const char **out, cascade_error *err);
/* Arrays: *n receives the element count (0 when missing or null); more than max elements is
 * a FORMAT error. A scalar where an array is expected counts as one element when
 * scalar_ok (diffusers allows `attention_head_dim: 8` or `[5, 10, 20]`). */
cascade_status cascade_config_int_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                        int64_t *out, size_t max, size_t *n, cascade_error *err);
cascade_status cascade_config_float_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                          double *out, size_t max, size_t *n,
                                          cascade_error *err);
cascade_status cascade_config_bool_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                         bool *out, size_t max, size_t *n, cascade_error *err);
/* Strings point into cfg; a null element comes back as NULL (diffusers writes such lists),
 * which callers must check. */
cascade_status cascade_config_string_array(cascade_config *cfg, const char *key,
                                           const char **out, size_t max, size_t *n,
                                           cascade_error *err);

/* Marks fields as used without reading them: metadata ("_class_name", "_diffusers_version",
 * "architectures", ...) or fields that cannot change inference (dropout, init scales).
 * NULL-terminated list. */
void cascade_config_ignore(cascade_config *cfg, const char *const *keys);

/* UNSUPPORTED naming the file and the first field nobody read. */
cascade_status cascade_config_check_all_used(const cascade_config *cfg, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
