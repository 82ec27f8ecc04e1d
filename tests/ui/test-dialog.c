/* CascadeDialog under Xvfb: filled programmatically, Generate runs a real stage-I-only batch
 * on the tiny golden cascade through a host built on CascadeJob (as the plug-in does), the
 * candidates arrive, one is picked, OK hands back the recipe that finishes it; Esc cancels
 * a run before it closes the dialog; Enter in the prompt generates; presets fill the
 * settings and editing makes them custom; upscale mode shows its own controls. A screenshot
 * of the dialog with its candidates is saved to $CASCADE_UI_SCREENSHOT.
 *
 * Without a display (no Xvfb) the whole test is skipped with a TAP plan. */
#include <gdk/gdkx.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "cascade-dialog.h"
#include "cascade-job.h"
#include "test-common.h"
#include "tiny-cascade.h"

static char *g_root; /* the tiny cascade */

/* ---- finding widgets by name (the dialog names its controls) ---------------------------- */

static GtkWidget *find(GtkWidget *w, const char *name) {
    if (!g_strcmp0(gtk_widget_get_name(w), name)) return w;
    if (!GTK_IS_CONTAINER(w)) return NULL;
    GList     *children = gtk_container_get_children(GTK_CONTAINER(w));
    GtkWidget *hit = NULL;
    for (GList *l = children; l && !hit; l = l->next)
        hit = find(l->data, name);
    g_list_free(children);
    return hit;
}

static GtkWidget *must_find(GtkWidget *w, const char *name) {
    GtkWidget *hit = find(w, name);
    if (!hit) fail_msg("no widget named '%s'", name);
    return hit;
}

static void pump(guint ms) { /* lets GTK and the job's messages run */
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE)) g_usleep(2000);
}

/* ---- a host built on CascadeJob, as the plug-in's ------------------------------------- */

typedef struct {
    CascadeUiHost  base; /* first: the dialog hands this back */
    CascadeDialog *dialog;
    CascadeJob    *job;
    gboolean       real; /* run a CascadeJob; else only record */
    gint           starts, cancels, finished;
    gboolean       last_stage1_only;
    CascadeRecipe  last;
    guint64        base_seed;
} test_host;

static void host_progress(gint stage, gint step, gint total, gpointer ud) {
    test_host *h = ud;
    cascade_dialog_report_progress(h->dialog, stage, step, total);
}

static void host_preview(gint index, const CascadeImage *im, gpointer ud) {
    test_host *h = ud;
    cascade_dialog_report_preview(h->dialog, index, im->pixels, im->width, im->height,
                                  im->width * 3);
}

static void host_done(GPtrArray *results, const guint64 *seeds, const GError *error, gpointer ud) {
    test_host *h = ud;
    if (results) {
        h->base_seed = seeds[0];
        for (guint i = 0; i < results->len; i++) {
            cascade_dialog_report_candidate_image(h->dialog, (gint)i, seeds[i], results->pdata[i]);
        }
        g_ptr_array_unref(results);
    }
    h->finished++;
    cascade_dialog_report_finished(h->dialog, error);
}

static gboolean host_start(CascadeUiHost *base, const CascadeRecipe *r, gboolean stage1_only,
                           GError **error) {
    test_host *h = (test_host *)base;
    h->starts++;
    h->last_stage1_only = stage1_only;
    cascade_recipe_clear(&h->last);
    cascade_recipe_copy(&h->last, r);
    if (!h->real) return TRUE;
    CascadeRecipe run;
    cascade_recipe_copy(&run, r);
    if (stage1_only) run.stage2 = FALSE;
    CascadeJobCallbacks cb = {host_progress, host_preview, host_done, h};
    cascade_job_free(h->job);
    h->job = cascade_job_start(&run, NULL, NULL, &cb, error);
    cascade_recipe_clear(&run);
    return h->job != NULL;
}

static void host_cancel(CascadeUiHost *base) {
    test_host *h = (test_host *)base;
    h->cancels++;
    if (h->job)
        cascade_job_cancel(h->job);
    else if (!h->real) { /* the fake host reports the cancel at once */
        GError *e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
        cascade_dialog_report_finished(h->dialog, e);
        g_error_free(e);
    }
}

static const gchar *host_describe(CascadeUiHost *base) {
    (void)base;
    return "Generating a new layer in “test.xcf” (640 × 480 px)";
}

static void host_init(test_host *h, gboolean real) {
    memset(h, 0, sizeof *h);
    h->base.start = host_start;
    h->base.cancel = host_cancel;
    h->base.describe_target = host_describe;
    h->real = real;
    cascade_recipe_init(&h->last);
}

static void host_clear(test_host *h) {
    cascade_job_free(h->job);
    cascade_recipe_clear(&h->last);
}

static CascadeRecipe tiny_recipe(void) {
    CascadeRecipe r;
    cascade_recipe_init(&r);
    g_free(r.model_dir);
    r.model_dir = g_strdup(g_root ? g_root : "");
    g_free(r.backend);
    r.backend = g_strdup("cpu");
    r.steps1 = 6;
    r.steps2 = 3;
    r.batch = 3;
    r.random_seed = TRUE;
    return r;
}

static void set_text(GtkWidget *view, const char *text) {
    gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)), text, -1);
}

/* The work area of the screen the test runs on (xvfb-run's -screen). */
static GdkRectangle screen_area(void) {
    GdkDisplay  *display = gdk_display_get_default();
    GdkMonitor  *m = gdk_display_get_primary_monitor(display);
    GdkRectangle area = {0, 0, 1366, 768};
    if (!m && gdk_display_get_n_monitors(display) > 0) m = gdk_display_get_monitor(display, 0);
    if (m) gdk_monitor_get_workarea(m, &area);
    return area;
}

static void save_png(GdkPixbuf *pb, const char *path) {
    assert_non_null(pb);
    GError *e = NULL;
    if (!gdk_pixbuf_save(pb, path, "png", &e, NULL)) fail_msg("%s: %s", path, e->message);
    fprintf(stderr, "# screenshot: %s (%dx%d)\n", path, gdk_pixbuf_get_width(pb),
            gdk_pixbuf_get_height(pb));
}

/* Saves the dialog as drawn to $CASCADE_UI_SCREENSHOT, with "-<suffix>" before ".png"; with
 * $CASCADE_UI_SCREENSHOT_SCREEN set, also the whole screen with the dialog centred on it
 * ("-screen" added), to see it placed on a screen of xvfb-run's size. */
