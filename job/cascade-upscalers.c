/* The installed upscalers and the cost of a run, before it runs (see cascade-upscalers.h).
 *
 * A GAN model's factor comes from its config.json ("scale"), its readable name from its
 * folder's stem; a diffusion upscaler is a folder whose model_index.json names
 * StableDiffusionUpscalePipeline. The estimate mirrors the plug-in's run: chunks of
 * cascade_upscale_chunk_edge() source pixels plus their margin, each tiled by
 * cascade_upscale_plan_tiles() (whose peak is the memory figure), timed by a per-model cost
 * measured here (CPU_NS_PER_PIXEL below). */
#include "cascade-upscalers.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-job.h"
#include "cascade/backend.h"
#include "cascade/model-search.h"
#include "cascade/upscaler.h"
#include "io-json.h"

void cascade_upscaler_info_free(CascadeUpscalerInfo *info) {
    if (!info) return;
    g_free(info->dir);
    g_free(info->name);
    g_free(info->family);
    g_free(info);
}

/* ---- where upscalers are ------------------------------------------------------------------ */

static gboolean has_file(const gchar *dir, const gchar *name) {
    g_autofree gchar *p = g_build_filename(dir, name, NULL);
    return g_file_test(p, G_FILE_TEST_IS_REGULAR);
}

gchar *cascade_upscalers_resolve(const gchar *upscaler, gint factor) {
    g_autofree gchar *dir =
        upscaler && *upscaler ? g_strdup(upscaler) : cascade_job_default_upscaler_dir();
    if (!dir) return NULL;
    if (has_file(dir, "config.json") || has_file(dir, "model_index.json"))
        return g_steal_pointer(&dir);
    g_autofree gchar *name = g_strdup_printf("esrgan-slim_x%d", factor);
    return g_build_filename(dir, name, NULL);
}

/* dir's model_index.json names the x4 diffusion upscaler's pipeline. */
static gboolean is_diffusion_upscaler(const gchar *dir) {
    g_autofree gchar *index = g_build_filename(dir, "model_index.json", NULL);
    g_autoptr(JsonParser) parser = NULL;
    JsonNode     *root = NULL;
    cascade_error e;
    cascade_error_init(&e);
    if (!g_file_test(index, G_FILE_TEST_IS_REGULAR) ||
        cascade_io_json_load_file(index, "model index", CASCADE_IO_JSON_PY_INFINITY, &parser, &root,
                                  &e) != CASCADE_STATUS_OK)
        return FALSE;
    const gchar *cls =
        json_object_get_string_member_with_default(json_node_get_object(root), "_class_name", "");
    return strstr(cls, "UpscalePipeline") != NULL;
}

/* A GAN model's factor from its config.json; 0 when it has none that is valid. */
static gint gan_factor(const gchar *dir) {
    g_autofree gchar *cfg = g_build_filename(dir, "config.json", NULL);
    g_autoptr(JsonParser) parser = NULL;
    JsonNode     *root = NULL;
    cascade_error e;
    cascade_error_init(&e);
    if (!g_file_test(cfg, G_FILE_TEST_IS_REGULAR) || !has_file(dir, "model.safetensors") ||
        cascade_io_json_load_file(cfg, "config", CASCADE_IO_JSON_PY_INFINITY, &parser, &root, &e) !=
            CASCADE_STATUS_OK)
        return 0;
    JsonNode *s = json_object_get_member(json_node_get_object(root), "scale");
    gint64    v = 0;
    return s && cascade_io_json_get_int(s, &v) && v >= 2 && v <= 8 ? (gint)v : 0;
}

/* The family of a GAN model folder: its name less "_x<N>". */
static gchar *family_of(const gchar *dir) {
    g_autofree gchar *base = g_path_get_basename(dir);
    gchar            *x = g_strrstr(base, "_x");
    if (x && x != base && x[2] >= '0' && x[2] <= '9') *x = '\0';
    return g_strdup(base);
}

