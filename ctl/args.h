/* Command-line parsing for vaultctl: a reentrant option scanner (long and
 * short options, mixed with operands, "--" ends options), the per-command
 * spec that drives --help, and parsers for numbers, durations and labels. */
#ifndef VAULTCTL_ARGS_H
#define VAULTCTL_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARGS_ERR_MAX 256
#define ARGS_MAX_OPERANDS 8

struct args_opt {
	const char *name; /* long name without "--"; NULL ends a table */
	char short_name;  /* 0 when there is none */
	bool has_arg;
	int id;               /* > 0; what args_next returns for it */
	const char *arg_name; /* for --help: "N", "FILE" */
	const char *help;     /* one line for --help */
};

/* What args_next returns besides an option id. */
enum {
	ARGS_DONE = 0,
	ARGS_OPERAND = -1, /* a->arg is the operand */
	ARGS_ERROR = -2,   /* a->err says what is wrong */
};

struct args {
	int argc;
	char **argv;
	int i;               /* next argv index to look at */
	const char *cluster; /* rest of a "-abc" cluster being scanned */
	bool operands_only;  /* after "--" */
	const struct args_opt *tables[2];
	const char *arg; /* value of the option just returned, or the operand */
	char err[ARGS_ERR_MAX];
};

/* Scans argv[1..argc-1] (argv[0] is the command) against the options of
 * table1 then table2 (either may be NULL). */
void args_init(struct args *a, int argc, char **argv, const struct args_opt *table1,
               const struct args_opt *table2);
/* The next option id, ARGS_OPERAND, ARGS_DONE or ARGS_ERROR. Accepts
 * --name, --name=value, --name value, -n value, -nvalue and clusters of
 * flags (-ab). An argument that starts with '-' is an operand when it is
 * exactly "-" (stdin) or comes after "--". */
int args_next(struct args *a);

/* Options every command accepts (handled by cmd_parse in ctl.h). */
enum {
	COMMON_OPT_SOCKET = 1000,
	COMMON_OPT_TOKEN_FILE,
	COMMON_OPT_JSON,
	COMMON_OPT_HELP,
};
extern const struct args_opt common_opts[];

/* Unsigned decimal in [min, max], nothing else (no sign, no spaces, no
 * trailing junk). 0 or -EINVAL / -ERANGE; *ret untouched on failure. */
int args_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* A duration: plain seconds ("90") or a sum of number+unit parts with
 * units s, m, h, d, w ("1h30m", "7d"). 0 or -EINVAL / -ERANGE. */
int args_parse_duration(const char *s, int64_t *ret_seconds);
/* "key=value" with a non-empty key: *ret_key_len is the key's length and
 * *ret_value points after the '='. -EINVAL when there is no '=' or no key. */
int args_split_label(const char *s, size_t *ret_key_len, const char **ret_value);

/* What --help prints for one command and what its operands are. */
struct cmd_spec {
	const char *name;    /* "get", "token create" */
	const char *usage;   /* operands and options after the name */
	const char *summary; /* one line */
	const char *details; /* paragraphs after the options, or NULL */
	const struct args_opt *opts;
	int min_operands, max_operands;
	bool json_output; /* --json is meaningful */
};

/* Prints the command's help (usage, summary, options, common options). */
void cmd_help(const struct cmd_spec *s, FILE *out);
/* The exit codes (enum ctl_exit in ctl.h) as every --help lists them. */
#define CTL_EXIT_CODES_HELP                                                                        \
	"Exit codes:\n"                                                                            \
	"  0  ok\n"                                                                                \
	"  1  error\n"                                                                             \
	"  2  usage error\n"                                                                       \
	"  3  not found (secret, version, token, policy)\n"                                        \
	"  4  permission denied (token, policy, socket permissions, wrong unseal key)\n"           \
	"  5  vaultd is sealed or cannot be reached\n"                                             \
	"  6  conflict (check-and-set; a store another vaultd or vaultctl holds)\n"
/* Prints "vaultctl NAME: <message>" and a hint to use --help on stderr;
 * returns the usage exit code so callers can `return cmd_usage(...)`. */
int cmd_usage(const struct cmd_spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