static void screenshot(GtkWidget *dialog, const char *suffix) {
    const char *base = getenv("CASCADE_UI_SCREENSHOT");
    if (!base || !*base) return;
    char *stem =
        g_str_has_suffix(base, ".png") ? g_strndup(base, strlen(base) - 4) : g_strdup(base);
    char *path =
        suffix ? g_strdup_printf("%s-%s.png", stem, suffix) : g_strdup_printf("%s.png", stem);
    pump(300);
    /* drawn offscreen by GTK itself: no read-back from the X server, no window manager */
    gint             w = gtk_widget_get_allocated_width(dialog);
    gint             hgt = gtk_widget_get_allocated_height(dialog);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, hgt);
    cairo_t         *cr = cairo_create(surf);
    gtk_widget_draw(dialog, cr);
    cairo_destroy(cr);
    GdkPixbuf *pb = gdk_pixbuf_get_from_surface(surf, 0, 0, w, hgt);
    cairo_surface_destroy(surf);
    save_png(pb, path);
    g_object_unref(pb);
    const char *screen = getenv("CASCADE_UI_SCREENSHOT_SCREEN");
    if (screen && *screen && gtk_widget_get_mapped(dialog)) {
        /* read back from the X server: no window manager, so no title bar and no panel */
        GdkRectangle area = screen_area();
        /* the pointer in a corner, off the dialog: no tooltip in the picture */
        GdkDevice *pointer =
            gdk_seat_get_pointer(gdk_display_get_default_seat(gdk_display_get_default()));
        gdk_device_warp(pointer, gdk_screen_get_default(), 0, 0);
        gtk_window_move(GTK_WINDOW(dialog), area.x + (area.width - w) / 2,
                        area.y + (area.height - hgt) / 2);
        pump(300);
        GdkWindow *root = gdk_get_default_root_window();
        GdkPixbuf *full = gdk_pixbuf_get_from_window(root, 0, 0, gdk_window_get_width(root),
                                                     gdk_window_get_height(root));
        char      *spath = suffix ? g_strdup_printf("%s-%s-screen.png", stem, suffix)
                                  : g_strdup_printf("%s-screen.png", stem);
        save_png(full, spath);
        g_object_unref(full);
        g_free(spath);
    }
    g_free(path);
    g_free(stem);
}

/* ---- the scripted session (runs inside cascade_dialog_run_recipe's loop) ---------------- */

typedef struct {
    test_host  *host;
    GtkWidget  *dialog;
    int         phase;
    gint64      deadline;
    const char *failure; /* set when a step could not be done */
} script;

static gboolean script_step(gpointer ud) {
    script *s = ud;
    if (g_get_monotonic_time() > s->deadline) {
        s->failure = "timed out waiting for the run";
        gtk_dialog_response(GTK_DIALOG(s->dialog), GTK_RESPONSE_CANCEL);
        return G_SOURCE_REMOVE;
    }
    switch (s->phase) {
    case 0:
        set_text(must_find(s->dialog, "prompt"), "a red fox, flat emoji");
        gtk_button_clicked(GTK_BUTTON(must_find(s->dialog, "generate")));
        s->phase = 1;
        return G_SOURCE_CONTINUE;
    case 1: /* wait for the candidates */
        if (s->host->finished == 0) return G_SOURCE_CONTINUE;
        s->phase = 2;
        return G_SOURCE_CONTINUE;
    case 2: {
        GtkWidget *grid = must_find(s->dialog, "candidates");
        GList     *kids = gtk_container_get_children(GTK_CONTAINER(grid));
        guint      n = g_list_length(kids);
        g_list_free(kids);
        if (n != 3) s->failure = "expected 3 candidates in the grid";
        gtk_flow_box_select_child(GTK_FLOW_BOX(grid),
                                  gtk_flow_box_get_child_at_index(GTK_FLOW_BOX(grid), 1));
        screenshot(s->dialog, NULL);
        gtk_dialog_response(GTK_DIALOG(s->dialog), GTK_RESPONSE_OK);
        return G_SOURCE_REMOVE;
    }
    }
    return G_SOURCE_REMOVE;
}

/* Generate -> a real stage-I-only batch of 3 -> pick candidate 2 -> OK: the recipe holds
 * the prompt, candidate 1 and the batch's base seed, and finishing it through a job gives
 * one 32 px image made with seed base + 1. */
