/* GeglBuffer <-> CascadeImage: 8-bit non-linear sRGB (R'G'B'[A] u8), the form the engine
 * takes, whatever the drawable's own precision or base type (babl converts). Reads and
 * writes touch only the rectangle asked for, so a caller can stream a huge drawable in
 * bands and keep memory bounded. */
#include "config-plugin.h"

#include <gegl.h>

#include "cascade-plugin.h"

static const Babl *format_of(gint channels) {
    switch (channels) {
    case 1: return babl_format("Y' u8");
    case 3: return babl_format("R'G'B' u8");
    default: return babl_format("R'G'B'A u8");
    }
}

static CascadeImage *read_rect(gint32 id, gint x, gint y, gint w, gint h, gint channels) {
    CascadeImage *image = cascade_job_image_new(w, h, channels); /* zeroed: outside = 0 */
    GeglBuffer   *buffer = gimp_drawable_get_buffer(id);
    if (!buffer) return image;
    gegl_buffer_get(buffer, GEGL_RECTANGLE(x, y, w, h), 1.0, format_of(channels), image->pixels,
                    (gint)w * channels, GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return image;
}

CascadeImage *cascade_drawable_read(gint32 drawable, gint x, gint y, gint w, gint h,
                                    gint channels) {
    return read_rect(drawable, x, y, w, h, channels == 3 ? 3 : 4);
}

CascadeImage *cascade_channel_read(gint32 channel, gint x, gint y, gint w, gint h) {
    /* a selection/channel's values are coverage, not colour: read them linear ("Y u8") so a
     * 50 % feather gives 128 */
    CascadeImage *image = cascade_job_image_new(w, h, 1);
    GeglBuffer   *buffer = gimp_drawable_get_buffer(channel);
    if (!buffer) return image;
    gegl_buffer_get(buffer, GEGL_RECTANGLE(x, y, w, h), 1.0, babl_format("Y u8"), image->pixels, w,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return image;
}

void cascade_drawable_write(gint32 drawable, gint x, gint y, const CascadeImage *image) {
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    if (!buffer) return;
    gegl_buffer_set(buffer, GEGL_RECTANGLE(x, y, image->width, image->height), 0,
                    format_of(image->channels), image->pixels, image->width * image->channels);
    gegl_buffer_flush(buffer);
    g_object_unref(buffer);
    gimp_drawable_update(drawable, x, y, image->width, image->height);
}

void cascade_channel_write(gint32 channel, gint x, gint y, const CascadeImage *mask) {
    GeglBuffer *buffer = gimp_drawable_get_buffer(channel);
    if (!buffer) return;
    gegl_buffer_set(buffer, GEGL_RECTANGLE(x, y, mask->width, mask->height), 0, babl_format("Y u8"),
                    mask->pixels, mask->width);
    gegl_buffer_flush(buffer);
    g_object_unref(buffer);
    gimp_drawable_update(channel, x, y, mask->width, mask->height);
}
