/* The installed upscalers, each by a readable name, and what upscaling an image with one will
 * cost, worked out before anything runs. The dialog lists them in its Upscaler picker and
 * shows the estimate; the job (so the plug-in) resolves a recipe's `upscaler` and
 * `upscale-factor` to a model folder through the same rule. GLib only (no GTK, no GIMP). */
#ifndef CASCADE_UPSCALERS_H
#define CASCADE_UPSCALERS_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    gchar   *dir;       /* the model folder: what the recipe's `upscaler` names */
    gchar   *name;      /* readable and translated, e.g. "ESRGAN slim ×4 (fast)" */
    gchar   *family;    /* the folder's stem ("esrgan-slim", ...), or "diffusion" */
    gint     factor;    /* what it enlarges by: 2, 3, 4 or 8 */
    gboolean diffusion; /* an x4 diffusion upscaler (StableDiffusionUpscalePipeline) folder */
} CascadeUpscalerInfo;

void cascade_upscaler_info_free(CascadeUpscalerInfo *info); /* NULL-safe */

/* Every installed upscaler (a GPtrArray of CascadeUpscalerInfo that frees them):
 *   - the GAN ones: <name>_x<N> folders (tools/upscalers/fetch.sh's output: config.json and
 *     model.safetensors) in `chosen` (a model folder itself, or a folder of them), in
 *     $CASCADE_UPSCALER, in the installed models/upscalers and in the source tree's; a name
 *     found twice is listed once, from the first of those places;
 *   - the x4 diffusion upscalers: `chosen` or $CASCADE_UPSCALER when it is one, and the
 *     default model's stage3/.
 * GAN models come by family (slim, medium, thick, the UpscalerJS default, others by name),
 * then by factor; diffusion upscalers last. chosen may be NULL or "". */
GPtrArray *cascade_upscalers_list(const gchar *chosen);

/* The model folder a recipe's `upscaler` and `upscale-factor` run (g_free): upscaler itself
 * when it is a model (config.json) or a diffusion folder, <folder>/esrgan-slim_x<factor> for
 * a folder of models; an empty upscaler means the default folder ($CASCADE_UPSCALER, the
 * installed one, the source tree's). NULL when there is none. */
gchar *cascade_upscalers_resolve(const gchar *upscaler, gint factor);

/* Index in list of the entry that upscaler/factor resolve to, or -1. */
gint cascade_upscalers_find(GPtrArray *list, const gchar *upscaler, gint factor);

/* The plug-in streams a drawable through the upscaler in chunks of this many source pixels a
 * side (tile > 0: that), each read with CASCADE_UPSCALE_CHUNK_MARGIN pixels of context. */
#define CASCADE_UPSCALE_CHUNK_MARGIN 16
gint cascade_upscale_chunk_edge(gint factor, gint tile, gboolean diffusion);

typedef struct {
    gint    out_width, out_height; /* the result's size in pixels */
    gdouble seconds;         /* wall time on the CPU backend, < 0 when not known (diffusion) */
    guint64 peak_bytes;      /* the engine's peak for one chunk, 0 when not known (diffusion) */
    guint64 available_bytes; /* what the host can still allocate, 0 when not known */
    gint    tiles;           /* diffusion: low-res tiles of 75 denoising steps each */
} CascadeUpscaleEstimate;

/* What upscaling a width x height source with info (tile: the recipe's) will take, as the
 * plug-in runs it, chunk by chunk. Loads the model's config (a GAN upscaler's weights are
 * mapped, not run). FALSE + error when the model does not load or the size overflows. */
gboolean cascade_upscale_estimate(const CascadeUpscalerInfo *info, gint width, gint height,
                                  gint tile, CascadeUpscaleEstimate *out, GError **error);

/* Thresholds past which a job counts as very large: its result, its time, its memory. */
#define CASCADE_UPSCALE_WARN_PIXELS  100000000.0 /* 100 megapixels */
#define CASCADE_UPSCALE_WARN_SECONDS 600.0       /* 10 minutes */

/* "Output: W × H px · about T · peak memory M" (g_free). */
gchar *cascade_upscale_estimate_text(const CascadeUpscaleEstimate *e);
/* Why the job is very large (one sentence per reason), or NULL when it is not (g_free). */
gchar *cascade_upscale_estimate_warning(const CascadeUpscaleEstimate *e);

G_END_DECLS

#endif
