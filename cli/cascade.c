#include "cascade.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"generate", "make images from a text prompt (the IF cascade, or a Stable Diffusion folder)", cmd_generate},
    {"inpaint", "repaint the masked part of a PNG from a text prompt", cmd_inpaint},
    {"img2img", "make variations of a PNG from a text prompt (image-to-image)", cmd_img2img},
    {"tokenize", "print the T5 or CLIP token ids of a text as a JSON array", cmd_tokenize},
    {"encode", "encode a prompt with a text encoder into a safetensors file", cmd_encode},
    {"forward", "run one model component on named input tensors", cmd_forward},
    {"bench", "time a component's forward pass and report memory, as JSON", cmd_bench},
    {"devices", "list the Vulkan devices with memory and features", cmd_devices},
    {"convert", "convert a TensorFlow.js layers model (UpscalerJS) to config.json + safetensors", cmd_convert},
    {"upscale", "enlarge a PNG with a GAN or the x4 diffusion upscaler, tile by tile", cmd_upscale},
};

int cli_fail(const char *cmd, const cascade_error *err) {
    fprintf(stderr, "cascade %s: %s\n", cmd, err->message[0] ? err->message : "failed");
    return 1;
}

int cli_failf(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "cascade %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

bool cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

static void usage(FILE *f) {
    fprintf(f, "usage: cascade COMMAND [OPTIONS] ...\n\n"
               "Text-to-image with a cascaded diffusion model (gimp-cascade's engine).\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'cascade COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cascade %s\n", CASCADE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cascade: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