static void test_dialog_generate_pick_ok(void **state) {
    (void)state;
    if (!g_root) skip();
    test_host h;
    host_init(&h, TRUE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    /* a foreign parent, as GIMP's image window would be */
    GtkWidget *gimp_window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    gtk_widget_show(gimp_window);
    cascade_dialog_set_transient_for_handle(
        CASCADE_DIALOG(dialog),
        (guint32)gdk_x11_window_get_xid(gtk_widget_get_window(gimp_window)));
    script s = {&h, dialog, 0, g_get_monotonic_time() + 120 * G_USEC_PER_SEC, NULL};
    g_timeout_add(50, script_step, &s);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    gint response = cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out);
    if (s.failure) fail_msg("%s", s.failure);
    assert_int_equal(response, GTK_RESPONSE_OK);
    assert_int_equal(h.starts, 1);
    assert_true(h.last_stage1_only);
    assert_false(h.last.stage2);
    assert_string_equal(h.last.prompt, "a red fox, flat emoji");
    assert_string_equal(out.prompt, "a red fox, flat emoji");
    assert_int_equal(out.candidate, 1);
    assert_true(out.seed == h.base_seed);
    assert_false(out.random_seed); /* the seed names the picked image now */
    assert_true(out.stage2);       /* OK runs the full recipe */
    assert_int_equal(out.steps1, 6);
    assert_int_equal(out.batch, 3);
    GtkWidget *progress = must_find(dialog, "progress");
    assert_true(gtk_progress_bar_get_fraction(GTK_PROGRESS_BAR(progress)) == 1.0);
    assert_non_null(g_object_get_data(G_OBJECT(dialog), "cascade-foreign-parent"));
    gtk_widget_destroy(dialog);
    gtk_widget_destroy(gimp_window);

    /* finish the picked candidate as the plug-in would */
    cascade_job_free(h.job);
    h.job = NULL;
    h.finished = 0;
    GtkWidget *sink = cascade_dialog_new(&out, &h.base, NULL); /* receives the reports */
    h.dialog = CASCADE_DIALOG(sink);
    GError *e = NULL;
    assert_true(host_start(&h.base, &out, FALSE, &e));
    while (!h.finished)
        g_main_context_iteration(NULL, TRUE);
    GtkWidget *grid = must_find(sink, "candidates");
    GList     *kids = gtk_container_get_children(GTK_CONTAINER(grid));
    assert_int_equal(g_list_length(kids), 1);
    g_list_free(kids);
    assert_true(h.base_seed == out.seed + 1);
    gtk_widget_destroy(sink);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

typedef struct {
    test_host *host;
    GtkWidget *dialog;
    int        phase;
} esc_script;

static gboolean esc_step(gpointer ud) {
    esc_script *s = ud;
    switch (s->phase++) {
    case 0:
        set_text(must_find(s->dialog, "prompt"), "a cat");
        gtk_dialog_response(GTK_DIALOG(s->dialog), 1 /* Generate */);
        return G_SOURCE_CONTINUE;
    case 1:
        g_signal_emit_by_name(s->dialog, "close"); /* Esc: stops the run only */
        return G_SOURCE_CONTINUE;
    case 2:
        g_signal_emit_by_name(s->dialog, "close"); /* Esc again: closes */
        return G_SOURCE_REMOVE;
    default: return G_SOURCE_REMOVE;
    }
}

/* Esc while a run goes cancels the run and keeps the dialog; the next Esc closes it, and
 * the recipe passed in is left untouched. */
static void test_dialog_escape_cancels_then_closes(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    esc_script s = {&h, dialog, 0};
    g_timeout_add(50, esc_step, &s);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    gint response = cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out);
    assert_int_not_equal(response, GTK_RESPONSE_OK);
    assert_int_equal(h.starts, 1);
    assert_int_equal(h.cancels, 1);
    assert_int_equal(s.phase, 3);
    assert_string_equal(out.prompt, ""); /* untouched */
    assert_string_equal(gtk_progress_bar_get_text(GTK_PROGRESS_BAR(must_find(dialog, "progress"))),
                        "Cancelled");
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

/* A key press delivered to w, as GTK delivers it to the focused widget (Xvfb has no window
 * manager to give the dialog the keyboard focus). */
static void press_key(GtkWidget *w, guint keyval, GdkModifierType state) {
    GdkEvent *ev = gdk_event_new(GDK_KEY_PRESS);
    ev->key.window = g_object_ref(gtk_widget_get_window(w));
    ev->key.keyval = keyval;
    ev->key.state = state;
    ev->key.time = GDK_CURRENT_TIME;
    gdk_event_set_device(
        ev, gdk_seat_get_keyboard(gdk_display_get_default_seat(gdk_display_get_default())));
    gtk_widget_event(w, ev);
    gdk_event_free(ev);
}

/* Enter in the prompt generates (Shift+Enter does not); an empty prompt does not start a
 * run but says why. */
static void test_dialog_enter_generates(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    gtk_widget_show(dialog);
    pump(200);
    GtkWidget *prompt = must_find(dialog, "prompt");
    gtk_widget_grab_focus(prompt);
    press_key(prompt, GDK_KEY_Return, 0);
    pump(400);                     /* a button activated by Enter clicks after a visible press */
    assert_int_equal(h.starts, 0); /* empty prompt */
    assert_non_null(strstr(gtk_label_get_text(GTK_LABEL(must_find(dialog, "status"))), "prompt"));
    set_text(prompt, "a lighthouse");
    press_key(prompt, GDK_KEY_Return, GDK_SHIFT_MASK);
    pump(400); /* a button activated by Enter clicks after a visible press */
    assert_int_equal(h.starts, 0);
    press_key(prompt, GDK_KEY_Return, 0);
    pump(400); /* a button activated by Enter clicks after a visible press */
    assert_int_equal(h.starts, 1);
    assert_true(h.last_stage1_only);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* Choosing the draft preset fills its values; editing a value afterwards makes the recipe
 * custom; the re-roll button fixes a new seed. */
static void test_dialog_presets_and_seed(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    GtkWidget *preset = must_find(dialog, "preset");
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(preset), "draft"));
    GtkWidget *steps1 = must_find(dialog, "steps1");
    assert_int_equal(gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(steps1)), 20);
    assert_false(gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(must_find(dialog, "stage2"))));
    assert_false(gtk_widget_get_sensitive(must_find(dialog, "steps2")));
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(steps1), 33);
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(preset)), "");
    /* the shape of a new image reaches the recipe */
    GtkWidget *aspect = must_find(dialog, "aspect");
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(aspect)), "1:1");
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(aspect), "16:9"));
    set_text(must_find(dialog, "prompt"), "a cat");
    gtk_button_clicked(GTK_BUTTON(must_find(dialog, "generate")));
    assert_int_equal(h.starts, 1);
    assert_string_equal(h.last.aspect, "16:9");
    GtkWidget *random = must_find(dialog, "random-seed");
    assert_true(gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(random)));
    gtk_button_clicked(GTK_BUTTON(must_find(dialog, "reroll")));
    assert_false(gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(random)));
    assert_true(gtk_widget_get_sensitive(must_find(dialog, "seed")));
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* The menu item of menu labelled label (NULL when there is none). */
static GtkWidget *menu_item(GtkWidget *menu, const char *label) {
    GtkWidget *hit = NULL;
    GList     *kids = gtk_container_get_children(GTK_CONTAINER(menu));
    for (GList *l = kids; l && !hit; l = l->next)
        if (!g_strcmp0(gtk_menu_item_get_label(GTK_MENU_ITEM(l->data)), label)) hit = l->data;
    g_list_free(kids);
    return hit;
}

/* The prompt's menu lists what the model in the Model field says it draws (prompts.json):
 * a submenu per style, prompts in no style at the top level; choosing one sets the prompt.
 * A model without the file, and a malformed file, say so in the menu instead. */
static void test_dialog_prompt_menu(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    g_autofree char *json = g_build_filename(g_root, "stage1", "prompts.json", NULL);
    assert_true(g_file_set_contents(json,
                                    "{\"styles\": [\"flat style\", \"noto style\"], \"prompts\": "
                                    "[\"red apple, flat style\", \"cat face, noto style\", "
                                    "\"a rose\"]}",
                                    -1, NULL));
    GtkWidget *button = must_find(dialog, "prompt-ideas");
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), TRUE);
    GtkWidget *menu = GTK_WIDGET(gtk_menu_button_get_popup(GTK_MENU_BUTTON(button)));
    GtkWidget *flat = menu_item(menu, "flat style");
    assert_non_null(flat);
    assert_non_null(menu_item(menu, "noto style"));
    assert_null(menu_item(menu, "red apple, flat style")); /* inside its style's submenu */
    GtkWidget *apple = menu_item(gtk_menu_item_get_submenu(GTK_MENU_ITEM(flat)), "red apple");
    assert_non_null(apple);
    gtk_menu_item_activate(GTK_MENU_ITEM(apple));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), FALSE);
    GtkTextBuffer *buf = gtk_text_view_get_buffer(GTK_TEXT_VIEW(must_find(dialog, "prompt")));
    GtkTextIter    a, b;
    gtk_text_buffer_get_bounds(buf, &a, &b);
    g_autofree char *text = gtk_text_buffer_get_text(buf, &a, &b, FALSE);
    assert_string_equal(text, "red apple, flat style");
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), TRUE);
    assert_non_null(menu_item(GTK_WIDGET(gtk_menu_button_get_popup(GTK_MENU_BUTTON(button))),
                              "a rose"));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), FALSE);

    assert_true(g_file_set_contents(json, "{\"prompts\": [\"x\", 3]}", -1, NULL));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), TRUE);
    menu = GTK_WIDGET(gtk_menu_button_get_popup(GTK_MENU_BUTTON(button)));
    GList *kids = gtk_container_get_children(GTK_CONTAINER(menu));
    assert_int_equal(g_list_length(kids), 1);
    assert_false(gtk_widget_get_sensitive(kids->data));
    assert_non_null(strstr(gtk_menu_item_get_label(kids->data), "prompts.json"));
    g_list_free(kids);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), FALSE);

    assert_int_equal(g_remove(json), 0);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), TRUE);
    menu = GTK_WIDGET(gtk_menu_button_get_popup(GTK_MENU_BUTTON(button)));
    kids = gtk_container_get_children(GTK_CONTAINER(menu));
    assert_int_equal(g_list_length(kids), 1);
    assert_false(gtk_widget_get_sensitive(kids->data));
    g_list_free(kids);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(button), FALSE);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* Quality and style presets are two pickers: a style stays visible, and applied, when a
 * quality preset is chosen after it (one list used to hide that the style was still on);
 * "None" removes the style; a typed style shows as Custom. */
