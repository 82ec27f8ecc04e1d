/* The PDB procedures: their arguments (one per recipe field, so Script-Fu and batch
 * mode reach everything the dialog does), arguments -> CascadeRecipe, and last values.
 *
 * Numeric arguments have a "default" value (0 or -1, documented per argument) that keeps
 * the preset's, or the built-in default's, value: a script names only what it changes. */
#include "config-plugin.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-plugin.h"
#include "cascade-presets.h"

/* Which procedures take an argument. */
enum {
    P_GEN = 1 << CASCADE_MODE_GENERATE,
    P_INP = 1 << CASCADE_MODE_INPAINT,
    P_UPS = 1 << CASCADE_MODE_UPSCALE,
    P_VAR = 1 << CASCADE_MODE_VARIATIONS,
    P_OUT = 1 << CASCADE_MODE_OUTPAINT,
    P_DIF = P_GEN | P_INP | P_VAR | P_OUT, /* the diffusion procedures */
    P_ALL = P_DIF | P_UPS
};

typedef enum {
    A_PROMPT,
    A_NEGATIVE,
    A_STYLE,
    A_SEED,
    A_STEPS1,
    A_STEPS2,
    A_GUIDANCE1,
    A_GUIDANCE2,
    A_STAGE2,
    A_NOISE,
    A_BATCH,
    A_MARGIN,
    A_EXPAND_LEFT,
    A_EXPAND_TOP,
    A_EXPAND_RIGHT,
    A_EXPAND_BOTTOM,
    A_FACTOR,
    A_TILE,
    A_STRENGTH,
    A_MODEL,
    A_SR_MODEL,
    A_UPSCALER,
    A_PRESET,
    A_BACKEND,
    A_UPSCALE_PROMPT,
} ArgId;

typedef struct {
    ArgId          id;
    guint          procs;
    GimpPDBArgType type;
    const gchar   *name;
    const gchar   *blurb;
} ArgSpec;

/* Argument order after run-mode, image, drawable (the order Script-Fu passes them). The
 * blurbs are not marked for translation: GIMP shows argument blurbs untranslated. */
static const ArgSpec args[] = {
    {A_PROMPT, P_DIF, GIMP_PDB_STRING, "prompt", "What to paint"},
    {A_NEGATIVE, P_DIF, GIMP_PDB_STRING, "negative-prompt", "What to avoid (\"\" = none)"},
    {A_STYLE, P_DIF, GIMP_PDB_STRING, "style",
     "Text appended to the prompt as \", <style>\" (\"\" = the preset's)"},
    {A_SEED, P_DIF, GIMP_PDB_INT32, "seed", "Seed of the first variation, 0..2^31-1 (-1 = random)"},
    {A_STEPS1, P_DIF, GIMP_PDB_INT32, "steps1", "Stage I steps (0 = preset)"},
    {A_STEPS2, P_DIF, GIMP_PDB_INT32, "steps2", "Stage II steps (0 = preset)"},
    {A_GUIDANCE1, P_DIF, GIMP_PDB_FLOAT, "guidance1", "Stage I guidance scale (-1 = preset)"},
    {A_GUIDANCE2, P_DIF, GIMP_PDB_FLOAT, "guidance2", "Stage II guidance scale (-1 = preset)"},
    {A_STAGE2, P_DIF, GIMP_PDB_INT32, "stage2",
     "Run the super-resolution stage: 0 no, 1 yes, -1 preset"},
    {A_NOISE, P_DIF, GIMP_PDB_INT32, "noise-level",
     "Stage II noise augmentation 0..999 (-1 = preset)"},
    {A_BATCH, P_GEN | P_VAR, GIMP_PDB_INT32, "batch", "Variations, 1..16 (0 = preset)"},
    {A_MARGIN, P_INP, GIMP_PDB_INT32, "context-margin",
     "Pixels of context around the selection (-1 = preset)"},
    {A_EXPAND_LEFT, P_OUT, GIMP_PDB_INT32, "expand-left", "Pixels added on the left, 0..8192 (0 = none)"},
    {A_EXPAND_TOP, P_OUT, GIMP_PDB_INT32, "expand-top", "Pixels added at the top, 0..8192 (0 = none)"},
    {A_EXPAND_RIGHT, P_OUT, GIMP_PDB_INT32, "expand-right",
     "Pixels added on the right, 0..8192 (0 = none)"},
    {A_EXPAND_BOTTOM, P_OUT, GIMP_PDB_INT32, "expand-bottom",
     "Pixels added at the bottom, 0..8192 (0 = none)"},
    {A_FACTOR, P_UPS, GIMP_PDB_INT32, "upscale-factor", "2, 3, 4 or 8 (0 = preset)"},
    {A_TILE, P_UPS, GIMP_PDB_INT32, "tile",
     "Edge in source pixels of the chunks the layer is streamed in (0 = automatic, "
     "-1 = preset)"},
    {A_STRENGTH, P_VAR, GIMP_PDB_FLOAT, "strength",
     "How far a variation may move from the layer, 0 < strength <= 1 (-1 = preset)"},
    {A_MODEL, P_DIF, GIMP_PDB_STRING, "model",
     "Stage I model directory (\"\" = the default model)"},
    {A_SR_MODEL, P_DIF, GIMP_PDB_STRING, "sr-model",
     "Stage II model directory (\"\" = the default's stage II)"},
    {A_UPSCALER, P_UPS, GIMP_PDB_STRING, "upscaler",
     "Upscaler model directory: a GAN upscaler, or an x4 diffusion upscaler folder "
     "(StableDiffusionUpscalePipeline) (\"\" = the default upscaler)"},
    {A_PRESET, P_ALL, GIMP_PDB_STRING, "preset",
     "Preset whose values fill the defaults (\"\" = built-in defaults)"},
    {A_BACKEND, P_ALL, GIMP_PDB_STRING, "backend",
     "\"cpu\", \"vulkan\", \"vulkan-fp16\", \"vulkan:<device>\" (\"\" = preset)"},
    {A_UPSCALE_PROMPT, P_UPS, GIMP_PDB_STRING, "prompt",
     "What the image shows, for the diffusion upscaler (\"\" = the layer's own recipe's)"},
};

