/* The start of a store's life: `vaultd init` never overwrites a store (nor
 * makes a key for one it refused). How serve stops is in it_endpoints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* A file's bytes and identity, to prove a refused init touched nothing. */
struct snap {
	char *bytes;
	size_t len;
	ino_t ino;
};

static void snap_take(struct snap *s, const char *path)
{
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	s->ino = st.st_ino;
	s->bytes = slurp(path, &s->len);
	ck_assert_msg(s->bytes != NULL, "reading %s", path);
}

static void expect_unchanged(const struct snap *before, const char *path, const char *after_what)
{
	struct snap now;
	snap_take(&now, path);
	ck_assert_msg(now.ino == before->ino && now.len == before->len &&
	                  memcmp(now.bytes, before->bytes, now.len) == 0,
	              "%s changed after %s (inode %lu -> %lu, %zu -> %zu bytes)", path, after_what,
	              (unsigned long)before->ino, (unsigned long)now.ino, before->len, now.len);
	sodium_memzero(now.bytes, now.len);
	free(now.bytes);
}

static void snap_free(struct snap *s)
{
	sodium_memzero(s->bytes, s->len);
	free(s->bytes);
}

/* Runs vaultd init with argv's tail; expects a failure told in one line that
 * names the store. */
static void expect_init_refused(const struct vd *v, const char *const *args, const char *in,
                                const char *what)
{
	const char *argv[8] = {bin_path("VAULTD_BIN", NULL), "init"};
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 7; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *out = NULL;
	int rc = run_cmd(argv, in, &out);
	ck_assert_msg(rc != 0, "%s: init on an existing store exited 0: %s", what, out);
	size_t len = strlen(out);
	char *nl = strchr(out, '\n');
	ck_assert_msg(len > 1 && nl == out + len - 1, "%s: expected a one-line error, got \"%s\"",
	              what, out);
	ck_assert_msg(strstr(out, v->store), "%s: the error should name the store %s: %s", what,
	              v->store, out);
	free(out);
}

START_TEST(test_second_init_refuses_and_leaves_store_and_key_as_they_were)
{
	struct vd v;
	vd_prepare(&v, "reinit");
	vd_init_keyfile(&v);
	struct snap store, key;
	snap_take(&store, v.store);
	snap_take(&key, v.key);

	const char *same[] = {"--store", v.store, "--key-file", v.key, NULL};
	expect_init_refused(&v, same, NULL, "same --key-file");
	expect_unchanged(&store, v.store, "a second init");
	expect_unchanged(&key, v.key, "a second init");

	/* A key file named for the first time is not generated for a store that
	 * is not going to be made. */
	char *fresh = xfmt("%s/another.key", v.dir);
	const char *newkey[] = {"--store", v.store, "--key-file", fresh, NULL};
	expect_init_refused(&v, newkey, NULL, "a new --key-file");
	ck_assert_msg(access(fresh, F_OK) != 0, "a refused init created the key file %s", fresh);
	expect_unchanged(&store, v.store, "init with a new --key-file");

	const char *pass[] = {"--store", v.store,       "--passphrase-stdin",
	                      "--kdf",   "interactive", NULL};
	expect_init_refused(&v, pass, "a passphrase\n", "--passphrase-stdin");
	expect_unchanged(&store, v.store, "init --passphrase-stdin");
	expect_unchanged(&key, v.key, "init --passphrase-stdin");

	/* The store is still the one the key opens. */
	vd_start(&v);
	struct vresp r;
	vd_call(&v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&v), 0);
	free(fresh);
	snap_free(&store);
	snap_free(&key);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd lifecycle");
	TCase *tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_second_init_refuses_and_leaves_store_and_key_as_they_were);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