static void test_dialog_style_presets_apart(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    GtkWidget *preset = must_find(dialog, "preset"), *style = must_find(dialog, "style-preset");
    GtkWidget *text = must_find(dialog, "style");
    assert_false(gtk_combo_box_set_active_id(GTK_COMBO_BOX(preset), "flat-emoji"));
    assert_false(gtk_combo_box_set_active_id(GTK_COMBO_BOX(style), "draft"));
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(style), "flat-emoji"));
    assert_non_null(strstr(gtk_entry_get_text(GTK_ENTRY(text)), "flat vector"));
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(preset), "draft"));
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(style)), "flat-emoji");
    assert_non_null(strstr(gtk_entry_get_text(GTK_ENTRY(text)), "flat vector"));
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(style), "noto-emoji"));
    assert_null(strstr(gtk_entry_get_text(GTK_ENTRY(text)), "flat vector")); /* replaced */
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(preset)), "draft");
    GtkTextBuffer *neg = gtk_text_view_get_buffer(GTK_TEXT_VIEW(must_find(dialog, "negative")));
    GtkTextIter    a, b;
    gtk_text_buffer_get_bounds(neg, &a, &b);
    char *negative = gtk_text_buffer_get_text(neg, &a, &b, FALSE);
    assert_non_null(strstr(negative, "blurry")); /* noto's negative prompt, not flat's */
    assert_null(strstr(negative, "gradient"));
    g_free(negative);
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(style), ""));
    assert_string_equal(gtk_entry_get_text(GTK_ENTRY(text)), "");
    gtk_entry_set_text(GTK_ENTRY(text), "pencil sketch");
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(style)), "custom");
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* While Random is on the seed field shows no stale number; turning Random off shows the
 * seed again, and the value is never lost to the text. */
static void test_dialog_seed_random_shows_no_number(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.seed = 4242;
    r.random_seed = TRUE;
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    gtk_widget_show(dialog);
    pump(100);
    GtkWidget  *seed = must_find(dialog, "seed"), *random = must_find(dialog, "random-seed");
    const char *shown = gtk_entry_get_text(GTK_ENTRY(seed));
    fprintf(stderr, "# seed field with Random on: \"%s\"\n", shown);
    assert_null(strstr(shown, "4242"));
    assert_false(g_ascii_isdigit(shown[0]));
    gtk_spin_button_update(GTK_SPIN_BUTTON(seed)); /* the text is not parsed as a seed */
    assert_true(gtk_spin_button_get_value(GTK_SPIN_BUTTON(seed)) == 4242.0);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(random), FALSE);
    assert_string_equal(gtk_entry_get_text(GTK_ENTRY(seed)), "4242");
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(random), TRUE);
    assert_null(strstr(gtk_entry_get_text(GTK_ENTRY(seed)), "4242"));
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* Fills and accepts the "Save Preset" dialog once it is up. */
static gboolean fill_save_dialog(gpointer ud) {
    (void)ud;
    GList     *tops = gtk_window_list_toplevels();
    GtkWidget *dlg = NULL;
    for (GList *l = tops; l; l = l->next)
        if (!g_strcmp0(gtk_widget_get_name(l->data), "save-preset-dialog")) dlg = l->data;
    g_list_free(tops);
    if (!dlg) return G_SOURCE_CONTINUE;
    gtk_entry_set_text(GTK_ENTRY(must_find(dlg, "preset-name")), "My Foxes");
    gtk_entry_set_text(GTK_ENTRY(must_find(dlg, "preset-description")), "few steps");
    gtk_dialog_response(GTK_DIALOG(dlg), GTK_RESPONSE_OK);
    return G_SOURCE_REMOVE;
}

/* Saving the settings as a preset of one's own: it is written to the user's folder, the
 * picker lists and selects it, and choosing it later restores its values. */
static void test_dialog_save_user_preset(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    gtk_widget_show(dialog);
    GtkWidget *steps1 = must_find(dialog, "steps1");
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(steps1), 17);
    gtk_entry_set_text(GTK_ENTRY(must_find(dialog, "style")), "pencil sketch");
    g_timeout_add(50, fill_save_dialog, NULL);
    gtk_button_clicked(GTK_BUTTON(must_find(dialog, "save-preset"))); /* modal until saved */
    GtkWidget *preset = must_find(dialog, "preset");
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(preset)), "my-foxes");
    char *path = g_build_filename(g_getenv("CASCADE_USER_PRESETS_DIR"), "my-foxes.json", NULL);
    assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(preset), "best"));
    assert_int_not_equal(gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(steps1)), 17);
    assert_true(gtk_combo_box_set_active_id(GTK_COMBO_BOX(preset), "my-foxes"));
    assert_int_equal(gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(steps1)), 17);
    assert_string_equal(gtk_entry_get_text(GTK_ENTRY(must_find(dialog, "style"))), "pencil sketch");
    g_unlink(path);
    g_free(path);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

/* An RGBA result (an inpainted crop of a layer with alpha) shows as a candidate: opaque
 * pixels as they are, transparent ones as GIMP's checkerboard. */
static void test_dialog_rgba_candidate(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    CascadeImage *im = cascade_job_image_new(16, 16, 4);
    for (gint i = 0; i < 16 * 16; i++) {
        im->pixels[i * 4 + 0] = 200, im->pixels[i * 4 + 1] = 10, im->pixels[i * 4 + 2] = 30;
        im->pixels[i * 4 + 3] = i % 16 < 8 ? 0 : 255; /* left half transparent */
    }
    cascade_dialog_report_candidate_image(CASCADE_DIALOG(dialog), 0, 5, im);
    GtkWidget       *grid = must_find(dialog, "candidates");
    GtkFlowBoxChild *c = gtk_flow_box_get_child_at_index(GTK_FLOW_BOX(grid), 0);
    assert_non_null(c);
    GdkPixbuf *pb = gtk_image_get_pixbuf(GTK_IMAGE(gtk_bin_get_child(GTK_BIN(c))));
    assert_int_equal(gdk_pixbuf_get_width(pb), 64); /* 16 px enlarged 4x for the grid */
    const guint8 *px = gdk_pixbuf_get_pixels(pb);
    gint          rs = gdk_pixbuf_get_rowstride(pb);
    assert_int_equal(px[0], 102); /* transparent: the dark check */
    assert_int_equal(px[1], 102);
    assert_int_equal(px[60 * 3 + 0], 200); /* opaque: the pixel itself */
    assert_int_equal(px[60 * 3 + 1], 10);
    assert_int_equal(px[8 * 4 * rs + 4 * 4 * 3], 153); /* (4, 8) in source: the light check */
    cascade_job_image_free(im);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
}

