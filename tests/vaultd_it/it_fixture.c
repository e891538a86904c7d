/* The integration suite's fixture: `setup ROOTFILE` makes the directory all
 * vaultd_it tests write under; `canary ROOTFILE` runs after all of them and
 * proves no plaintext canary value reached any file there (db, wal, logs). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static size_t g_files, g_stores, g_hits;

static int setup(const char *rootfile)
{
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

/* Counts the canary prefix in one regular file, printing where it is. */
static size_t scan_file(const char *path, bool loud)
{
	size_t n = 0, hits = 0;
	char *s = slurp(path, &n);
	if (!s) {
		fprintf(stderr, "it_fixture: cannot read %s: %s\n", path, strerror(errno));
		return 1; /* unreadable counts as a failure: we could not prove it clean */
	}
	const size_t cl = strlen(VD_CANARY);
	for (const char *p = s; n >= cl && (p = memmem(p, n - (size_t)(p - s), VD_CANARY, cl)); p++) {
		if (loud && hits < 3)
			printf("PLAINTEXT FOUND: %s at offset %zu: %.40s\n", path, (size_t)(p - s), p);
		hits++;
	}
	free(s);
	return hits;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	g_files++;
	const char *base = strrchr(path, '/');
	if (base && strcmp(base + 1, "store.db") == 0)
		g_stores++;
	g_hits += scan_file(path, true);
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

/* The scanner must be able to fail: a planted canary has to be found. */
static int scanner_self_test(const char *root)
{
	char probe[VD_PATH_MAX], val[96];
	snprintf(probe, sizeof(probe), "%s/scanner-probe.bin", root);
	canary(val, sizeof(val), "probe");
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, "\0\0xx", 4) < 0 || write_all(fd, val, strlen(val)) < 0) {
		fprintf(stderr, "it_fixture: cannot write probe %s\n", probe);
		return -1;
	}
	close(fd);
	size_t hits = scan_file(probe, false);
	unlink(probe);
	if (hits != 1) {
		fprintf(stderr, "it_fixture: scanner self-test found %zu hits in a probe with one\n", hits);
		return -1;
	}
	return 0;
}

static int canary_scan(const char *rootfile)
{
	setenv("VDIT_ROOT_FILE", rootfile, 1);
	const char *root = vd_suite_root();
	if (scanner_self_test(root) < 0)
		return 1;
	g_files = g_stores = g_hits = 0;
	if (nftw(root, visit, 16, FTW_PHYS) < 0) {
		fprintf(stderr, "it_fixture: walking %s: %s\n", root, strerror(errno));
		return 1;
	}
	printf("scanned %zu files (%zu stores) under %s: %zu plaintext hit(s)\n", g_files, g_stores,
	       root, g_hits);
	if (g_stores == 0) {
		printf("FAIL: no store under %s: the integration tests did not run\n", root);
		return 1;
	}
	if (g_hits > 0) {
		printf("FAIL: plaintext canary values on disk; kept %s\n", root);
		return 1;
	}
	if (getenv("VDIT_KEEP")) {
		printf("kept %s (VDIT_KEEP)\n", root);
		return 0;
	}
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
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
