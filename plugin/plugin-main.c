/* The plug-in's entry points: query() registers the procedures, run() dispatches a
 * call by run mode (interactive: the dialog; non-interactive: the arguments; with last
 * values: the stored recipe with a new seed) and turns errors into a PDB status plus
 * message. Every libgimp call happens on this (the main) thread. */
#include "config-plugin.h"

#include <gegl.h>
#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>
#include <string.h>

#include "cascade-plugin.h"
#include "cascade-presets.h"

GQuark cascade_plugin_error_quark(void) {
    return g_quark_from_static_string("cascade-plugin-error-quark");
}

static void query(void) {
    gimp_plugin_domain_register(GETTEXT_PACKAGE, CASCADE_LOCALEDIR);
    cascade_procedures_install();
    cascade_engine_install();
}

static gboolean run_upscale(gint32 image, gint32 drawable, const CascadeRecipe *given,
                            CascadeInserted *out, GError **error) {
    /* the diffusion upscaler without a prompt: the one the layer was made from, if any (for
     * this run and its layer's recipe; the last values keep the empty prompt) */
    CascadeRecipe r, made;
    cascade_recipe_copy(&r, given);
    cascade_recipe_init(&made);
    const gchar *p = r.prompt ? r.prompt : "";
    while (g_ascii_isspace(*p))
        p++;
    if (!*p && cascade_job_upscaler_is_diffusion(&r) && cascade_parasite_read(drawable, &made)) {
        g_free(r.prompt), g_free(r.style);
        r.prompt = g_strdup(made.prompt);
        r.style = g_strdup(made.style);
    }
    cascade_recipe_clear(&made);
    gint32 layer = cascade_worker_upscale(drawable, &r, error);
    if (layer >= 0) {
        gchar *name = g_strdup_printf(_("%s ×%d"), gimp_item_get_name(drawable), r.upscale_factor);
        gimp_item_set_name(layer, name);
        g_free(name);
        cascade_parasite_attach(layer, &r);
        if (!cascade_layers_insert_upscaled(image, layer, drawable, r.upscale_factor, error)) {
            gimp_item_delete(layer);
            layer = -1;
        }
    }
    cascade_recipe_clear(&r);
    if (layer < 0) return FALSE;
    out->image = image;
    out->layer = layer;
    return TRUE;
}

/* The whole image as it shows (its visible layers merged, as Edit → Copy Visible takes it),
 * enlarged into a new image of one layer. A new image rather than a layer of this one: the
 * result is factor times the canvas, so holding it here would resize the user's canvas and
 * move every layer's place in it, and the user's image stays exactly as it was (no layer, no
 * canvas change, no undo step). The new image is built with undo off, so its history starts
 * empty, as an opened file's does. */
static gboolean run_upscale_visible(gint32 image, const CascadeRecipe *r, gboolean interactive,
                                    CascadeInserted *out, GError **error) {
    gint   w = gimp_image_width(image), h = gimp_image_height(image), f = r->upscale_factor;
    gint32 dest = gimp_image_new(w, h, gimp_image_base_type(image));
    if (dest < 0) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Could not create a new image."));
        return FALSE;
    }
    gimp_image_undo_disable(dest);
    /* TRANSLATORS: the name of the layer holding the image as it shows, merged */
    gint32 visible = gimp_layer_new_from_visible(image, dest, _("Visible"));
    gint32 layer = -1;
    if (visible >= 0) {
        gimp_image_insert_layer(dest, visible, 0, 0);
        layer = cascade_worker_upscale(visible, r, error);
    } else {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Could not copy the visible image."));
    }
    if (layer < 0) {
        gimp_image_delete(dest);
        return FALSE;
    }
    /* TRANSLATORS: the layer of the whole image enlarged; %d is the factor */
    gchar *name = g_strdup_printf(_("Visible ×%d"), f);
    gimp_item_set_name(layer, name);
    g_free(name);
    cascade_parasite_attach(layer, r);
    gimp_image_resize(dest, w * f, h * f, 0, 0);
    gimp_image_insert_layer(dest, layer, 0, 0);
    gimp_image_remove_layer(dest, visible);
    gdouble xres = 72, yres = 72;
    gimp_image_get_resolution(image, &xres, &yres);
    gimp_image_set_resolution(dest, xres, yres);
    gimp_image_undo_enable(dest);
    if (interactive) gimp_display_new(dest);
    out->image = dest;
    out->layer = layer;
    return TRUE;
}