static gboolean press_ok(gpointer ud) {
    gtk_dialog_response(GTK_DIALOG(ud), GTK_RESPONSE_OK);
    return G_SOURCE_REMOVE;
}

/* The converted upscalers (tools/upscalers/fetch.sh) as the default folder; NULL (the test
 * skips) when they are not there. */
static gchar *upscalers_dir(void) {
    const char       *env = getenv("CASCADE_SR_MODELS");
    g_autofree gchar *dir = g_canonicalize_filename(env && *env ? env : "models/upscalers", NULL);
    g_autofree gchar *probe = g_build_filename(dir, "esrgan-slim_x2", "config.json", NULL);
    if (!g_file_test(probe, G_FILE_TEST_IS_REGULAR)) return NULL;
    g_setenv("CASCADE_UPSCALER", dir, TRUE);
    return g_steal_pointer(&dir);
}

static gboolean combo_has(GtkWidget *combo, const char *label) {
    GtkTreeModel *model = gtk_combo_box_get_model(GTK_COMBO_BOX(combo));
    GtkTreeIter   it;
    gboolean      found = FALSE;
    for (gboolean ok = gtk_tree_model_get_iter_first(model, &it); ok && !found;
         ok = gtk_tree_model_iter_next(model, &it)) {
        gchar *text = NULL;
        gtk_tree_model_get(model, &it, 0, &text, -1);
        found = !g_strcmp0(text, label);
        g_free(text);
    }
    return found;
}

static const char *label_text(GtkWidget *dialog, const char *name) {
    return gtk_label_get_text(GTK_LABEL(must_find(dialog, name)));
}

/* Upscale mode: no prompt, no candidates, no Generate; the picker lists the fetched upscalers
 * by name, the factor follows the model, the estimate line shows the result's size for the
 * layer and for the whole image; OK hands back model, factor and source. */
static void test_dialog_upscale_mode(void **state) {
    (void)state;
    g_autofree gchar *models = upscalers_dir();
    if (!models) skip();
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.mode = CASCADE_MODE_UPSCALE;
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    cascade_dialog_set_upscale_sizes(h.dialog, 300, 200, 640, 480);
    gtk_widget_show(dialog);
    assert_false(gtk_widget_get_visible(must_find(dialog, "generate")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "prompt")));
    GtkWidget *picker = must_find(dialog, "upscaler-model");
    assert_true(gtk_widget_is_visible(picker));
    assert_true(combo_has(picker, "ESRGAN slim ×2 (fast)"));
    assert_true(combo_has(picker, "ESRGAN slim ×4 (fast)"));
    /* the recipe's factor 4 and default upscaler: esrgan-slim_x4 */
    g_autofree gchar *slim4 = g_build_filename(models, "esrgan-slim_x4", NULL);
    assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(picker)), slim4);
    assert_true(gtk_widget_is_visible(must_find(dialog, "upscale-estimate")));
    fprintf(stderr, "# %s\n", label_text(dialog, "upscale-estimate"));
    assert_true(g_str_has_prefix(label_text(dialog, "upscale-estimate"), "Output: 1200 × 800 px"));
    g_autofree gchar *slim2 = g_build_filename(models, "esrgan-slim_x2", NULL);
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(picker), slim2);
    assert_true(g_str_has_prefix(label_text(dialog, "upscale-estimate"), "Output: 600 × 400 px"));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(must_find(dialog, "source-visible")), TRUE);
    const char *line = label_text(dialog, "upscale-estimate");
    fprintf(stderr, "# %s\n", line);
    assert_true(g_str_has_prefix(line, "Output: 1280 × 960 px · about "));
    assert_non_null(strstr(line, " · peak memory "));
    assert_false(gtk_widget_is_visible(must_find(dialog, "upscale-warning")));
    screenshot(dialog, "upscale-estimate");
    g_timeout_add(50, press_ok, dialog);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out), GTK_RESPONSE_OK);
    assert_int_equal(out.mode, CASCADE_MODE_UPSCALE);
    assert_int_equal(out.upscale_factor, 2);
    assert_string_equal(out.upscaler_dir, ""); /* the default folder's slim x2: kept default */
    assert_string_equal(out.upscale_source, "visible");
    assert_int_equal(h.starts, 0);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

/* Expand Canvas and Fill: the four margins (the recipe's values in, the edited ones out), the
 * blend settings but not the selection's context margin or the repaint strength, and no
 * candidates (OK runs it). */
static void test_dialog_outpaint_mode(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.mode = CASCADE_MODE_OUTPAINT;
    r.expand_left = 0, r.expand_top = 8, r.expand_right = 64, r.expand_bottom = 0;
    g_free(r.prompt);
    r.prompt = g_strdup("a beach");
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    gtk_widget_show(dialog);
    pump(50);
    static const char *const sides[] = {"expand-left", "expand-top", "expand-right",
                                        "expand-bottom"};
    const int                given[] = {0, 8, 64, 0};
    for (int i = 0; i < 4; i++) {
        GtkWidget *s = must_find(dialog, sides[i]);
        assert_true(gtk_widget_is_visible(s));
        assert_int_equal(gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(s)), given[i]);
    }
    assert_true(gtk_widget_is_visible(must_find(dialog, "prompt")));
    assert_true(gtk_widget_is_visible(must_find(dialog, "feather")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "context-margin")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "inpaint-strength")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "batch")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "generate")));
    assert_string_equal(gtk_window_get_title(GTK_WINDOW(dialog)), "Expand Canvas and Fill");
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(must_find(dialog, "expand-left")), 32);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(must_find(dialog, "expand-right")), 0);
    g_timeout_add(50, press_ok, dialog);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out), GTK_RESPONSE_OK);
    assert_int_equal(out.mode, CASCADE_MODE_OUTPAINT);
    assert_int_equal(out.expand_left, 32);
    assert_int_equal(out.expand_top, 8);
    assert_int_equal(out.expand_right, 0);
    assert_int_equal(out.expand_bottom, 0);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

typedef struct {
    GtkWidget *dialog;
    int        phase, confirms;
} confirm_script;