/* The UpscalerJS families, in list order, with their readable names. */
static const struct {
    const gchar *family, *format;
} known[] = {
    /* TRANSLATORS: an upscaler model; %d is its factor (2, 3, 4, 8) */
    {"esrgan-slim", N_("ESRGAN slim ×%d (fast)")},
    /* TRANSLATORS: an upscaler model; %d is its factor (2, 3, 4, 8) */
    {"esrgan-medium", N_("ESRGAN medium ×%d")},
    /* TRANSLATORS: an upscaler model; %d is its factor (2, 3, 4, 8) */
    {"esrgan-thick", N_("ESRGAN thick ×%d (best)")},
    /* TRANSLATORS: UpscalerJS's default upscaler model; %d is its factor */
    {"default-model", N_("UpscalerJS default ×%d")},
};

static gint family_rank(const gchar *family) {
    for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
        if (!strcmp(family, known[i].family)) return (gint)i;
    return G_N_ELEMENTS(known);
}

static gchar *gan_name(const gchar *family, gint factor) {
    gint rank = family_rank(family);
    if (rank < (gint)G_N_ELEMENTS(known)) return g_strdup_printf(_(known[rank].format), factor);
    /* TRANSLATORS: an upscaler model of another family: its folder's name, its factor */
    return g_strdup_printf(_("%s ×%d"), family, factor);
}

/* Canonical path: the same model reached by two spellings is listed once. */
static gchar *canonical(const gchar *dir) {
    g_autofree gchar *c = g_canonicalize_filename(dir, NULL);
    gchar            *real = realpath(c, NULL);
    gchar            *r = g_strdup(real ? real : c);
    free(real);
    return r;
}

typedef struct {
    GPtrArray  *list;
    GHashTable *seen_dirs, *seen_names; /* canonical dirs; GAN folder names */
} lister;

static void add_diffusion(lister *l, const gchar *dir, const gchar *name) {
    g_autofree gchar *c = canonical(dir);
    if (g_hash_table_contains(l->seen_dirs, c) || !is_diffusion_upscaler(dir)) return;
    g_hash_table_add(l->seen_dirs, g_steal_pointer(&c));
    CascadeUpscalerInfo *u = g_new0(CascadeUpscalerInfo, 1);
    u->dir = g_strdup(dir);
    u->family = g_strdup("diffusion");
    u->factor = 4;
    u->diffusion = TRUE;
    if (name) {
        u->name = g_strdup(name);
    } else {
        g_autofree gchar *base = g_path_get_basename(dir);
        /* TRANSLATORS: an x4 diffusion upscaler chosen by folder; %s is the folder's name */
        u->name = g_strdup_printf(_("Diffusion ×4: %s (slow)"), base);
    }
    g_ptr_array_add(l->list, u);
}

static void add_gan(lister *l, const gchar *dir) {
    g_autofree gchar *c = canonical(dir);
    g_autofree gchar *base = g_path_get_basename(c);
    if (g_hash_table_contains(l->seen_dirs, c) || g_hash_table_contains(l->seen_names, base))
        return;
    gint factor = gan_factor(dir);
    if (!factor) return;
    g_hash_table_add(l->seen_dirs, g_steal_pointer(&c));
    g_hash_table_add(l->seen_names, g_steal_pointer(&base));
    CascadeUpscalerInfo *u = g_new0(CascadeUpscalerInfo, 1);
    u->dir = g_strdup(dir);
    u->family = family_of(dir);
    u->factor = factor;
    u->name = gan_name(u->family, factor);
    g_ptr_array_add(l->list, u);
}

/* dir: a model (GAN or diffusion), or a folder of GAN models. */
static void add_place(lister *l, const gchar *dir) {
    if (!dir || !*dir || !g_file_test(dir, G_FILE_TEST_IS_DIR)) return;
    if (has_file(dir, "model_index.json")) {
        add_diffusion(l, dir, NULL);
        return;
    }
    if (has_file(dir, "config.json")) {
        add_gan(l, dir);
        return;
    }
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) return;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (const gchar *n; (n = g_dir_read_name(d));)
        g_ptr_array_add(names, g_strdup(n));
    g_dir_close(d);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0); /* stable whatever readdir's order */
    for (guint i = 0; i < names->len; i++) {
        g_autofree gchar *sub = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
        if (has_file(sub, "config.json")) add_gan(l, sub);
    }
    g_ptr_array_unref(names);
}