/* The drawable's pixels under crop (image coordinates). */
static CascadeImage *read_crop(gint32 drawable, const CascadeSelectionCrop *crop) {
    gint ox = 0, oy = 0;
    gimp_drawable_offsets(drawable, &ox, &oy);
    return cascade_drawable_read(drawable, crop->x - ox, crop->y - oy, crop->width, crop->height,
                                 3);
}

/* The whole drawable, with its alpha when it has one. */
static CascadeImage *read_layer(gint32 drawable) {
    return cascade_drawable_read(drawable, 0, 0, gimp_drawable_width(drawable),
                                 gimp_drawable_height(drawable),
                                 gimp_drawable_has_alpha(drawable) ? 4 : 3);
}

/* Runs r on image/drawable; the image is changed only when everything succeeded. */
static gboolean execute(gint32 image, gint32 drawable, const CascadeRecipe *r, gboolean interactive,
                        CascadeInserted *out, GError **error) {
    if (!cascade_recipe_validate(r, error)) return FALSE;
    if (r->mode == CASCADE_MODE_UPSCALE && !g_strcmp0(r->upscale_source, "visible"))
        return run_upscale_visible(image, r, interactive, out, error);
    if (r->mode == CASCADE_MODE_UPSCALE) return run_upscale(image, drawable, r, out, error);
    if (r->mode == CASCADE_MODE_OUTPAINT) return cascade_outpaint_run(image, drawable, r, out, error);

    CascadeSelectionCrop crop = {0};
    CascadeImage        *source = NULL;
    if (r->mode == CASCADE_MODE_INPAINT) {
        if (!cascade_selection_crop(image, r->context_margin, &crop, error)) return FALSE;
        source = read_crop(drawable, &crop);
    } else if (r->mode == CASCADE_MODE_VARIATIONS) {
        source = read_layer(drawable);
    }
    GPtrArray *results = NULL;
    guint64   *seeds = NULL;
    gboolean   ok = cascade_worker_run(r, source, crop.mask, &results, &seeds, error);
    if (ok && r->mode == CASCADE_MODE_GENERATE)
        ok = cascade_layers_insert_generated(image, r, results, seeds, interactive, out, error);
    else if (ok && r->mode == CASCADE_MODE_VARIATIONS)
        ok = cascade_layers_insert_variations(image, drawable, r, results, seeds, out, error);
    else if (ok)
        ok = cascade_layers_insert_inpainted(image, r, &crop, results, seeds, out, error);
    if (results) g_ptr_array_unref(results);
    g_free(seeds);
    cascade_job_image_free(source);
    cascade_selection_crop_clear(&crop);
    return ok;
}

/* whole_image: the call upscales the image as it shows, whatever the drawable. */
static gboolean valid_target(CascadeMode mode, gboolean whole_image, gint32 image, gint32 drawable,
                             GError **error) {
    /* before any work: results could not be inserted into an indexed image */
    if (gimp_image_is_valid(image) && gimp_image_base_type(image) == GIMP_INDEXED) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Indexed images are not supported: convert the image to RGB first "
                      "(Image → Mode → RGB)."));
        return FALSE;
    }
    if (mode == CASCADE_MODE_GENERATE) return TRUE; /* no image: a new one */
    if (!gimp_image_is_valid(image)) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_CALLING,
                    _("No image to work on: open an image first."));
        return FALSE;
    }
    if (whole_image) return TRUE;
    if (!gimp_item_is_valid(drawable) || gimp_item_get_image(drawable) != image ||
        gimp_item_is_group(drawable)) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_CALLING,
                    _("Select a layer with pixels (not a layer group) first."));
        return FALSE;
    }
    return TRUE;
}

