/* The image commands on Stable Diffusion folders (cmd-sd.c). */
#ifndef CASCADE_CLI_CMD_SD_H
#define CASCADE_CLI_CMD_SD_H

#include <stdbool.h>

/* True when the arguments' --model names a Stable Diffusion folder (model_index.json). */
bool cli_args_name_sd_model(int argc, char **argv);
/* cmd: "generate", "inpaint", "img2img" or "upscale"; argv[0] is the subcommand. */
int cli_sd_main(const char *cmd, int argc, char **argv);

#endif
