/* The GIMP 2.10 shim's internal interface: procedures, drawable I/O, layers, selection mask,
 * parasites and the worker. Everything here runs on the plug-in's main thread (libgimp is
 * not thread-safe); only CascadeJob (job/cascade-job.h) runs a thread of its own. */
#ifndef CASCADE_PLUGIN_H
#define CASCADE_PLUGIN_H

#include <libgimp/gimp.h>

#include "cascade-job.h"
#include "cascade-recipe.h"

G_BEGIN_DECLS

#define CASCADE_PROC_GENERATE      "plug-in-cascade-generate"
#define CASCADE_PROC_GENERATE_NEW  "plug-in-cascade-generate-new-image"
#define CASCADE_PROC_INPAINT       "plug-in-cascade-inpaint"
#define CASCADE_PROC_UPSCALE       "plug-in-cascade-upscale"
/* the same arguments; upscales the whole image as it shows into a new image (PDB only: the
 * Upscale Layer dialog offers both) */
#define CASCADE_PROC_UPSCALE_IMAGE "plug-in-cascade-upscale-image"
#define CASCADE_PROC_VARIATIONS    "plug-in-cascade-variations"
#define CASCADE_PROC_OUTPAINT      "plug-in-cascade-outpaint"
#define CASCADE_PARASITE_NAME      "gimp-cascade-recipe"
/* the resident engine (engine.c): an extension GIMP starts with itself, as Script-Fu's */
#define CASCADE_PROC_ENGINE "extension-cascade-engine"

/* of an image: the shape ("W:H") of the last generate run on it */
#define CASCADE_SHAPE_PARASITE_NAME "gimp-cascade-shape"

#define CASCADE_PLUGIN_ERROR (cascade_plugin_error_quark())
GQuark cascade_plugin_error_quark(void);
typedef enum {
    CASCADE_PLUGIN_ERROR_CALLING, /* bad arguments: GIMP_PDB_CALLING_ERROR */
    CASCADE_PLUGIN_ERROR_FAILED,  /* the run failed: GIMP_PDB_EXECUTION_ERROR */
} CascadePluginError;

/* plugin-main.c: one call of a public procedure (name) run in this process, as GIMP's run
 * callback takes it; the return values are static, valid until the next call. */
void cascade_plugin_call(const gchar *name, gint nparams, const GimpParam *param,
                         gint *nreturn_vals, GimpParam **return_vals);

/* procedures.c: PDB registration and argument <-> recipe. */
void cascade_procedures_install(void);
/* The engine's temporary procedures: one per public procedure, the same parameters and return
 * values, named by cascade_procedures_temp_name, all run by run_proc. */
void cascade_procedures_install_temp(GimpRunProc run_proc);
/* The engine's name for public procedure name (g_free); NULL when it is none of ours. */
gchar *cascade_procedures_temp_name(const gchar *name);
/* The public procedure a temporary procedure stands for (static); NULL when none. */
const gchar *cascade_procedures_public_name(const gchar *temp_name);
/* Mode of a procedure name; FALSE when it is none of ours. */
gboolean cascade_procedures_mode(const gchar *name, CascadeMode *mode);
/* Fills r (init'ed) from a NONINTERACTIVE call's params; FALSE + CALLING error on a wrong
 * argument count, an unknown preset or a value out of range. */
gboolean cascade_procedures_read_args(CascadeMode mode, gint nparams, const GimpParam *param,
                                      CascadeRecipe *r, GError **error);
/* Last values (gimp_get_data): r (init'ed) is overwritten when some were stored. */
gboolean cascade_procedures_load_last(const gchar *name, CascadeRecipe *r);
void     cascade_procedures_save_last(const gchar *name, const CascadeRecipe *r);
/* A fresh random seed into r when r->random_seed. */
void cascade_procedures_reroll(CascadeRecipe *r);

/* drawable-io.c: GeglBuffer <-> CascadeImage (8-bit, non-linear sRGB). */
/* Pixels of drawable in rect (x, y, w, h) of its own coordinates; outside it transparent
 * (or black without alpha). channels: 3 (R'G'B') or 4 (R'G'B'A). */
