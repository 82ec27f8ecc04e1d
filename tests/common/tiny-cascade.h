/* A two-stage model assembled from the golden cases (symlinks into ../shared/golden): the T5
 * tokenizer and encoder, the IF stage I pipeline's U-Net and scheduler (16 px), the IF
 * stage II pipeline (32 px). */
#ifndef TINY_CASCADE_H
#define TINY_CASCADE_H

/* The cascade's root in a new temp folder (malloc'd), or NULL when the golden files are not
 * there. */
char *tiny_cascade_make(void);
/* An x4 diffusion upscaler folder (StableDiffusionUpscalePipeline: the golden upscaler with
 * the SD case's CLIP tokenizer and text encoder) made as root/x4; its path (g_free), or NULL
 * when the golden files are not there. */
char *tiny_cascade_make_x4(const char *root);
/* Removes a folder tree (symlinks are removed, not followed). */
void tiny_cascade_rm_tree(const char *path);

#endif