static gchar *describe_target(CascadeMode mode, gint32 image, gint32 drawable) {
    if (!gimp_image_is_valid(image)) return g_strdup(_("A new image"));
    gchar *file = gimp_image_get_name(image), *s;
    if (mode == CASCADE_MODE_UPSCALE && gimp_item_is_valid(drawable) &&
        !gimp_item_is_group(drawable))
        /* TRANSLATORS: the image's name, the active layer's size, the image's size */
        s = g_strdup_printf(_("Upscaling from %s: the active layer is %d × %d px, the image "
                              "%d × %d px"),
                            file, gimp_drawable_width(drawable), gimp_drawable_height(drawable),
                            gimp_image_width(image), gimp_image_height(image));
    else if (mode == CASCADE_MODE_UPSCALE)
        s = g_strdup_printf(_("Upscaling from %s: the image is %d × %d px"), file,
                            gimp_image_width(image), gimp_image_height(image));
    else if (mode == CASCADE_MODE_INPAINT)
        s = g_strdup_printf(_("Inpainting the selection of %s"), file);
    else if (mode == CASCADE_MODE_OUTPAINT)
        s = g_strdup_printf(_("Expanding the canvas of %s (%d × %d px)"), file,
                            gimp_image_width(image), gimp_image_height(image));
    else if (mode == CASCADE_MODE_VARIATIONS && gimp_item_is_valid(drawable)) {
        gchar *layer = gimp_item_get_name(drawable);
        /* TRANSLATORS: the layer's name, then the image's */
        s = g_strdup_printf(_("Variations of “%s” in %s"), layer, file);
        g_free(layer);
    } else
        s = g_strdup_printf(_("New layer in %s"), file);
    g_free(file);
    return s;
}

static void set_source(CascadeRecipe *r, const gchar *source) {
    g_free(r->upscale_source);
    r->upscale_source = g_strdup(source);
}

/* The recipe of this call, by run mode; FALSE when there is nothing to run (an error, or
 * the dialog was cancelled: then *error stays NULL). */
static gboolean recipe_for_call(const gchar *name, CascadeMode mode, GimpRunMode run_mode,
                                gint nparams, const GimpParam *param, gint32 image, gint32 drawable,
                                CascadeRecipe *r, GError **error) {
    r->mode = mode;
    switch (run_mode) {
    case GIMP_RUN_NONINTERACTIVE:
        if (!cascade_procedures_read_args(mode, nparams, param, r, error)) return FALSE;
        if (!strcmp(name, CASCADE_PROC_UPSCALE_IMAGE)) set_source(r, "visible");
        return TRUE;
    case GIMP_RUN_WITH_LAST_VALS:
        cascade_procedures_load_last(name, r);
        r->mode = mode;
        if (!strcmp(name, CASCADE_PROC_UPSCALE_IMAGE)) set_source(r, "visible");
        cascade_procedures_reroll(r);
        return TRUE;
    case GIMP_RUN_INTERACTIVE:
    default: {
        cascade_procedures_load_last(name, r);
        /* Generate opened on a result layer starts from that layer's recipe. */
        gboolean from_layer = mode == CASCADE_MODE_GENERATE && gimp_item_is_valid(drawable) &&
                              cascade_parasite_read(drawable, r);
        /* A script that passed a full, valid argument list pre-fills the dialog with it. The
         * menu passes empty values, whose empty prompt fails validation: last values stay.
         * (Upscale has no prompt to tell the two apart, so it always starts from last.) */
        CascadeRecipe given;
        cascade_recipe_copy(&given, r);
        gboolean from_args = mode != CASCADE_MODE_UPSCALE &&
                             cascade_procedures_read_args(mode, nparams, param, &given, NULL);
        if (from_args) {
            cascade_recipe_clear(r);
            *r = given;
        } else {
            cascade_recipe_clear(&given);
        }
        /* Otherwise Generate in an open image starts from the shape last generated on it:
         * each image keeps its own (a new image, from last values) */
        gchar *shape = NULL;
        if (mode == CASCADE_MODE_GENERATE && !from_layer && !from_args &&
            gimp_image_is_valid(image))
            shape = cascade_shape_parasite_read(image);
        r->mode = mode;
        if (!strcmp(name, CASCADE_PROC_UPSCALE_IMAGE)) set_source(r, "visible");
        cascade_procedures_reroll(r);
        /* the dialog's preview runs repaint the crop as it is now */
        CascadeSelectionCrop crop = {0};
        CascadeImage        *source = NULL;
        if (mode == CASCADE_MODE_INPAINT) {
            if (!cascade_selection_crop(image, r->context_margin, &crop, error)) {
                g_free(shape);
                return FALSE;
            }
            source = read_crop(drawable, &crop);
        } else if (mode == CASCADE_MODE_VARIATIONS) {
            source = read_layer(drawable);
        }
        gchar *target = describe_target(mode, image, drawable);
#ifdef CASCADE_PLUGIN_HAVE_DIALOG
        gboolean ok =
            cascade_worker_dialog(r, target, source, crop.mask, image, drawable, shape, error);
#else
        gboolean ok = FALSE;
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("This build has no dialog (GTK 3 was not found): call %s "
                      "non-interactively, or rebuild with libgtk-3-dev."),
                    name);
#endif
        g_free(target);
        g_free(shape);
        cascade_job_image_free(source);
        cascade_selection_crop_clear(&crop);
        return ok;
    }
    }
}

