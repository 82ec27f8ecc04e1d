/* CascadeRecipe: every parameter of one run of the plug-in (generate, inpaint, upscale).
 *
 * One recipe is what the dialog edits, what a PDB call's arguments fill, what "Repeat Last"
 * re-runs (with a new seed) and what each result layer carries as its parasite, so a layer
 * can be regenerated or varied. It serialises to a GKeyFile text (group "cascade-recipe")
 * that is stable across versions: unknown keys are an error naming them, missing keys keep
 * their defaults. Plain GLib, no GTK and no GIMP: ui/ and plugin/ both use it. */
#ifndef CASCADE_RECIPE_H
#define CASCADE_RECIPE_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    CASCADE_MODE_GENERATE,   /* a prompt -> new layer(s) */
    CASCADE_MODE_INPAINT,    /* repaint the selection -> new layer with the selection as mask */
    CASCADE_MODE_UPSCALE,    /* the active layer, enlarged by the GAN upscaler (or the x4
                                diffusion upscaler, with the prompt) -> new layer */
    CASCADE_MODE_VARIATIONS, /* image-to-image on the active layer -> new layer(s) above it */
    CASCADE_MODE_OUTPAINT,   /* grow the canvas by the expand-* margins, inpaint the new border
                                -> one new layer (its mask: the border) */
} CascadeMode;

/* Steps and guidance values that stand for "what the model recommends" (its folder's
 * generation_defaults.json, else the engine's defaults). */
#define CASCADE_RECIPE_MODEL_STEPS    0
#define CASCADE_RECIPE_MODEL_GUIDANCE (-1.0)

typedef struct {
    CascadeMode mode;
    gchar      *prompt;          /* required for generate/inpaint */
    gchar      *negative_prompt; /* "" = none */
    gchar      *model_dir;       /* stage I directory; NULL/"" = the shipped default model */
    gchar      *sr_model_dir;    /* stage II directory; NULL/"" = the default's stage2 */
    gchar      *stage3_dir;      /* generate: an x4 diffusion upscaler run after stage II (IF's
                                    stage III); NULL/"" = the model's stage3/ when it has one */
    gchar *upscaler_dir;         /* GAN upscaler directory (cascade convert output), or an x4
                                    diffusion upscaler folder (StableDiffusionUpscalePipeline) */
    gchar      *preset;          /* name of the preset the values came from ("" = custom) */
    gchar      *backend;         /* "auto", "cpu", "vulkan", "vulkan-fp16", "vulkan:<device>" */
    guint64     seed;
    gboolean    random_seed;     /* draw a new seed at every run (and for Repeat Last) */
    gint        steps1, steps2;          /* denoising steps of stage I / stage II (or
                                            CASCADE_RECIPE_MODEL_STEPS) */
    gdouble     guidance1, guidance2;    /* classifier-free guidance of stage I / stage II (or
                                            CASCADE_RECIPE_MODEL_GUIDANCE) */
    gboolean    stage2;                  /* run the 256 px super-resolution stage */
    gint        noise_level;             /* stage II noise augmentation, 0..999 */
    gint        batch;                   /* variations per run, 1..16 */
    gint        candidate;               /* batch index chosen in the dialog, -1 = all */
    gint        context_margin;          /* inpaint: pixels of context around the selection */
    gint        upscale_factor;          /* upscale: 2, 3, 4 or 8 */
    gint        tile;                    /* upscale: tile edge in pixels, 0 = from memory */
    gchar      *upscale_source;  /* upscale: "layer" (the active layer) or "visible" (the whole
                                    image as it shows, into a new image) */
    gdouble     strength;                /* variations: how far from the layer, (0, 1] */
    gchar      *style;           /* text a style preset appends to the prompt ("" = none):
                                    the model sees "<prompt>, <style>" */
    gint        feather;                 /* inpaint: px the edge fades in over, -1 = automatic */
    gboolean    colour_match;            /* inpaint: remove the model's colour drift */
    gdouble     inpaint_strength;        /* inpaint: 1 repaints, lower keeps the original's
                                            shapes (img2img-style partial noising), (0, 1] */
    gchar      *aspect;          /* generate: the image's shape "W:H" ("1:1", "16:9", ...), at
                                    about the model's pixel count (cascade/aspect.h) */
    gint        expand_left, expand_top, expand_right, expand_bottom; /* outpaint: pixels
                                            added to the canvas on each side, 0..8192 */
} CascadeRecipe;

/* Fills r with the defaults (the "balanced" preset's values); r must be uninitialised or
 * cleared. */
void cascade_recipe_init(CascadeRecipe *r);
/* Frees the strings; r may then be init'ed again. */
void cascade_recipe_clear(CascadeRecipe *r);
/* dst (uninitialised or cleared) becomes a deep copy of src. */
void cascade_recipe_copy(CascadeRecipe *dst, const CascadeRecipe *src);
/* Checks ranges and required fields for r->mode; FALSE with a translated message naming the
 * field. */
gboolean cascade_recipe_validate(const CascadeRecipe *r, GError **error);

/* Key-file text of r (g_free). */
gchar *cascade_recipe_to_string(const CascadeRecipe *r);
/* The text the model is conditioned on: the prompt, plus ", <style>" when a style is set
 * (g_free). */
gchar *cascade_recipe_full_prompt(const CascadeRecipe *r);
/* "generate", "inpaint", "upscale", "variations", "outpaint" (the key-file spelling of a
 * mode). */
const gchar *cascade_mode_to_string(CascadeMode mode);
/* Parses text into r (already init'ed: keys present overwrite its values). Unknown keys,
 * bad values: FALSE with an error naming the key; r is left unchanged on failure. */
gboolean cascade_recipe_from_string(CascadeRecipe *r, const gchar *text, GError **error);

/* Presets are JSON files {"name": ..., "description": ..., "values": {<recipe keys>}} in
 * the installed presets directory and the user's own (g_get_user_config_dir()/gimp-cascade/
 * presets). Applies a preset file's values onto r (only the keys it names). */
gboolean cascade_recipe_apply_preset_file(CascadeRecipe *r, const gchar *path, GError **error);
/* Key-file spellings of the fields, for messages and PDB argument docs: "prompt",
 * "negative-prompt", "model", "sr-model", "stage3-model", "upscaler", "preset", "backend",
 * "style", "mode", "seed", "random-seed", "steps1", "steps2", "guidance1", "guidance2", "stage2",
 * "noise-level", "batch", "candidate", "context-margin", "upscale-factor", "tile",
 * "upscale-source",
 * "strength", "aspect", "feather", "colour-match", "inpaint-strength", "expand-left",
 * "expand-top", "expand-right", "expand-bottom"; the text
 * also carries "version" (the plug-in's version that wrote it; read back and ignored).
 * A preset may name any of them but mode, prompt, candidate, upscale-source and version. */

#define CASCADE_RECIPE_ERROR (cascade_recipe_error_quark())
GQuark cascade_recipe_error_quark(void);
typedef enum {
    CASCADE_RECIPE_ERROR_INVALID, /* a value out of range or a required field missing */
    CASCADE_RECIPE_ERROR_PARSE,   /* malformed text or an unknown key */
} CascadeRecipeError;

G_END_DECLS

#endif