static gint by_order(gconstpointer pa, gconstpointer pb) {
    const CascadeUpscalerInfo *a = *(CascadeUpscalerInfo *const *)pa;
    const CascadeUpscalerInfo *b = *(CascadeUpscalerInfo *const *)pb;
    if (a->diffusion != b->diffusion) return a->diffusion ? 1 : -1;
    if (a->diffusion) return 0; /* in the order found */
    gint ra = family_rank(a->family), rb = family_rank(b->family);
    if (ra != rb) return ra - rb;
    gint c = strcmp(a->family, b->family);
    return c ? c : a->factor - b->factor;
}

GPtrArray *cascade_upscalers_list(const gchar *chosen) {
    lister l = {g_ptr_array_new_with_free_func((GDestroyNotify)cascade_upscaler_info_free),
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    add_place(&l, chosen);
    add_place(&l, g_getenv("CASCADE_UPSCALER"));
    add_place(&l, CASCADE_UPSCALERS_INSTALL_DIR);
    add_place(&l, CASCADE_UPSCALERS_SOURCE_DIR);
    /* the default model's stage III (core's rule finds the root) */
    char *root = cascade_model_default();
    char *s3 = root ? cascade_model_stage_dir(root, "stage3") : NULL;
    if (s3) add_diffusion(&l, s3, _("Diffusion ×4 (slow)"));
    free(s3);
    free(root);
    g_ptr_array_sort(l.list, by_order);
    g_hash_table_unref(l.seen_dirs);
    g_hash_table_unref(l.seen_names);
    return l.list;
}

gint cascade_upscalers_find(GPtrArray *list, const gchar *upscaler, gint factor) {
    g_autofree gchar *dir = cascade_upscalers_resolve(upscaler, factor);
    if (!dir) return -1;
    g_autofree gchar *want = canonical(dir);
    for (guint i = 0; i < list->len; i++) {
        const CascadeUpscalerInfo *u = g_ptr_array_index(list, i);
        g_autofree gchar          *c = canonical(u->dir);
        if (!strcmp(c, want)) return (gint)i;
    }
    return -1;
}

/* ---- the estimate ------------------------------------------------------------------------- */

#define CHUNK_OUT_EDGE 1024 /* the output edge a chunk aims at */

gint cascade_upscale_chunk_edge(gint factor, gint tile, gboolean diffusion) {
    /* the diffusion upscaler tiles (and blends) inside a chunk itself: chunks as large as the
     * GAN ones' output, so most layers are one */
    if (tile > 0) return tile;
    return diffusion ? CHUNK_OUT_EDGE : MAX(CHUNK_OUT_EDGE / MAX(factor, 1), 32);
}

/* CPU time per source pixel, in ns, of each UpscalerJS model on the CPU backend: `cascade
 * upscale --backend cpu --bench 3` on a 128 x 128 crop of ../shared/images/astronaut.png,
 * median of 3 runs after a warm-up, on the 2-core x86-64 build machine (OpenBLAS, -O2),
 * taken as CPU seconds (median_cpu_s) rather than wall time because the machine was shared.
 * The wall time estimate divides by the cores the backend uses (one thread per core). A model
 * not in the table costs what its architecture's largest listed one does. */
static const struct {
    const gchar *family;
    gint         factor;
    gdouble      ns;
} CPU_NS_PER_PIXEL[] = {
    {"esrgan-slim", 2, 13400},   {"esrgan-slim", 3, 13700},    {"esrgan-slim", 4, 29600},
    {"esrgan-slim", 8, 65500},   {"esrgan-medium", 2, 53700},  {"esrgan-medium", 3, 70200},
    {"esrgan-medium", 4, 72600}, {"esrgan-medium", 8, 168700}, {"esrgan-thick", 2, 382200},
    {"esrgan-thick", 3, 387600}, {"esrgan-thick", 4, 363900},  {"esrgan-thick", 8, 411900},
    {"default-model", 2, 11800},
};

static gdouble ns_per_pixel(const gchar *family, gint factor, const gchar *architecture) {
    for (gsize i = 0; i < G_N_ELEMENTS(CPU_NS_PER_PIXEL); i++)
        if (!strcmp(CPU_NS_PER_PIXEL[i].family, family) && CPU_NS_PER_PIXEL[i].factor == factor)
            return CPU_NS_PER_PIXEL[i].ns;
    /* RRDN is esrgan-thick's architecture, RDN the others' */
    const gchar *like = !g_strcmp0(architecture, "rrdn") ? "esrgan-thick" : "esrgan-medium";
    return ns_per_pixel(like, 8, NULL);
}

static gboolean fail_core(const cascade_error *e, GError **error) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, e->message);
    return FALSE;
}