static GtkWidget *confirm_window(void) {
    GList     *tops = gtk_window_list_toplevels();
    GtkWidget *hit = NULL;
    for (GList *l = tops; l && !hit; l = l->next)
        if (gtk_widget_get_visible(l->data) &&
            !g_strcmp0(gtk_widget_get_name(l->data), "upscale-confirm"))
            hit = l->data;
    g_list_free(tops);
    return hit;
}

/* OK -> the confirmation -> Cancel (the dialog stays) -> OK -> the confirmation -> Upscale
 * Anyway. */
static gboolean confirm_step(gpointer ud) {
    confirm_script *s = ud;
    GtkWidget      *msg = confirm_window();
    switch (s->phase) {
    case 0:
    case 2:
        if (msg) return G_SOURCE_CONTINUE;
        gtk_dialog_response(GTK_DIALOG(s->dialog), GTK_RESPONSE_OK);
        s->phase++;
        return G_SOURCE_CONTINUE;
    case 1:
    case 3:
        if (!msg) return G_SOURCE_CONTINUE;
        s->confirms++;
        gtk_dialog_response(GTK_DIALOG(msg),
                            s->phase == 1 ? GTK_RESPONSE_CANCEL : GTK_RESPONSE_ACCEPT);
        s->phase++;
        return s->phase == 4 ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
    }
    return G_SOURCE_REMOVE;
}

/* A very large job (a 4000 x 3000 image x4: 192 megapixels) is flagged in the dialog, and OK
 * asks first: declined, the dialog stays; confirmed, it hands the recipe back. */
static void test_dialog_upscale_warns_large(void **state) {
    (void)state;
    g_autofree gchar *models = upscalers_dir();
    if (!models) skip();
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.mode = CASCADE_MODE_UPSCALE;
    g_free(r.upscale_source);
    r.upscale_source = g_strdup("visible");
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    cascade_dialog_set_upscale_sizes(h.dialog, 100, 100, 4000, 3000);
    gtk_widget_show(dialog);
    assert_true(
        gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(must_find(dialog, "source-visible"))));
    assert_true(
        g_str_has_prefix(label_text(dialog, "upscale-estimate"), "Output: 16000 × 12000 px"));
    assert_true(gtk_widget_is_visible(must_find(dialog, "upscale-warning")));
    screenshot(dialog, "upscale-warning");
    confirm_script s = {dialog, 0, 0};
    g_timeout_add(50, confirm_step, &s);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out), GTK_RESPONSE_OK);
    assert_int_equal(s.confirms, 2);
    assert_int_equal(s.phase, 4);
    assert_string_equal(out.upscale_source, "visible");
    /* the layer alone is small: no warning */
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(must_find(dialog, "source-layer")), TRUE);
    assert_false(gtk_widget_is_visible(must_find(dialog, "upscale-warning")));
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

/* Variations mode: the prompt and a strength slider (the recipe's value), no inpainting or
 * upscaling settings; OK hands back the strength chosen. */
static void test_dialog_variations_mode(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.mode = CASCADE_MODE_VARIATIONS;
    r.strength = 0.6;
    g_free(r.prompt);
    r.prompt = g_strdup("a red fox");
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    gtk_widget_show(dialog);
    GtkWidget *strength = must_find(dialog, "strength");
    assert_true(gtk_widget_is_visible(must_find(dialog, "prompt")));
    assert_true(gtk_widget_is_visible(strength));
    assert_false(gtk_widget_is_visible(must_find(dialog, "context-margin")));
    assert_false(gtk_widget_is_visible(must_find(dialog, "upscaler-model")));
    assert_true(ABS(gtk_range_get_value(GTK_RANGE(strength)) - 0.6) < 1e-9);
    assert_string_equal(gtk_window_get_title(GTK_WINDOW(dialog)), "Variations of Layer");
    gtk_range_set_value(GTK_RANGE(strength), 0.35);
    g_timeout_add(50, press_ok, dialog);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out), GTK_RESPONSE_OK);
    assert_int_equal(out.mode, CASCADE_MODE_VARIATIONS);
    assert_true(ABS(out.strength - 0.35) < 1e-9);
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
}

/* The Stage III folder (Other settings): shown for Generate only, the recipe's stage3-model
 * in and out, insensitive without stage II. */
static void test_dialog_stage3_folder(void **state) {
    (void)state;
    for (int mode = CASCADE_MODE_GENERATE; mode <= CASCADE_MODE_INPAINT; mode++) {
        test_host h;
        host_init(&h, FALSE);
        CascadeRecipe r = tiny_recipe();
        r.mode = (CascadeMode)mode;
        g_free(r.prompt);
        r.prompt = g_strdup("a red fox");
        g_free(r.stage3_dir);
        r.stage3_dir = g_strdup("/models/x4");
        GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
        gtk_widget_show(dialog);
        gtk_expander_set_expanded(GTK_EXPANDER(must_find(dialog, "advanced")), TRUE);
        pump(50);
        GtkWidget *s3 = must_find(dialog, "stage3-model");
        assert_int_equal(gtk_widget_is_visible(s3), mode == CASCADE_MODE_GENERATE);
        assert_string_equal(gtk_entry_get_text(GTK_ENTRY(s3)), "/models/x4");
        if (mode == CASCADE_MODE_GENERATE) {
            gtk_entry_set_text(GTK_ENTRY(s3), "/models/other-x4");
            gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(must_find(dialog, "stage2")), FALSE);
            assert_false(gtk_widget_is_sensitive(s3));
            g_timeout_add(50, press_ok, dialog);
            CascadeRecipe out;
            cascade_recipe_init(&out);
            assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out),
                             GTK_RESPONSE_OK);
            assert_string_equal(out.stage3_dir, "/models/other-x4");
            cascade_recipe_clear(&out);
        }
        gtk_widget_destroy(dialog);
        host_clear(&h);
        cascade_recipe_clear(&r);
    }
}

/* Generate opened on an image starts from the shape last used on that image (the host's, from
 * the image's parasite), not the recipe's last values, and says so in its tooltip; the preset
 * stays and OK hands the shape back. A shape outside the list joins it; no shape (a new
 * image), text that is no shape (a damaged parasite), and the modes that make no new image
 * keep the recipe's. */
