/* Outpainting geometry (job/cascade-outpaint.h): the mask is 255 on exactly the new border
 * and fades to 0 across the overlap; the boxes stay inside the grown canvas, cover every
 * masked pixel, are square where the canvas allows and never larger than they need be. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "cascade-outpaint.h"

/* Every pixel whose mask is above 0 lies in some box; every box is inside the canvas. */
static void assert_covered(const CascadeOutpaint *g) {
    gint    W = cascade_outpaint_width(g), H = cascade_outpaint_height(g);
    GArray *boxes = cascade_outpaint_boxes(g);
    assert_true(boxes->len > 0);
    for (guint k = 0; k < boxes->len; k++) {
        const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, k);
        assert_true(b->x >= 0 && b->y >= 0 && b->width > 0 && b->height > 0);
        assert_true(b->x + b->width <= W && b->y + b->height <= H);
    }
    for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++) {
            if (!cascade_outpaint_mask_at(g, x, y)) continue;
            gboolean in = FALSE;
            for (guint k = 0; k < boxes->len && !in; k++) {
                const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, k);
                in = x >= b->x && x < b->x + b->width && y >= b->y && y < b->y + b->height;
            }
            if (!in) fail_msg("pixel %d,%d is masked but in no box", x, y);
        }
    g_array_unref(boxes);
}

static void test_outpaint_mask(void **state) {
    (void)state;
    CascadeOutpaint g;
    cascade_outpaint_init(&g, 100, 80, 0, 0, 40, 0); /* 40 px on the right */
    assert_int_equal(cascade_outpaint_width(&g), 140);
    assert_int_equal(cascade_outpaint_height(&g), 80);
    assert_int_equal(g.overlap[2], 4); /* a tenth of the margin */
    assert_int_equal(g.overlap[0], 0);
    for (gint y = 0; y < 80; y += 7) {
        for (gint x = 100; x < 140; x++)
            assert_int_equal(cascade_outpaint_mask_at(&g, x, y), 255);
        /* the overlap: strictly falling from the old edge inward, then 0 */
        assert_int_equal(cascade_outpaint_mask_at(&g, 99, y), 255 * 4 / 5);
        for (gint x = 96; x < 99; x++)
            assert_true(cascade_outpaint_mask_at(&g, x, y) <
                        cascade_outpaint_mask_at(&g, x + 1, y));
        assert_true(cascade_outpaint_mask_at(&g, 96, y) > 0);
        for (gint x = 0; x < 96; x++)
            assert_int_equal(cascade_outpaint_mask_at(&g, x, y), 0);
    }
    /* several sides: the corners between two new strips are border too */
    cascade_outpaint_init(&g, 50, 50, 10, 6, 0, 20);
    assert_int_equal(cascade_outpaint_mask_at(&g, 0, 0), 255);
    assert_int_equal(cascade_outpaint_mask_at(&g, 69, 85), 255);
    assert_int_equal(cascade_outpaint_mask_at(&g, 59, 6 + 25), 0); /* the right: no margin */
    assert_int_equal(cascade_outpaint_mask_at(&g, 35, 30), 0);
    assert_int_equal(g.overlap[0], 2);                          /* at least 2 */
    assert_int_equal(cascade_outpaint_overlap(1000, 4000), 64); /* at most 64 */
    assert_int_equal(cascade_outpaint_overlap(100, 20), 5);     /* a quarter of the old */
    assert_int_equal(cascade_outpaint_overlap(0, 100), 0);
}

/* A 256 px canvas grown 64 on the right is one square box: the new strip and 192 px of
 * the old content, at the model's own size. */
static void test_outpaint_one_box(void **state) {
    (void)state;
    CascadeOutpaint g;
    cascade_outpaint_init(&g, 256, 256, 0, 0, 64, 0);
    GArray *boxes = cascade_outpaint_boxes(&g);
    assert_int_equal(boxes->len, 1);
    CascadeOutpaintBox b = g_array_index(boxes, CascadeOutpaintBox, 0);
    assert_int_equal(b.x, 64);
    assert_int_equal(b.y, 0);
    assert_int_equal(b.width, 256);
    assert_int_equal(b.height, 256);
    g_array_unref(boxes);
    assert_covered(&g);
}

/* A long border is several square boxes of the model's size along the side, not one
 * squashed strip; a margin over half the model's edge makes boxes twice the margin. */
static void test_outpaint_long_side(void **state) {
    (void)state;
    CascadeOutpaint g;
    cascade_outpaint_init(&g, 1024, 768, 0, 0, 0, 100);
    GArray *boxes = cascade_outpaint_boxes(&g);
    assert_int_equal(boxes->len, 5); /* 1024 px in 256 px boxes overlapping by >= 64 */
    for (guint k = 0; k < boxes->len; k++) {
        const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, k);
        assert_int_equal(b->width, 256);
        assert_int_equal(b->height, 256);
        assert_int_equal(b->y, 868 - 256);
        if (k) {
            const CascadeOutpaintBox *a = &g_array_index(boxes, CascadeOutpaintBox, k - 1);
            assert_true(a->x + a->width - b->x >= 64);
        }
    }
    assert_int_equal(g_array_index(boxes, CascadeOutpaintBox, 4).x, 1024 - 256);
    g_array_unref(boxes);
    assert_covered(&g);

    cascade_outpaint_init(&g, 1000, 1000, 300, 0, 0, 0);
    boxes = cascade_outpaint_boxes(&g);
    const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, 0);
    assert_int_equal(b->width, 600);
    assert_int_equal(b->height, 600);
    assert_int_equal(b->x, 0);
    g_array_unref(boxes);
    assert_covered(&g);
}

/* Small canvases: the box is the whole grown canvas; a thin banner's box is no deeper than
 * twice its height unless the margin needs it; all four sides at once stay covered. */
static void test_outpaint_small_and_thin(void **state) {
    (void)state;
    CascadeOutpaint g;
    cascade_outpaint_init(&g, 32, 24, 8, 4, 8, 4);
    GArray *boxes = cascade_outpaint_boxes(&g);
    for (guint k = 0; k < boxes->len; k++) {
        const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, k);
        assert_true(b->x == 0 && b->y == 0 && b->width == 48 && b->height == 32);
    }
    g_array_unref(boxes);
    assert_covered(&g);

    cascade_outpaint_init(&g, 400, 64, 0, 0, 40, 0);
    boxes = cascade_outpaint_boxes(&g);
    assert_int_equal(boxes->len, 1);
    const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, 0);
    assert_int_equal(b->height, 64);
    assert_int_equal(b->width, 128);
    assert_int_equal(b->x, 440 - 128);
    g_array_unref(boxes);
    assert_covered(&g);

    cascade_outpaint_init(&g, 300, 200, 17, 300, 5, 1);
    assert_covered(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outpaint_mask),
        cmocka_unit_test(test_outpaint_one_box),
        cmocka_unit_test(test_outpaint_long_side),
        cmocka_unit_test(test_outpaint_small_and_thin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
