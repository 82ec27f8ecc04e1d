/* The data-driven golden runner: each case folder under the golden dir is dispatched on
 * case.json's produced_by.class to a family (one file per family: golden-<family>.c), which
 * runs the engine's implementation and checks every tensor under "outputs". */
#ifndef CASCADE_GOLDEN_H
#define CASCADE_GOLDEN_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/safetensors.h"
#include "cascade/status.h"

typedef enum golden_verdict { GOLDEN_PASS = 0, GOLDEN_FAIL, GOLDEN_SKIP } golden_verdict;

typedef struct golden_case {
    const char      *dir;        /* the case folder */
    const char      *name;       /* its base name, "t5_encoder" */
    JsonObject      *json;       /* case.json (root object) */
    const char      *class_name; /* produced_by.class, or NULL when the case has none */
    const char      *backend;    /* "cpu" or "vulkan" */
    const char      *precision;  /* "fp32" or "fp16" */
    cascade_backend *be;         /* the backend to run on (owned by the runner) */
    bool             verbose;
} golden_case;

typedef struct golden_result {
    golden_verdict verdict;
    double         max_abs;  /* worst |got - golden| over the checked outputs */
    double         max_rel;  /* worst |got - golden| / |golden| (|golden| > 1e-6) */
    int            n_checked;
    char           note[256]; /* why it failed or skipped; first one wins */
} golden_result;

typedef struct golden_family {
    const char *name;
    /* true when this family handles the case (usually: class_name equals one it knows) */
    bool (*matches)(const golden_case *c);
    /* Runs the case and fills r (verdict, errors, note). A non-OK status is reported as
     * FAIL with the error message. */
    cascade_status (*run)(const golden_case *c, golden_result *r, cascade_error *err);
} golden_family;

/* ---- helpers for families (golden-common.c) ---- */

/* "<case dir>/<rel>" in a malloc'd string. */
char *golden_path(const golden_case *c, const char *rel);
/* Opens <case dir>/<file> (e.g. "io.safetensors"). */
cascade_status golden_open_io(const golden_case *c, const char *file, cascade_safetensors **out,
                              cascade_error *err);
/* Loads a tensor of the io file converted to dtype (F32, I32...). */
cascade_status golden_load(const cascade_safetensors *io, const char *name, cascade_dtype dtype,
                           cascade_tensor **out, cascade_error *err);

/* The case's tolerance for an output name: a flat {atol, rtol} entry, or the entry whose
 * key or comma-separated applies_to names it or whose key is a matching glob ("n10/<star>"),
 * or the first entry. "exact" gives 0, 0. False when the case has no tolerance. */
bool golden_tolerance(const golden_case *c, const char *output, double *atol, double *rtol);

/* Compares got with the golden tensor `name` of io under the case's tolerance, records
 * the errors into r (FAIL on mismatch, with the first values printed when verbose). */
cascade_status golden_check(const golden_case *c, const cascade_safetensors *io,
                            const char *name, const float *got, size_t n, golden_result *r,
                            cascade_error *err);
/* Reads the plan's output value `value` (after a run) and checks it as golden_check does
 * against the io tensor `name` (often the same name). */
cascade_status golden_check_plan(const golden_case *c, const cascade_safetensors *io,
                                const cascade_plan *p, const char *value, const char *name,
                                golden_result *r, cascade_error *err);
/* The same with an explicit tolerance. */
void golden_check_values(const golden_case *c, const char *name, const float *got,
                         const float *want, size_t n, double atol, double rtol,
                         golden_result *r);

/* fp16 runs (precision "fp16") are judged by NMSE and max|d|/max|golden| instead of the
 * case's fp32 atol/rtol; the bounds (derived in golden-common.c from fp16's unit roundoff,
 * scaled by the case's denoising steps) are filled in here. */
bool golden_is_fp16(const golden_case *c);
void golden_fp16_bounds(const golden_case *c, double *max_nmse, double *max_norm);

/* Replays the reference's draws by name: "<prefix>noise/<what>" of io, which must hold
 * exactly n values (a cascade_noise_fn; user is a golden_replay). */
typedef struct golden_replay {
    const cascade_safetensors *io;
    const char                *prefix; /* "" or "<run>/" */
    const golden_case         *c;
} golden_replay;
cascade_status golden_replay_noise(void *user, const char *what, float *out, size_t n,
                                   cascade_error *err);

void golden_skip(golden_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void golden_fail(golden_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Names of the case's outputs (keys of "outputs"), in file order; g_list_free() the list. */
GList *golden_output_names(const golden_case *c);

/* Tokenizer families: the text -> ids (and back) calls of one tokenizer class. */
typedef struct golden_tok_ops {
    cascade_status (*encode)(const void *tok, const char *text, int32_t **ids, size_t *n,
                             cascade_error *err);
    cascade_status (*encode_padded)(const void *tok, const char *text, int32_t max_length,
                                    int32_t *ids, int32_t *mask, cascade_error *err);
    cascade_status (*decode)(const void *tok, const int32_t *ids, size_t n, char **text,
                             cascade_error *err);
    /* U+0000 cannot pass through a C string: when set, a JSON escape ("\\u0001") that the
     * tokenizer treats exactly as U+0000, substituted for it in the texts; else such a text
     * is cut at U+0000. */
    const char *nul_stand_in;
} golden_tok_ops;
/* Checks tok against the case's tokenizer_cases.json (ids and decode of every single text)
 * and io.safetensors (every padded batch row, ids and attention mask), all exact. */
cascade_status golden_tokenizer_check(const golden_case *c, const void *tok,
                                      const golden_tok_ops *ops, golden_result *r,
                                      cascade_error *err);

/* Families (one per file). */
extern const golden_family golden_family_t5_tokenizer;
extern const golden_family golden_family_clip_tokenizer;
extern const golden_family golden_family_t5_encoder;
extern const golden_family golden_family_clip_text;
extern const golden_family golden_family_scheduler;
extern const golden_family golden_family_unet;
extern const golden_family golden_family_sr;
extern const golden_family golden_family_pipeline;
extern const golden_family golden_family_sd;
extern const golden_family golden_family_vae;

#endif