CascadeImage *cascade_drawable_read(gint32 drawable, gint x, gint y, gint w, gint h, gint channels);
/* Writes image at (x, y) of drawable's own coordinates. */
void cascade_drawable_write(gint32 drawable, gint x, gint y, const CascadeImage *image);
/* One Y u8 channel (the selection or a channel) of rect in its coordinates. */
CascadeImage *cascade_channel_read(gint32 channel, gint x, gint y, gint w, gint h);
void          cascade_channel_write(gint32 channel, gint x, gint y, const CascadeImage *mask);

/* selection-mask.c: the soft selection of image (feathering, Quick Mask) as a mask. */
typedef struct {
    gint          x, y, width, height; /* the crop in image coordinates (bounds + margin) */
    CascadeImage *mask;                /* Y u8 of the crop, 255 = repaint */
} CascadeSelectionCrop;
/* FALSE + FAILED error "the selection is empty" when nothing is selected. */
gboolean cascade_selection_crop(gint32 image, gint margin, CascadeSelectionCrop *crop,
                                GError **error);
void     cascade_selection_crop_clear(CascadeSelectionCrop *crop);

/* parasites.c: the recipe on a result layer. */
void cascade_parasite_attach(gint32 item, const CascadeRecipe *r);
/* TRUE and r (init'ed) overwritten when item carries a recipe that parses. */
gboolean cascade_parasite_read(gint32 item, CascadeRecipe *r);
/* The shape aspect ("W:H") a generate run used, onto image; no undo step. */
void cascade_shape_parasite_attach(gint32 image, const gchar *aspect);
/* The shape last generated on image (g_free), or NULL when it has none that parses. */
gchar *cascade_shape_parasite_read(gint32 image);

/* layers.c: results into the image, in one undo group, never touching existing layers. */
typedef struct {
    gint32 image; /* the image the results went to (new when none was open) */
    gint32 layer; /* the result layer, or the group of a batch */
} CascadeInserted;
/* Generate: results (one CascadeImage per batch item, made with seeds[i]) as new layers of
 * image (-1: a new image of the result's size, shown when interactive); in an open image,
 * into the selection's box (filled) when there is a selection, else centred. */
gboolean cascade_layers_insert_generated(gint32 image, const CascadeRecipe *r, GPtrArray *results,
                                         const guint64 *seeds, gboolean interactive,
                                         CascadeInserted *out, GError **error);
/* Inpaint: each result at crop's offsets, its layer mask the selection; several (a batch)
 * in one layer group, as generate's. */
gboolean cascade_layers_insert_inpainted(gint32 image, const CascadeRecipe *r,
                                         const CascadeSelectionCrop *crop, GPtrArray *results,
                                         const guint64 *seeds, CascadeInserted *out,
                                         GError **error);
/* Variations: each result (the source's size) at source's offsets, directly above it (in
 * its layer group); several in one layer group there. */
gboolean cascade_layers_insert_variations(gint32 image, gint32 source, const CascadeRecipe *r,
                                          GPtrArray *results, const guint64 *seeds,
                                          CascadeInserted *out, GError **error);
/* A new, not yet inserted layer of image (RGBA or the image's base type with alpha). */
gint32 cascade_layers_new(gint32 image, const gchar *name, gint width, gint height, GError **error);
/* Upscale: inserts the built layer (source enlarged factor times) at the top of image at
 * source's offsets in an undo group, growing the canvas to hold it when needed; source's
 * layer mask, if any, is enlarged onto it. */
gboolean cascade_layers_insert_upscaled(gint32 image, gint32 layer, gint32 source, gint factor,
                                        GError **error);
/* "[<prefix>: ]<prompt, shortened> (seed <seed>)" (g_free). */
gchar *cascade_layers_name(const gchar *prefix, const gchar *prompt, guint64 seed);