gboolean cascade_upscale_estimate(const CascadeUpscalerInfo *info, gint width, gint height,
                                  gint tile, CascadeUpscaleEstimate *out, GError **error) {
    memset(out, 0, sizeof *out);
    out->seconds = -1;
    const gint f = info->factor;
    if (width <= 0 || height <= 0 || width > G_MAXINT / f || height > G_MAXINT / f) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    _("The image is too large to enlarge ×%d"), f);
        return FALSE;
    }
    out->out_width = width * f;
    out->out_height = height * f;
    cascade_error e;
    cascade_error_init(&e);
    cascade_backend    *be = NULL;
    cascade_cpu_options co;
    cascade_cpu_options_init(&co);
    if (cascade_backend_cpu_new(&co, &be, &e)) return fail_core(&e, error);
    out->available_bytes = cascade_backend_available_bytes(be);
    if (info->diffusion) { /* the SD upscaler's own tiles: 128 px, 16 px overlap (its default) */
        gint edge = cascade_upscale_chunk_edge(f, tile, TRUE), step = 128 - 16;
        for (gint cy = 0; cy < height; cy += edge)
            for (gint cx = 0; cx < width; cx += edge) {
                gint cw = MIN(edge, width - cx), ch = MIN(edge, height - cy);
                out->tiles += (cw <= 128 ? 1 : (cw - 16 + step - 1) / step) *
                              (ch <= 128 ? 1 : (ch - 16 + step - 1) / step);
            }
        cascade_backend_free(be);
        return TRUE;
    }
    cascade_upscaler *u = NULL;
    if (cascade_upscaler_load(info->dir, &u, &e)) {
        cascade_backend_free(be);
        return fail_core(&e, error);
    }
    /* the chunks as the plug-in reads them: each with its margin, clipped to the source;
     * planned once per distinct size (at most 3 x 3 of them: first, inner, last) */
    const gint edge = cascade_upscale_chunk_edge(f, tile, FALSE), m = CASCADE_UPSCALE_CHUNK_MARGIN;
    gdouble    pixels = 0;
    gboolean   ok = TRUE;
    gint       planned[9][2], n_planned = 0;
    for (gint cy = 0; ok && cy < height; cy += edge)
        for (gint cx = 0; ok && cx < width; cx += edge) {
            gint rw = MIN(cx + edge + m, width) - MAX(cx - m, 0);
            gint rh = MIN(cy + edge + m, height) - MAX(cy - m, 0);
            pixels += (gdouble)rw * rh;
            gboolean seen = FALSE;
            for (gint i = 0; i < n_planned && !seen; i++)
                seen = planned[i][0] == rw && planned[i][1] == rh;
            if (seen || n_planned == G_N_ELEMENTS(planned)) continue;
            planned[n_planned][0] = rw, planned[n_planned++][1] = rh;
            cascade_upscale_options opt;
            cascade_upscale_options_init(&opt);
            opt.tile = tile;
            cascade_tiler_params tp;
            uint64_t             peak = 0;
            ok = cascade_upscale_plan_tiles(u, be, rw, rh, &opt, &tp, &peak, &e) ==
                 CASCADE_STATUS_OK;
            /* plus the job's copies of the chunk in and out (8-bit RGBA) */
            peak += (guint64)rw * rh * 4 * (1 + (guint64)f * f);
            out->peak_bytes = MAX(out->peak_bytes, peak);
        }
    const gint threads = MAX((gint)g_get_num_processors(), 1);
    out->seconds =
        pixels * ns_per_pixel(info->family, f, cascade_upscaler_architecture(u)) * 1e-9 / threads;
    cascade_upscaler_free(u);
    cascade_backend_free(be);
    return ok ? TRUE : fail_core(&e, error);
}

