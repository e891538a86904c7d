/* Unseal material read by vaultctl: a passphrase (no-echo prompt or stdin)
 * or a key file, always into guarded memory, and the JSON body that carries
 * it to vaultd (unseal, rekey). */
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "input.h"
#include "jsonx.h"
#include "keyring.h"

/* The exit code for reading a passphrase (r from input_*, pass the result
 * when r is 0); no_tty_fix names the options that need no terminal. */
static int passphrase_result(int r, struct secbuf *pass, const char *no_tty_fix,
                             struct secbuf **ret)
{
	if (r == 0 && pass->len == 0) {
		secbuf_free(pass);
		r = -ENODATA;
	}
	switch (r) {
	case 0:
		*ret = pass;
		return CTL_OK;
	case -ENODATA:
		ctl_err("empty passphrase");
		return CTL_USAGE;
	case -EBADMSG:
		ctl_err("the two passphrases differ: nothing was changed");
		return CTL_USAGE;
	case -ENXIO:
		ctl_err("no terminal to ask for the passphrase: use %s", no_tty_fix);
		return CTL_USAGE;
	case -EFBIG:
		ctl_err("passphrase longer than %d bytes", INPUT_MAX_PASSPHRASE);
		return CTL_USAGE;
	default:
		ctl_err("cannot read the passphrase: %s", strerror(-r));
		return CTL_ERROR;
	}
}

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
	return passphrase_result(r, pass, "--passphrase-stdin or --key-file", ret);
}

int keys_read_new_passphrase(bool from_stdin, struct secbuf **ret)
{
	if (from_stdin)
		return keys_read_passphrase(true, ret);
	struct secbuf *pass = NULL;
	int r =
	    input_tty_secret_twice("New passphrase: ", "Repeat it: ", INPUT_MAX_PASSPHRASE, &pass);
	return passphrase_result(r, pass, "--new-passphrase-stdin or --new-key-file", ret);
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

int keys_json_body(const struct secbuf *secret, bool is_key, json_t **ret)
{
	struct secbuf *b64 = NULL;
	json_t *s = NULL;
	if (is_key) {
		b64 = b64_encode_secret(secret->data, secret->len);
		s = b64 ? json_string((const char *)b64->data) : NULL;
		secbuf_free(b64);
	} else {
		s = json_stringn((const char *)secret->data, secret->len);
		if (!s) {
			ctl_err("the passphrase must be UTF-8 text without NUL bytes");
			return CTL_USAGE;
		}
	}
	json_t *body = s ? json_object() : NULL;
	if (!body)
		json_decref(s);
	/* json_object_set_new takes s even when it fails. */
	if (!body || json_object_set_new(body, is_key ? "key" : "passphrase", s) < 0) {
		json_decref(body);
		ctl_err("out of memory");
		return CTL_ERROR;
	}
	*ret = body;
	return CTL_OK;
}