static void test_dialog_image_shape(void **state) {
    (void)state;
    static const struct {
        CascadeMode mode;
        const char *image_shape, *want;
    } cases[] = {
        {CASCADE_MODE_GENERATE, "16:9", "16:9"}, /* image A */
        {CASCADE_MODE_GENERATE, "1:1", "1:1"},   /* image B */
        {CASCADE_MODE_GENERATE, "5:4", "5:4"},   /* not one of the list's */
        {CASCADE_MODE_GENERATE, NULL, "4:3"},    /* a new image: last values */
        {CASCADE_MODE_GENERATE, "wide", "4:3"},  /* not a shape */
        {CASCADE_MODE_GENERATE, "40:1", "4:3"},  /* beyond 8:1 */
        {CASCADE_MODE_INPAINT, "16:9", "4:3"},   /* keeps its source's shape */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_host h;
        host_init(&h, FALSE);
        CascadeRecipe r = tiny_recipe();
        r.mode = cases[i].mode;
        g_free(r.prompt);
        r.prompt = g_strdup("a red fox");
        g_free(r.aspect);
        r.aspect = g_strdup("4:3"); /* the last values' shape */
        g_free(r.preset);
        r.preset = g_strdup("balanced");
        GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
        cascade_dialog_set_image_shape(CASCADE_DIALOG(dialog), cases[i].image_shape);
        gtk_widget_show(dialog);
        pump(50);
        GtkWidget  *aspect = must_find(dialog, "aspect");
        const char *shown = gtk_combo_box_get_active_id(GTK_COMBO_BOX(aspect));
        fprintf(stderr, "# image shape %s: Size shows %s\n",
                cases[i].image_shape ? cases[i].image_shape : "(none)", shown ? shown : "(none)");
        assert_string_equal(shown, cases[i].want);
        gchar   *tip = gtk_widget_get_tooltip_text(aspect);
        gboolean from_image = strcmp(cases[i].want, "4:3") != 0;
        assert_int_equal(tip && strstr(tip, "last used on this image") != NULL, from_image);
        g_free(tip);
        assert_string_equal(gtk_combo_box_get_active_id(GTK_COMBO_BOX(must_find(dialog, "preset"))),
                            "balanced");
        if (cases[i].mode == CASCADE_MODE_GENERATE) {
            g_timeout_add(50, press_ok, dialog);
            CascadeRecipe out;
            cascade_recipe_init(&out);
            assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out),
                             GTK_RESPONSE_OK);
            assert_string_equal(out.aspect, cases[i].want);
            assert_string_equal(out.preset, "balanced");
            cascade_recipe_clear(&out);
        }
        gtk_widget_destroy(dialog);
        host_clear(&h);
        cascade_recipe_clear(&r);
    }
}

/* Upscale mode with the x4 diffusion upscaler as the Upscaler: the prompt it is guided by
 * shows (a GAN upscaler's dialog has none), and OK hands back folder and prompt. */
static void test_dialog_upscale_diffusion_prompt(void **state) {
    (void)state;
    char *x4 = g_root ? tiny_cascade_make_x4(g_root) : NULL;
    if (!x4) skip();
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    r.mode = CASCADE_MODE_UPSCALE;
    GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
    gtk_widget_show(dialog);
    assert_false(gtk_widget_is_visible(must_find(dialog, "prompt")));
    gtk_entry_set_text(GTK_ENTRY(must_find(dialog, "upscaler")), x4);
    assert_true(gtk_widget_is_visible(must_find(dialog, "prompt")));
    set_text(must_find(dialog, "prompt"), "a red fox");
    screenshot(dialog, "upscale-diffusion");
    g_timeout_add(50, press_ok, dialog);
    CascadeRecipe out;
    cascade_recipe_init(&out);
    assert_int_equal(cascade_dialog_run_recipe(CASCADE_DIALOG(dialog), &out), GTK_RESPONSE_OK);
    assert_string_equal(out.upscaler_dir, x4);
    assert_string_equal(out.prompt, "a red fox");
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    cascade_recipe_clear(&out);
    g_free(x4);
}

static void collect_mnemonics(GtkWidget *w, GHashTable *seen, GString *dups) {
    if (!gtk_widget_get_mapped(w)) return;
    if (GTK_IS_LABEL(w) && gtk_label_get_use_underline(GTK_LABEL(w))) {
        guint key = gdk_keyval_to_lower(gtk_label_get_mnemonic_keyval(GTK_LABEL(w)));
        if (key != GDK_KEY_VoidSymbol) {
            const char *other = g_hash_table_lookup(seen, GUINT_TO_POINTER(key));
            if (other)
                g_string_append_printf(dups, "'%s' and '%s'; ", other,
                                       gtk_label_get_label(GTK_LABEL(w)));
            else
                g_hash_table_insert(seen, GUINT_TO_POINTER(key),
                                    (gpointer)gtk_label_get_label(GTK_LABEL(w)));
        }
    }
    if (GTK_IS_CONTAINER(w)) {
        GList *children = gtk_container_get_children(GTK_CONTAINER(w));
        for (GList *l = children; l; l = l->next)
            collect_mnemonics(l->data, seen, dups);
        g_list_free(children);
    }
}

/* Every visible mnemonic of the dialog is a different key, in each mode. */
static void test_dialog_mnemonics_unique(void **state) {
    (void)state;
    for (int mode = CASCADE_MODE_GENERATE; mode <= CASCADE_MODE_OUTPAINT; mode++) {
        test_host h;
        host_init(&h, FALSE);
        CascadeRecipe r = tiny_recipe();
        r.mode = (CascadeMode)mode;
        GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
        gtk_widget_show(dialog);
        pump(100);
        GHashTable *seen = g_hash_table_new(NULL, NULL);
        GString    *dups = g_string_new(NULL);
        collect_mnemonics(dialog, seen, dups);
        if (mode == CASCADE_MODE_INPAINT) screenshot(dialog, "inpaint");
        assert_true(g_hash_table_size(seen) >= (mode == CASCADE_MODE_UPSCALE ? 4u : 15u));
        if (dups->len) fail_msg("mode %d: mnemonic clashes: %s", mode, dups->str);
        g_string_free(dups, TRUE);
        g_hash_table_destroy(seen);
        gtk_widget_destroy(dialog);
        host_clear(&h);
        cascade_recipe_clear(&r);
    }
}

/* What a screen loses to a desktop panel and the window's title bar (GNOME: 27 + 37 px; Xfce
 * and KDE take less): on a 1366 x 768 screen a dialog may be 700 px tall. */
#define SCREEN_CHROME 68

/* How far the settings column scrolls (0: every row shows). */
static double settings_overflow(GtkWidget *dialog) {
    GtkWidget     *sw = must_find(dialog, "settings-scroll");
    GtkAdjustment *a = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(sw));
    return gtk_adjustment_get_upper(a) - gtk_adjustment_get_page_size(a);
}

/* A settings column that scrolls shows its scrollbar: rows cut off at the bottom with no
 * scrollbar looked like the end of the dialog. */
static void assert_scroll_visible(GtkWidget *dialog, const char *name) {
    double overflow = settings_overflow(dialog);
    if (overflow <= 0) return;
    GtkWidget *sw = must_find(dialog, "settings-scroll");
    GtkWidget *bar = gtk_scrolled_window_get_vscrollbar(GTK_SCROLLED_WINDOW(sw));
    fprintf(stderr, "# %s: settings scroll by %.0f px\n", name, overflow);
    assert_false(gtk_scrolled_window_get_overlay_scrolling(GTK_SCROLLED_WINDOW(sw)));
    assert_true(gtk_widget_get_mapped(bar) && gtk_widget_get_allocated_width(bar) > 0);
}

