/* The `cascade` command: one file per subcommand (cmd-<name>.c), dispatched by cascade.c. */
#ifndef CASCADE_CLI_H
#define CASCADE_CLI_H

#include <stdbool.h>

#include "cascade/status.h"

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `cascade --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; returns exit code */
} cli_command;

/* Prints "cascade NAME: message" to stderr and returns 1 (for `return cli_fail(...)`). */
int cli_fail(const char *cmd, const cascade_error *err);
int cli_failf(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv[i] is -h/--help. */
bool cli_is_help(const char *arg);

int cmd_generate(int argc, char **argv);
int cmd_inpaint(int argc, char **argv);
int cmd_img2img(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_upscale(int argc, char **argv);

#endif