/* The Filters entries carry image types: GIMP greys Filters → Repeat Last / Re-Show Last
 * for a procedure registered without any. Making an image from nothing (no image open) is
 * the File → Create entry, a procedure of its own with the same arguments. */
#define MENU_FILTERS "<Image>/Filters/Render"
#define MENU_CREATE  "<Image>/File/Create"
#define IMAGE_TYPES  "RGB*, GRAY*"

static const struct {
    const gchar *name, *menu, *blurb, *help, *types, *menu_path;
    CascadeMode  mode;
} procs[] = {
    {CASCADE_PROC_GENERATE, N_("_Generate from Text…"), N_("Paint a new layer from a prompt"),
     N_("Generates one new layer (a layer group for a batch) from a text prompt with a "
        "cascaded diffusion model, in the image (a new image when the image argument is -1). "
        "Each layer carries its recipe as the parasite 'gimp-cascade-recipe'."),
     IMAGE_TYPES, MENU_FILTERS, CASCADE_MODE_GENERATE},
    {CASCADE_PROC_GENERATE_NEW, N_("Image from _Text…"), N_("Paint a new image from a prompt"),
     N_("Generates a new image from a text prompt with a cascaded diffusion model (the image "
        "and drawable arguments are ignored). Each layer carries its recipe as the parasite "
        "'gimp-cascade-recipe'."),
     "", MENU_CREATE, CASCADE_MODE_GENERATE},
    {CASCADE_PROC_INPAINT, N_("_Inpaint Selection…"), N_("Repaint the selection from a prompt"),
     N_("Repaints the (soft) selection of the active layer from a prompt: a new layer over "
        "the selection's bounds plus a context margin, masked by the selection (a layer "
        "group of such layers for several variations)."),
     IMAGE_TYPES, MENU_FILTERS, CASCADE_MODE_INPAINT},
    {CASCADE_PROC_OUTPAINT, N_("_Expand Canvas and Fill…"),
     N_("Grow the canvas and paint the new border from a prompt"),
     N_("Adds the given pixels to the canvas on each side (left, top, right, bottom; at least "
        "one above 0) and paints the new border from the prompt and the active layer's "
        "pixels: one new layer over the whole canvas, on top, masked by the border and a "
        "short fade into the old content. The canvas resize and the layer are one undo step; "
        "the image's layers keep their pixels and size."),
     IMAGE_TYPES, MENU_FILTERS, CASCADE_MODE_OUTPAINT},
    {CASCADE_PROC_UPSCALE, N_("_Upscale Layer…"), N_("Enlarge a layer with the upscaler"),
     N_("Enlarges the active layer with a GAN upscaler, or ×4 with a diffusion upscaler "
        "conditioned on the prompt, tile by tile, into a new layer at the layer's offsets "
        "(the canvas grows to hold it); its layer mask is enlarged with it."),
     IMAGE_TYPES, MENU_FILTERS, CASCADE_MODE_UPSCALE},
    {CASCADE_PROC_UPSCALE_IMAGE, NULL, N_("Enlarge the whole image into a new image"),
     N_("Enlarges the whole image as it shows (its visible layers merged) with a GAN upscaler, "
        "or ×4 with a diffusion upscaler conditioned on the prompt, into a new image of one "
        "layer; the image itself is not changed (the drawable argument is ignored). The same "
        "arguments as plug-in-cascade-upscale."),
     IMAGE_TYPES, NULL, CASCADE_MODE_UPSCALE},
    {CASCADE_PROC_VARIATIONS, N_("_Variations of Layer…"),
     N_("Paint variations of the active layer from a prompt"),
     N_("Runs image-to-image on the active layer: new layers (a layer group for several) "
        "directly above it, as far from it as the strength says; the layer itself is not "
        "changed. Each layer carries its recipe as the parasite 'gimp-cascade-recipe'."),
     IMAGE_TYPES, MENU_FILTERS, CASCADE_MODE_VARIATIONS},
};

