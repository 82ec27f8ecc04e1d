/* Internal to core/io: strict JSON parsing shared by the safetensors header, config.json,
 * model_index.json and shard indices. json-glib silently keeps the last of duplicate keys,
 * accepts comments, single quotes and hex numbers, and recurses without a depth limit, so
 * the text is checked against RFC 8259 (iteratively, depth-bounded) before json-glib builds
 * the tree, and duplicate keys are caught while it does. */
#ifndef CASCADE_IO_JSON_H
#define CASCADE_IO_JSON_H

#include <stddef.h>

#include <json-glib/json-glib.h>

#include "cascade/status.h"

/* Deepest array/object nesting accepted; real files use 3 or 4 levels. */
#define CASCADE_IO_JSON_MAX_DEPTH 64

/* Flags: accept Python's bare Infinity / -Infinity as numbers (json.dumps writes them; the
 * parsed value is +-inf). Only config files take this; safetensors headers stay strict. */
#define CASCADE_IO_JSON_PY_INFINITY 1u
/* Flags: accept integers outside int64 as (floating-point) numbers: transformers writes
 * int(1e30) as model_max_length when a tokenizer has none. Only tokenizer configs take this. */
#define CASCADE_IO_JSON_BIG_INT 2u
/* At most CASCADE_IO_JSON_MAX_KEYS keys in the whole text, counted by the syntax scan before
 * json-glib builds anything (its tree costs ~1.6 KB per entry): safetensors headers, where
 * each tensor takes 4 keys and a header of a million empty entries must fail in milliseconds,
 * not after minutes and gigabytes. */
#define CASCADE_IO_JSON_FEW_KEYS 4u
#define CASCADE_IO_JSON_MAX_KEYS (1 << 18) /* 65,536 tensors: far above any checkpoint */

/* Parses text (len bytes, need not be NUL-terminated) as strict UTF-8 JSON whose root is an
 * object, with unique keys in every object, bounded nesting and no U+0000 in strings. what names
 * the text in messages ("header", "config"). On success *parser_out owns the tree and *root_out
 * points into it; both stay NULL on failure, with a FORMAT error naming label. */
cascade_status cascade_io_json_parse(const char *text, size_t len, const char *label,
                                     const char *what, unsigned flags, JsonParser **parser_out,
                                     JsonNode **root_out, cascade_error *err);

/* Reads the whole file at path into *text (g_free it; NUL-terminated, *len bytes before
 * the NUL). A file that cannot be read is an IO error naming it. */
cascade_status cascade_io_read_file(const char *path, char **text, size_t *len,
                                    cascade_error *err);

/* Reads the file at path and parses it as cascade_io_json_parse does, labelled with the path.
 * A file that cannot be read is an IO error naming it. */
cascade_status cascade_io_json_load_file(const char *path, const char *what, unsigned flags,
                                         JsonParser **parser_out, JsonNode **root_out,
                                         cascade_error *err);

/* "an integer", "a string", "null", "an array", "an object", ... for messages. */
const char *cascade_io_json_kind(JsonNode *node);

/* True and *out set when node is a JSON integer (not a float or a bool). */
int cascade_io_json_get_int(JsonNode *node, gint64 *out);

#endif
