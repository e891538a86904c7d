/* Where `set` and `rotate` take a value from: --file, stdin when it is not a
 * terminal, else a no-echo prompt asked twice. Never from argv. */
#include "value_source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "input.h"
#include "names.h"
#include "seal.h"

static int read_error(const char *what, int r)
{
	if (r == -EFBIG)
		ctl_err("the value from %s is larger than %u KiB, the most vaultd stores", what,
		        VAULT_MAX_VALUE_BYTES / 1024);
	else if (r == -ENXIO)
		ctl_err("no terminal to ask for the value: pipe it on stdin or use --file");
	else
		ctl_err("cannot read the value from %s: %s", what, strerror(-r));
	return r == -EFBIG || r == -ENXIO ? CTL_USAGE : CTL_ERROR;
}

/* Asks twice on the terminal; the two answers must match. */
static int prompt_twice(const char *name, struct secbuf **ret)
{
	char prompt[VAULT_MAX_NAME_LEN + 32];
	snprintf(prompt, sizeof(prompt), "Value for %s: ", name);
	int r = input_tty_secret_twice(prompt, "Repeat the value: ", INPUT_MAX_TTY_LINE, ret);
	if (r == -ENODATA) {
		ctl_err("empty value: nothing was written");
		return CTL_USAGE;
	}
	if (r == -EBADMSG) {
		ctl_err("the two values differ: nothing was written");
		return CTL_USAGE;
	}
	return r < 0 ? read_error("the terminal", r) : CTL_OK;
}

int value_read(const char *name, const char *file, struct secbuf **ret)
{
	int r;
	if (file && strcmp(file, "-") != 0) {
		r = input_read_file(file, VAULT_MAX_VALUE_BYTES, ret);
		return r < 0 ? read_error(file, r) : CTL_OK;
	}
	if (file || !input_stdin_is_tty()) {
		r = input_read_fd(STDIN_FILENO, VAULT_MAX_VALUE_BYTES, ret);
		return r < 0 ? read_error("stdin", r) : CTL_OK;
	}
	return prompt_twice(name, ret);
}
