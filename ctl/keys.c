/* Unseal material read by vaultctl: a passphrase (no-echo prompt or stdin)
 * or a key file, always into guarded memory. */
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "input.h"
#include "keyring.h"

int keys_read_passphrase(bool from_stdin, struct secbuf **ret)
{
	struct secbuf *pass = NULL;
	int r;
	if (from_stdin) {
		r = input_read_fd(STDIN_FILENO, INPUT_MAX_PASSPHRASE, &pass);
		if (r == 0)
			input_chomp(pass);
	} else {
		r = input_tty_secret("Passphrase: ", INPUT_MAX_PASSPHRASE, &pass);
	}
	if (r == -ENXIO) {
		ctl_err(
		    "no terminal to ask for the passphrase: use --passphrase-stdin or --key-file");
		return CTL_USAGE;
	}
	if (r == -EFBIG) {
		ctl_err("passphrase longer than %d bytes", INPUT_MAX_PASSPHRASE);
		return CTL_USAGE;
	}
	if (r < 0) {
		ctl_err("cannot read the passphrase: %s", strerror(-r));
		return CTL_ERROR;
	}
	if (pass->len == 0) {
		secbuf_free(pass);
		ctl_err("empty passphrase");
		return CTL_USAGE;
	}
	*ret = pass;
	return CTL_OK;
}

/* Reads a key file into *ret (a secbuf of KEYFILE_BYTES). Returns an exit code. */
int keys_read_key_file(const char *path, struct secbuf **ret)
{
	int r = kek_from_keyfile(path, ret);
	if (r == 0)
		return CTL_OK;
	if (r == -EPERM)
		ctl_err("key file %s is readable by group or others: run `chmod 600 %s`", path,
		        path);
	else if (r == -EINVAL)
		ctl_err("key file %s must be a regular file of exactly %d bytes", path,
		        KEYFILE_BYTES);
	else
		ctl_err("cannot read key file %s: %s", path, strerror(-r));
	return r == -EACCES ? CTL_DENIED : CTL_ERROR;
}