gboolean cascade_procedures_mode(const gchar *name, CascadeMode *mode) {
    for (gsize i = 0; i < G_N_ELEMENTS(procs); i++)
        if (strcmp(name, procs[i].name) == 0) {
            *mode = procs[i].mode;
            return TRUE;
        }
    return FALSE;
}

static const GimpParamDef returns[] = {
    {GIMP_PDB_IMAGE, "image", "The image the result went to (a new one when none was open)"},
    {GIMP_PDB_LAYER, "layer", "The new layer (the layer group of a batch)"},
};

/* procs[p]'s parameters into defs (room for 3 + G_N_ELEMENTS(args)); returns their count. */
static gint proc_params(gsize p, GimpParamDef *defs) {
    gint n = 0;
    defs[n++] = (GimpParamDef){GIMP_PDB_INT32, "run-mode",
                               "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"};
    const gchar *image_blurb = "Input image";
    if (!strcmp(procs[p].name, CASCADE_PROC_GENERATE_NEW))
        image_blurb = "Ignored (always a new image)";
    else if (procs[p].mode == CASCADE_MODE_GENERATE)
        image_blurb = "Input image (-1: a new image)";
    defs[n++] = (GimpParamDef){GIMP_PDB_IMAGE, "image", (gchar *)image_blurb};
    defs[n++] = (GimpParamDef){GIMP_PDB_DRAWABLE, "drawable",
                               !strcmp(procs[p].name, CASCADE_PROC_UPSCALE_IMAGE)
                                   ? "Ignored (the whole image is upscaled)"
                                   : "Input drawable"};
    for (gsize a = 0; a < G_N_ELEMENTS(args); a++)
        if (args[a].procs & (1u << procs[p].mode))
            defs[n++] = (GimpParamDef){args[a].type, (gchar *)args[a].name, (gchar *)args[a].blurb};
    return n;
}

void cascade_procedures_install(void) {
    for (gsize p = 0; p < G_N_ELEMENTS(procs); p++) {
        GimpParamDef defs[3 + G_N_ELEMENTS(args)];
        gint         n = proc_params(p, defs);
        /* untranslated: GIMP translates menu labels through the registered domain */
        gimp_install_procedure(procs[p].name, procs[p].blurb, procs[p].help, "gimp-cascade authors",
                               "MIT", "2026", procs[p].menu, procs[p].types, GIMP_PLUGIN, n,
                               G_N_ELEMENTS(returns), defs, returns);
        if (procs[p].menu_path) gimp_plugin_menu_register(procs[p].name, procs[p].menu_path);
    }
}

/* "plug-in-cascade-<x>" is served by the engine as "plug-in-cascade-engine-<x>". */
#define PUBLIC_PREFIX "plug-in-cascade-"
#define TEMP_PREFIX   "plug-in-cascade-engine-"

gchar *cascade_procedures_temp_name(const gchar *name) {
    CascadeMode mode;
    if (!cascade_procedures_mode(name, &mode)) return NULL;
    return g_strconcat(TEMP_PREFIX, name + strlen(PUBLIC_PREFIX), NULL);
}