/* Each of the five dialogs fits the screen the test runs on (xvfb-run's -screen; 1366 x 768 in
 * ui.dialog, 1920 x 1080 in ui.dialog-large) at its natural size, so its buttons are on
 * screen, also with Other settings open; a column that scrolls shows its scrollbar; on a
 * screen 1000 px or taller no settings column scrolls with Other settings folded. A
 * screenshot of each is saved. */
static void test_dialog_fits_screen(void **state) {
    (void)state;
    static const char *const names[] = {"generate", "inpaint", "upscale", "variations", "outpaint"};
    GdkRectangle             area = screen_area();
    gint                     budget_h = area.height - SCREEN_CHROME;
    fprintf(stderr, "# screen work area %d x %d: a dialog may be %d px tall\n", area.width,
            area.height, budget_h);
    for (int mode = CASCADE_MODE_GENERATE; mode <= CASCADE_MODE_OUTPAINT; mode++) {
        test_host h;
        host_init(&h, FALSE);
        CascadeRecipe r = tiny_recipe();
        r.mode = (CascadeMode)mode;
        GtkWidget *dialog = cascade_dialog_new(&r, &h.base, NULL);
        gtk_widget_show(dialog);
        pump(200);
        gint min_h = 0, nat_h = 0, min_w = 0, nat_w = 0;
        gtk_widget_get_preferred_height(dialog, &min_h, &nat_h);
        gtk_widget_get_preferred_width(dialog, &min_w, &nat_w);
        fprintf(stderr, "# %s dialog: natural %d x %d px, minimum %d x %d\n", names[mode], nat_w,
                nat_h, min_w, min_h);
        gtk_window_resize(GTK_WINDOW(dialog), nat_w, nat_h);
        pump(200);
        /* guidance left to the model, the automatic feather and tile read "auto", not an
         * empty field, a -1 or a 0 */
        assert_string_equal(gtk_entry_get_text(GTK_ENTRY(must_find(dialog, "guidance1"))), "auto");
        assert_string_equal(gtk_entry_get_text(GTK_ENTRY(must_find(dialog, "feather"))), "auto");
        assert_string_equal(gtk_entry_get_text(GTK_ENTRY(must_find(dialog, "tile"))), "auto");
        screenshot(dialog, names[mode]);
        if (nat_h > budget_h || nat_w > area.width)
            fail_msg("the %s dialog is %d x %d px: it does not fit %d x %d", names[mode], nat_w,
                     nat_h, area.width, area.height);
        assert_scroll_visible(dialog, names[mode]);
        if (area.height >= 1000 && settings_overflow(dialog) > 0)
            fail_msg("the %s dialog's settings scroll on a %d px tall screen", names[mode],
                     area.height);
        /* with the rarely used settings open it still fits: the settings scroll */
        gtk_expander_set_expanded(GTK_EXPANDER(must_find(dialog, "advanced")), TRUE);
        pump(100);
        gtk_widget_get_preferred_height(dialog, &min_h, &nat_h);
        fprintf(stderr, "# %s dialog, Other settings open: natural height %d px\n", names[mode],
                nat_h);
        gtk_window_resize(GTK_WINDOW(dialog), nat_w, nat_h);
        pump(200);
        assert_scroll_visible(dialog, names[mode]);
        if (mode == CASCADE_MODE_INPAINT) screenshot(dialog, "inpaint-open");
        if (nat_h > budget_h)
            fail_msg("the %s dialog with Other settings open is %d px tall", names[mode], nat_h);
        gtk_widget_destroy(dialog);
        host_clear(&h);
        cascade_recipe_clear(&r);
    }
}

/* A Vulkan device that is the CPU (lavapipe) says so in the device list. */
static void test_dialog_cpu_vulkan_named(void **state) {
    (void)state;
    test_host h;
    host_init(&h, FALSE);
    CascadeRecipe r = tiny_recipe();
    GtkWidget    *dialog = cascade_dialog_new(&r, &h.base, NULL);
    GtkTreeModel *model = gtk_combo_box_get_model(GTK_COMBO_BOX(must_find(dialog, "backend")));
    GtkTreeIter   it;
    int           cpu_devices = 0;
    for (gboolean ok = gtk_tree_model_get_iter_first(model, &it); ok;
         ok = gtk_tree_model_iter_next(model, &it)) {
        gchar *label = NULL, *id = NULL;
        gtk_tree_model_get(model, &it, 0, &label, 1, &id, -1);
        if (id && g_str_has_prefix(id, "vulkan:") && strstr(id, "llvmpipe")) {
            fprintf(stderr, "# device entry: %s\n", label);
            assert_non_null(strstr(label, "CPU emulation, slow"));
            cpu_devices++;
        }
        g_free(label), g_free(id);
    }
    gtk_widget_destroy(dialog);
    host_clear(&h);
    cascade_recipe_clear(&r);
    if (!cpu_devices) skip(); /* no lavapipe here */
}

static int setup(void **state) {
    (void)state;
    g_root = tiny_cascade_make();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (g_root) tiny_cascade_rm_tree(g_root);
    free(g_root);
    return 0;
}

int main(int argc, char **argv) {
    /* cmocka 1.1's "not ok # SKIP" reads as a failure to meson 1.0: skip with a TAP plan */
    if (!gtk_init_check(&argc, &argv)) {
        printf("1..0 # SKIP no display (run under xvfb-run)\n");
        return 0;
    }
    char *user = test_make_tmpdir(); /* the user's presets: none, and never the real ones */
    g_setenv("CASCADE_USER_PRESETS_DIR", user, TRUE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialog_generate_pick_ok),
        cmocka_unit_test(test_dialog_escape_cancels_then_closes),
        cmocka_unit_test(test_dialog_enter_generates),
        cmocka_unit_test(test_dialog_presets_and_seed),
        cmocka_unit_test(test_dialog_style_presets_apart),
        cmocka_unit_test(test_dialog_seed_random_shows_no_number),
        cmocka_unit_test(test_dialog_upscale_mode),
        cmocka_unit_test(test_dialog_upscale_warns_large),
        cmocka_unit_test(test_dialog_variations_mode),
        cmocka_unit_test(test_dialog_outpaint_mode),
        cmocka_unit_test(test_dialog_stage3_folder),
        cmocka_unit_test(test_dialog_image_shape),
        cmocka_unit_test(test_dialog_upscale_diffusion_prompt),
        cmocka_unit_test(test_dialog_mnemonics_unique),
        cmocka_unit_test(test_dialog_save_user_preset),
        cmocka_unit_test(test_dialog_rgba_candidate),
        cmocka_unit_test(test_dialog_fits_screen),
        cmocka_unit_test(test_dialog_cpu_vulkan_named),
        cmocka_unit_test(test_dialog_prompt_menu),
    };
    int rc = cmocka_run_group_tests_name("dialog", tests, setup, teardown);
    g_rmdir(user);
    free(user);
    return rc;
}
