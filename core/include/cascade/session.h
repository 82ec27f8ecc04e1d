/* One engine session behind every front end (the CLI, the dialog's jobs, the plug-in): a
 * backend chosen once by name, model folders resolved by one rule and loaded once, their
 * weights and plans kept for the next run, and counters that show it.
 *
 * As ggml's backend + graph allocator and whisper's context/state: the session owns what is
 * expensive to make (the backend, loaded models with their kept plans, the last batch of
 * stage I candidates); a run borrows it. Everything here is single-threaded: one run at a
 * time uses a session (front ends serialise with a lock); only a run's cancel flag may be
 * touched from another thread. */
#ifndef CASCADE_SESSION_H
#define CASCADE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/pipeline.h"
#include "cascade/sd-pipeline.h"
#include "cascade/status.h"
#include "cascade/upscaler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_session cascade_session;

/* backend_name as cascade_backend_new_by_name ("auto", "cpu", "vulkan-fp16:1", ...; NULL or
 * "": "auto"); threads for the CPU backend (0: one per core). */
cascade_status cascade_session_new(const char *backend_name, int threads, cascade_session **out,
                                   cascade_error *err);
void           cascade_session_free(cascade_session *s); /* NULL-safe */
const char      *cascade_session_backend_name(const cascade_session *s);
cascade_backend *cascade_session_backend(cascade_session *s);

/* The IF cascade for model and sr_model (cascade_model_resolve's rule; want_sr false: no
 * stage II), loaded on first use and kept while the same folders are asked for. Borrowed:
 * valid until the next call that loads another model set, or cascade_session_release. */
cascade_status cascade_session_pipeline(cascade_session *s, const char *model,
                                        const char *sr_model, bool want_sr,
                                        cascade_pipeline **out, cascade_error *err);
/* A GAN upscaler folder, kept the same way. */
cascade_status cascade_session_upscaler(cascade_session *s, const char *dir,
                                        cascade_upscaler **out, cascade_error *err);
/* cascade_upscale_image with u (from cascade_session_upscaler) on the session's backend, its
 * tile plans kept for the next call (a layer enlarged chunk by chunk plans each window size
 * once); opt->plans is the session's. */
cascade_status cascade_session_upscale_image(cascade_session *s, const cascade_upscaler *u,
                                             const uint8_t *src, int64_t width, int64_t height,
                                             int32_t channels, size_t src_stride, uint8_t *dst,
                                             size_t dst_stride, const cascade_upscale_options *opt,
                                             cascade_error *err);
/* cascade_upscale_stream the same way (the CLI's files, never whole in memory). */
cascade_status cascade_session_upscale_stream(cascade_session *s, const cascade_upscaler *u,
                                              int64_t width, int64_t height, int32_t channels,
                                              cascade_upscale_read_fn read,
                                              cascade_upscale_write_fn write, void *io,
                                              const cascade_upscale_options *opt,
                                              cascade_error *err);
/* A Stable Diffusion folder (or an x4 diffusion upscaler), kept the same way; slot 0 is a
 * front end's SD model, slot 1 the IF cascade's stage III, so both stay loaded together. */
cascade_status cascade_session_sd(cascade_session *s, int slot, const char *dir,
                                  cascade_sd_pipeline **out, cascade_error *err);

/* cascade_pipeline_generate on p (from this session), keeping stage I candidates: a call with
 * stage2 off keeps its result by its settings; a later call of one item with stage2 on
 * whose stage I settings and seed match a kept item (a batch made with seed_per_item, item k
 * having seed + k) finishes that item without running stage I (generate_params'
 * stage1_image). The image is the same as a full run's. */
cascade_status cascade_session_generate(cascade_session *s, cascade_pipeline *p,
                                        const cascade_generate_params *g, float **image,
                                        int64_t shape[4], cascade_error *err);

/* Frees every loaded model and kept plan and candidate (an idle front end gives its memory
 * back); the backend stays. */
void cascade_session_release(cascade_session *s);

typedef struct cascade_session_counters {
    uint64_t                 model_loads; /* model sets, upscalers and SD folders loaded */
    uint64_t                 load_ns;     /* time spent loading them */
    uint64_t                 finished_from_candidates; /* runs that skipped stage I */
    cascade_backend_counters backend;     /* plans built, constants bound, plan time */
    cascade_pipeline_counters pipeline;   /* the IF cascade's text encodes and steps, summed
                                             over every model set the session loaded */
} cascade_session_counters;
void cascade_session_get_counters(const cascade_session *s, cascade_session_counters *out);

#ifdef __cplusplus
}
#endif

#endif