const gchar *cascade_procedures_public_name(const gchar *temp_name) {
    if (!g_str_has_prefix(temp_name, TEMP_PREFIX)) return NULL;
    const gchar *rest = temp_name + strlen(TEMP_PREFIX);
    for (gsize p = 0; p < G_N_ELEMENTS(procs); p++)
        if (!strcmp(procs[p].name + strlen(PUBLIC_PREFIX), rest)) return procs[p].name;
    return NULL;
}

void cascade_procedures_install_temp(GimpRunProc run_proc) {
    for (gsize p = 0; p < G_N_ELEMENTS(procs); p++) {
        GimpParamDef defs[3 + G_N_ELEMENTS(args)];
        gint         n = proc_params(p, defs);
        gchar       *name = cascade_procedures_temp_name(procs[p].name);
        gchar *blurb = g_strdup_printf("%s, in the resident engine (plug-in use)", procs[p].blurb);
        gimp_install_temp_proc(name, blurb,
                               "Called by " PUBLIC_PREFIX "* when the engine runs: "
                               "the same arguments and return values.",
                               "gimp-cascade authors", "MIT", "2026", NULL, "", GIMP_TEMPORARY, n,
                               G_N_ELEMENTS(returns), defs, returns, run_proc);
        g_free(blurb);
        g_free(name);
    }
}

static gboolean calling_error(GError **error, const gchar *name, const gchar *why) {
    g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_CALLING, _("Argument '%s': %s"),
                name, why);
    return FALSE;
}

static void set_string(gchar **field, const gchar *value) {
    g_free(*field);
    *field = g_strdup(value ? value : "");
}

static gboolean apply_preset(CascadeRecipe *r, const gchar *preset, GError **error) {
    if (!preset || !*preset) return TRUE;
    if (strchr(preset, G_DIR_SEPARATOR) || preset[0] == '.')
        return calling_error(error, "preset", _("a preset name, not a path"));
    CascadePresetInfo *info = cascade_presets_find(preset);
    if (!info) {
        gchar *why = g_strdup_printf(_("no preset named \"%s\""), preset);
        calling_error(error, "preset", why);
        g_free(why);
        return FALSE;
    }
    GError  *e = NULL;
    gboolean ok = cascade_recipe_apply_preset_file(r, info->path, &e);
    cascade_preset_info_free(info);
    if (!ok) {
        calling_error(error, "preset", e->message);
        g_error_free(e);
        return FALSE;
    }
    set_string(&r->preset, preset);
    return TRUE;
}

/* One argument onto r; its "default" value leaves r as the preset left it. */
static gboolean apply_arg(CascadeRecipe *r, const ArgSpec *a, const GimpParam *p, GError **error) {
    gint32      i = p->data.d_int32;
    gdouble     f = p->data.d_float;
    const char *s = p->data.d_string;
    if (p->type != a->type) return calling_error(error, a->name, _("wrong type"));
    if (a->type == GIMP_PDB_STRING && s && !g_utf8_validate(s, -1, NULL))
        return calling_error(error, a->name, _("not UTF-8 text"));
    switch (a->id) {
    case A_PROMPT:
    case A_UPSCALE_PROMPT: set_string(&r->prompt, s); break;
    case A_NEGATIVE: set_string(&r->negative_prompt, s); break;
    case A_STYLE:
        if (s && *s) set_string(&r->style, s);
        break;
    case A_MODEL:
        if (s && *s) set_string(&r->model_dir, s);
        break;
    case A_SR_MODEL:
        if (s && *s) set_string(&r->sr_model_dir, s);
        break;
    case A_UPSCALER:
        if (s && *s) set_string(&r->upscaler_dir, s);
        break;
    case A_BACKEND:
        if (s && *s) set_string(&r->backend, s);
        break;
    case A_PRESET: break; /* applied first */
    case A_SEED:
        if (i < -1) return calling_error(error, a->name, _("must be -1 (random) or >= 0"));
        r->random_seed = i == -1;
        if (i >= 0) r->seed = (guint64)i;
        break;
    case A_STEPS1:
        if (i) r->steps1 = i;
        break;
    case A_STEPS2:
        if (i) r->steps2 = i;
        break;
    case A_GUIDANCE1:
        if (f != -1.0) r->guidance1 = f;
        break;
    case A_GUIDANCE2:
        if (f != -1.0) r->guidance2 = f;
        break;
    case A_STAGE2:
        if (i < -1 || i > 1) return calling_error(error, a->name, _("must be -1, 0 or 1"));
        if (i >= 0) r->stage2 = i;
        break;
    case A_NOISE:
        if (i != -1) r->noise_level = i;
        break;
    case A_BATCH:
        if (i) r->batch = i;
        break;
    case A_MARGIN:
        if (i != -1) r->context_margin = i;
        break;
    case A_EXPAND_LEFT:
    case A_EXPAND_TOP:
    case A_EXPAND_RIGHT:
    case A_EXPAND_BOTTOM: {
        if (i < 0) return calling_error(error, a->name, _("must be 0 or more (pixels to add)"));
        gint *side = a->id == A_EXPAND_LEFT    ? &r->expand_left
                     : a->id == A_EXPAND_TOP   ? &r->expand_top
                     : a->id == A_EXPAND_RIGHT ? &r->expand_right
                                               : &r->expand_bottom;
        *side = i;
        break;
    }
    case A_FACTOR:
        if (i) r->upscale_factor = i;
        break;
    case A_TILE:
        if (i != -1) r->tile = i;
        break;
    case A_STRENGTH:
        if (f != -1.0) r->strength = f;
        break;
    }
    return TRUE;
}