void cascade_plugin_call(const gchar *name, gint nparams, const GimpParam *param,
                         gint *nreturn_vals, GimpParam **return_vals) {
    static GimpParam values[3];
    static gchar    *message = NULL;
    *nreturn_vals = 1;
    *return_vals = values;
    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
    g_clear_pointer(&message, g_free);

    bindtextdomain(GETTEXT_PACKAGE, CASCADE_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    CascadeMode mode;
    if (!cascade_procedures_mode(name, &mode) || nparams < 1) return;
    GimpRunMode run_mode = param[0].data.d_int32;
    gint32      image = nparams > 1 ? param[1].data.d_image : -1;
    gint32      drawable = nparams > 2 ? param[2].data.d_drawable : -1;
    if (!strcmp(name, CASCADE_PROC_GENERATE_NEW)) image = drawable = -1; /* File → Create */
    /* the user's presets live in the GIMP profile, as GIMP's own presets do */
    gchar *presets = g_build_filename(gimp_directory(), "gimp-cascade", "presets", NULL);
    cascade_presets_set_user_dir(presets);
    g_free(presets);

    gegl_init(NULL, NULL);
    CascadeRecipe   r;
    GError         *error = NULL;
    CascadeInserted out = {-1, -1};
    cascade_recipe_init(&r);
    gboolean ok =
        valid_target(mode, !strcmp(name, CASCADE_PROC_UPSCALE_IMAGE), image, drawable, &error) &&
        recipe_for_call(name, mode, run_mode, nparams, param, image, drawable, &r, &error);
    if (ok) {
        ok = execute(image, drawable, &r, run_mode != GIMP_RUN_NONINTERACTIVE, &out, &error);
        if (ok) {
            /* the image the results went to remembers their shape, for the next dialog */
            if (mode == CASCADE_MODE_GENERATE && gimp_image_is_valid(out.image))
                cascade_shape_parasite_attach(out.image, r.aspect);
            if (run_mode != GIMP_RUN_NONINTERACTIVE) gimp_displays_flush();
            cascade_procedures_save_last(name, &r);
        }
    }
    if (ok) {
        values[0].data.d_status = GIMP_PDB_SUCCESS;
        *nreturn_vals = 3;
        values[1].type = GIMP_PDB_IMAGE;
        values[1].data.d_image = out.image;
        values[2].type = GIMP_PDB_LAYER;
        values[2].data.d_layer = out.layer;
    } else if (!error) {
        values[0].data.d_status = GIMP_PDB_CANCEL; /* the dialog was closed */
    } else {
        gboolean calling =
            error->domain == CASCADE_PLUGIN_ERROR && error->code == CASCADE_PLUGIN_ERROR_CALLING;
        /* an invalid recipe from arguments is the caller's mistake */
        calling = calling ||
                  (error->domain == CASCADE_RECIPE_ERROR && run_mode == GIMP_RUN_NONINTERACTIVE);
        gboolean cancelled = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        values[0].data.d_status = cancelled ? GIMP_PDB_CANCEL
                                  : calling ? GIMP_PDB_CALLING_ERROR
                                            : GIMP_PDB_EXECUTION_ERROR;
        message = g_strdup(error->message);
        *nreturn_vals = 2;
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = message;
        /* GIMP itself shows a returned error ("Execution error for …") to the user: a
         * gimp_message here as well would show it twice */
        g_error_free(error);
    }
    cascade_recipe_clear(&r);
}

/* A public procedure goes to the resident engine when it runs (engine.c), else runs here with
 * a cache of this call's own; the engine's extension procedure serves until GIMP quits. */
static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals) {
    if (!strcmp(name, CASCADE_PROC_ENGINE)) {
        static GimpParam status[1];
        status[0].type = GIMP_PDB_STATUS;
        status[0].data.d_status = GIMP_PDB_SUCCESS;
        *nreturn_vals = 1;
        *return_vals = status;
        cascade_engine_serve();
        return;
    }
    if (cascade_engine_forward(name, nparams, param, nreturn_vals, return_vals)) return;
    cascade_plugin_call(name, nparams, param, nreturn_vals, return_vals);
    cascade_engine_report_local();
    cascade_worker_cache_free();
}

const GimpPlugInInfo PLUG_IN_INFO = {NULL, cascade_engine_quit, query, run};

MAIN()