/* outpaint.c: Expand Canvas and Fill. Grows image's canvas by r's expand-* margins and
 * inpaints the new border from drawable's pixels, box by box (job/cascade-outpaint.h), into
 * one new layer over the whole grown canvas whose layer mask is the border (and a feathered
 * overlap into the old content); the canvas resize and the insertion are one undo group,
 * made only after every box succeeded. The user's layers keep their pixels and size (their
 * offsets move with the canvas' origin when growing left or up, as Canvas Size does). */
gboolean cascade_outpaint_run(gint32 image, gint32 drawable, const CascadeRecipe *r,
                              CascadeInserted *out, GError **error);

/* engine.c: the resident engine. The extension keeps one CascadeJobCache (worker.c's) for
 * GIMP's lifetime and serves the public procedures through temporary procedures, so a second
 * run loads nothing; the cache is freed after an idle time ($CASCADE_RESIDENT_IDLE_S seconds,
 * default 300, 0: after every run). $CASCADE_RESIDENT=0 turns it off: calls run in their own
 * process. With $CASCADE_DEBUG set, each call prints one stderr line
 * "cascade-engine: pid=N resident=yes|no runs=N loads=N releases=N" (the engine's totals). */
void cascade_engine_install(void);
/* The extension's run: installs the temporary procedures, acks and serves until GIMP quits;
 * returns at once when the engine is off. */
void cascade_engine_serve(void);
/* Runs public procedure name in the engine; FALSE (nothing done) when it is off, not running
 * or busy with another call: then the caller runs it itself. */
gboolean cascade_engine_forward(const gchar *name, gint nparams, const GimpParam *param,
                                gint *nreturn_vals, GimpParam **return_vals);
/* The debug line of a call run in its own process (before its cache is freed). */
void cascade_engine_report_local(void);
/* GIMP's quit_proc: frees the cache unless a run is using it. */
void cascade_engine_quit(void);
/* The display the current call came from (-1: none): the caller's when forwarded, since the
 * extension itself was started with none. */
gint32 cascade_engine_display(void);

/* worker.c: runs CascadeJobs from the main loop, with gimp_progress and the dialog. */
/* The job cache of this plug-in process (created on first use); freed by run() when no job
 * is alive any more, or by the engine when idle. */
CascadeJobCache *cascade_worker_cache(void);
void             cascade_worker_cache_free(void);
/* What the cache has loaded so far (0 when there is none); creates none. */
guint    cascade_worker_cache_loads(void);
/* The kept engine session's counters (plans built, text encodes, steps); zeros without one. */
void     cascade_worker_cache_counters(cascade_session_counters *out);
gboolean cascade_worker_has_cache(void);
/* Runs one job to completion on the main loop; results and seeds are the job's (free with
 * g_ptr_array_unref / g_free). */
gboolean cascade_worker_run(const CascadeRecipe *r, const CascadeImage *image,
                            const CascadeImage *mask, GPtrArray **results, guint64 **seeds,
                            GError **error);
/* One of several jobs of a call: its progress fills [base, base + span) of a progress bar
 * the caller started (gimp_progress_init) and ends. */
gboolean cascade_worker_run_part(const CascadeRecipe *r, const CascadeImage *image,
                                 const CascadeImage *mask, gdouble base, gdouble span,
                                 GPtrArray **results, guint64 **seeds, GError **error);
/* Upscale: streams drawable through the upscaler in chunks into a new layer (not yet
 * inserted) of drawable's image; returns its ID or -1 with an error. drawable may be a layer
 * not inserted in its image (the merged visible image). */
gint32 cascade_worker_upscale(gint32 drawable, const CascadeRecipe *r, GError **error);
/* Shows the GTK3 dialog for r (edited in place); TRUE when the user accepted. image and
 * mask (may be NULL) are what the dialog's preview runs inpaint; gimp_image and drawable
 * (-1: none) give the upscale mode the sizes it estimates from; image_shape (NULL: none) is
 * the shape last generated on gimp_image, which the Size control starts from. */
gboolean cascade_worker_dialog(CascadeRecipe *r, const gchar *target, const CascadeImage *image,
                               const CascadeImage *mask, gint32 gimp_image, gint32 drawable,
                               const gchar *image_shape, GError **error);

G_END_DECLS

#endif