gboolean cascade_procedures_read_args(CascadeMode mode, gint nparams, const GimpParam *param,
                                      CascadeRecipe *r, GError **error) {
    const ArgSpec *mine[G_N_ELEMENTS(args)];
    gint           n = 0;
    for (gsize a = 0; a < G_N_ELEMENTS(args); a++)
        if (args[a].procs & (1u << mode)) mine[n++] = &args[a];
    if (nparams != 3 + n) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_CALLING,
                    _("Expected %d arguments, got %d"), 3 + n, nparams);
        return FALSE;
    }
    for (gint k = 0; k < n; k++)
        if (mine[k]->id == A_PRESET) {
            if (param[3 + k].type != GIMP_PDB_STRING)
                return calling_error(error, "preset", _("wrong type"));
            if (!apply_preset(r, param[3 + k].data.d_string, error)) return FALSE;
        }
    for (gint k = 0; k < n; k++)
        if (!apply_arg(r, mine[k], &param[3 + k], error)) return FALSE;
    r->mode = mode;
    r->candidate = -1;
    cascade_procedures_reroll(r);
    return cascade_recipe_validate(r, error);
}

/* Both generate entries share last values (an image made from File → Create, then Filters →
 * Repeat Last in it). */
static const gchar *last_key(const gchar *name) {
    return strcmp(name, CASCADE_PROC_GENERATE_NEW) ? name : CASCADE_PROC_GENERATE;
}

/* Last values outlive the GIMP session in the user's GIMP profile (gimp_get_data's store
 * is emptied when GIMP quits): <profile>/gimp-cascade/last-values/<procedure>. */
static gchar *last_file(const gchar *key) {
    return g_build_filename(gimp_directory(), "gimp-cascade", "last-values", key, NULL);
}

gboolean cascade_procedures_load_last(const gchar *name, CascadeRecipe *r) {
    const gchar *key = last_key(name);
    gint         size = gimp_get_data_size(key);
    gchar       *text = NULL;
    if (size > 0 && size <= 1 << 20) {
        text = g_malloc0(size + 1);
        gimp_get_data(key, text);
    } else {
        gchar *path = last_file(key);
        gsize  len = 0;
        if (!g_file_get_contents(path, &text, &len, NULL) || len > 1 << 20 ||
            !g_utf8_validate(text, (gssize)len, NULL))
            g_clear_pointer(&text, g_free);
        g_free(path);
    }
    gboolean ok = text && cascade_recipe_from_string(r, text, NULL);
    g_free(text);
    return ok;
}

void cascade_procedures_save_last(const gchar *name, const CascadeRecipe *r) {
    const gchar *key = last_key(name);
    gchar       *text = cascade_recipe_to_string(r);
    gimp_set_data(key, text, strlen(text) + 1);
    gchar  *path = last_file(key), *dir = g_path_get_dirname(path);
    GError *e = NULL;
    if (g_mkdir_with_parents(dir, 0700) != 0 || !g_file_set_contents(path, text, -1, &e))
        g_warning(_("Could not keep the settings for the next session in %s: %s"), path,
                  e ? e->message : g_strerror(errno));
    g_clear_error(&e);
    g_free(dir), g_free(path), g_free(text);
}

void cascade_procedures_reroll(CascadeRecipe *r) {
    if (!r->random_seed) return;
    /* 31 bits so the seed can be typed back into a PDB call */
    r->seed = (guint64)g_random_int_range(0, G_MAXINT32);
}