/* "3 s" (at least 1), "4 min", "1.5 h" (g_free). */
static gchar *duration(gdouble s) {
    /* TRANSLATORS: a duration in seconds */
    if (s < 90) return g_strdup_printf(_("%.0f s"), MAX(s, 1.0));
    /* TRANSLATORS: a duration in minutes */
    if (s < 90 * 60) return g_strdup_printf(_("%.0f min"), s / 60);
    /* TRANSLATORS: a duration in hours */
    return g_strdup_printf(_("%.1f h"), s / 3600);
}

gchar *cascade_upscale_estimate_text(const CascadeUpscaleEstimate *e) {
    /* TRANSLATORS: the size of an upscaled result, in pixels */
    GString *s = g_string_new(NULL);
    g_string_printf(s, _("Output: %d × %d px"), e->out_width, e->out_height);
    if (e->seconds >= 0) {
        g_autofree gchar *t = duration(e->seconds);
        /* TRANSLATORS: appended to "Output: W × H px": how long it will take */
        g_string_append_printf(s, _(" · about %s"), t);
    }
    if (e->peak_bytes) {
        g_autofree gchar *m = g_format_size(e->peak_bytes);
        /* TRANSLATORS: appended to "Output: W × H px · about T": the memory it needs */
        g_string_append_printf(s, _(" · peak memory %s"), m);
    }
    if (e->tiles > 0)
        /* TRANSLATORS: the diffusion upscaler's cost: so many tiles of 75 steps each */
        g_string_append_printf(s,
                               g_dngettext(GETTEXT_PACKAGE,
                                           " · slow: %d tile of 75 denoising steps",
                                           " · slow: %d tiles of 75 denoising steps", e->tiles),
                               e->tiles);
    return g_string_free(s, FALSE);
}

gchar *cascade_upscale_estimate_warning(const CascadeUpscaleEstimate *e) {
    GString *s = g_string_new(NULL);
    gdouble  mp = (gdouble)e->out_width * e->out_height;
    if (mp > CASCADE_UPSCALE_WARN_PIXELS) {
        g_autofree gchar *m = g_format_size((guint64)(mp * 4));
        g_string_append_printf(s,
                               _("The result has %.0f megapixels: GIMP needs at least %s "
                                 "to hold it."),
                               mp / 1e6, m);
    }
    if (e->seconds > CASCADE_UPSCALE_WARN_SECONDS) {
        g_autofree gchar *t = duration(e->seconds);
        if (s->len) g_string_append_c(s, ' ');
        g_string_append_printf(s, _("It may take %s on the CPU."), t);
    }
    if (e->peak_bytes && e->available_bytes && e->peak_bytes > e->available_bytes) {
        g_autofree gchar *need = g_format_size(e->peak_bytes);
        g_autofree gchar *have = g_format_size(e->available_bytes);
        if (s->len) g_string_append_c(s, ' ');
        g_string_append_printf(s, _("It needs about %s of memory, but only %s is free."), need,
                               have);
    }
    return s->len ? g_string_free(s, FALSE) : (g_string_free(s, TRUE), NULL);
}
