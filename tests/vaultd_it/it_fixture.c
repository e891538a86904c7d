/* The integration suite's fixture: `setup ROOTFILE` makes the directory all
 * vaultd_it tests write under; `canary ROOTFILE` runs after all of them and
 * proves no canary value, plain or base64, reached any file there (db, wal,
 * shm, daemon logs, audit logs, backups). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* ROOTFILE.done names the root a passing canary scanned and removed: ctest
 * --repeat runs each fixture test again on its own, and a second canary run
 * must not mistake that for "the tests did not run". */
static void done_path(char *out, const char *rootfile)
{
	snprintf(out, VD_PATH_MAX, "%s.done", rootfile);
}

/* The root an earlier setup made, when no test has written to it yet (a
 * repeated setup): removed, so that repeats leave nothing in /tmp. rmdir only
 * removes an empty directory, so a root kept for inspection stays. */
static void drop_unused_root(const char *rootfile)
{
	size_t n = 0;
	char *old = slurp(rootfile, &n);
	if (!old)
		return;
	while (n > 0 && (old[n - 1] == '\n' || old[n - 1] == ' '))
		old[--n] = 0;
	if (strncmp(old, "/tmp/vaultd-it.", 15) == 0 && rmdir(old) == 0)
		printf("removed the unused suite directory %s of an earlier setup\n", old);
	free(old);
}

static int setup(const char *rootfile)
{
	char done[VD_PATH_MAX];
	done_path(done, rootfile);
	unlink(done);
	drop_unused_root(rootfile);
	char root[] = "/tmp/vaultd-it.XXXXXX";
	if (!mkdtemp(root) || chmod(root, 0711) < 0) {
		fprintf(stderr, "it_fixture: cannot create %s: %s\n", root, strerror(errno));
		return 1;
	}
	char tmp[VD_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", rootfile);
	FILE *f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", root) < 0 || fclose(f) != 0 || rename(tmp, rootfile) < 0) {
		fprintf(stderr, "it_fixture: cannot write %s: %s\n", rootfile, strerror(errno));
		return 1;
	}
	printf("suite directory: %s\n", root);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

/* The scanner must be able to fail: planted canaries, plain and base64, have
 * to be found. */
static int scanner_self_test(const char *root)
{
	char probe[VD_PATH_MAX], val[96];
	snprintf(probe, sizeof(probe), "%s/scanner-probe.bin", root);
	canary(val, sizeof(val), "probe");
	char *enc = b64s(val);
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, "\0\0xx", 4) < 0 || write_all(fd, val, strlen(val)) < 0 ||
	    write_all(fd, " ", 1) < 0 || write_all(fd, enc, strlen(enc)) < 0) {
		fprintf(stderr, "it_fixture: cannot write probe %s\n", probe);
		return -1;
	}
	close(fd);
	free(enc);
	size_t hits = vd_scan_file(probe, false);
	unlink(probe);
	if (hits != 2) {
		fprintf(stderr, "it_fixture: scanner self-test found %zu hits in a probe with two\n", hits);
		return -1;
	}
	return 0;
}

static int canary_scan(const char *rootfile)
{
	char done[VD_PATH_MAX];
	done_path(done, rootfile);
	if (access(rootfile, F_OK) < 0 && errno == ENOENT) {
		size_t n = 0;
		char *prev = slurp(done, &n);
		if (!prev) {
			printf("FAIL: no %s: vaultd_it_setup did not run\n", rootfile);
			return 1;
		}
		while (n > 0 && prev[n - 1] == '\n')
			prev[--n] = 0;
		printf("ok - a canary run already scanned and removed %s (a repeated run)\n", prev);
		free(prev);
		return 0;
	}
	setenv("VDIT_ROOT_FILE", rootfile, 1);
	const char *root = vd_suite_root();
	if (scanner_self_test(root) < 0)
		return 1;
	size_t files = 0, stores = 0;
	size_t hits = vd_scan_dir(root, &files, &stores);
	printf("scanned %zu files (%zu stores) under %s: %zu plaintext hit(s)\n", files, stores, root,
	       hits);
	if (stores == 0) {
		printf("FAIL: no store under %s: the integration tests did not run\n", root);
		return 1;
	}
	if (hits > 0) {
		printf("FAIL: plaintext canary values on disk; kept %s\n", root);
		return 1;
	}
	if (getenv("VDIT_KEEP")) {
		printf("kept %s (VDIT_KEEP)\n", root);
		return 0;
	}
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	FILE *f = fopen(done, "we");
	if (!f || fprintf(f, "%s\n", root) < 0 || fclose(f) != 0) {
		fprintf(stderr, "it_fixture: cannot write %s: %s\n", done, strerror(errno));
		return 1;
	}
	unlink(rootfile);
	printf("ok - no plaintext canary in any file; removed %s\n", root);
	return 0;
}

int main(int argc, char **argv)
{
	vd_global_init();
	if (argc == 3 && strcmp(argv[1], "setup") == 0)
		return setup(argv[2]);
	if (argc == 3 && strcmp(argv[1], "canary") == 0)
		return canary_scan(argv[2]);
	fprintf(stderr, "usage: it_fixture setup|canary ROOTFILE\n");
	return 2;
}
