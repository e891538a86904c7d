/* vaultd/container.c: finding a Docker container id in /proc/<pid>/cgroup
 * text, asking a (fake) Docker engine for the container's labels, and the
 * label cache. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "container.h"
#include "fake_docker.h"
#include "check_support.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

struct cg_case {
	const char *text;
	const char *id; /* NULL: none */
};

static const struct cg_case cgroups[] = {
    {"12:pids:/docker/" ID_A "\n11:memory:/docker/" ID_A "\n", ID_A},
    {"0::/system.slice/docker-" ID_A ".scope\n", ID_A},
    {"0::/kubepods/besteffort/pod1234/" ID_A "\n", ID_A},
    {"0::/docker/" ID_A "/nested/docker/" ID_B "\n", ID_B}, /* the innermost */
    {"0::/\n", NULL},
    {"4:memory:/process_api/2c7d0ce72d8f1c043624c315e006c409\n", NULL}, /* 32 hex */
    {"0::/docker/" ID_A "0\n", NULL},                                   /* 65 hex */
    {"0::/docker/x" ID_A "\n", NULL},                                   /* part of a word */
    {"0::/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n", NULL},
    {"", NULL},
};

START_TEST(test_cgroup_text_gives_the_container_id)
{
	const struct cg_case *c = &cgroups[_i];
	char out[CONTAINER_ID_LEN + 1] = "unchanged";
	bool found = container_id_from_cgroup(c->text, out);
	ck_assert_msg(found == (c->id != NULL), "case %d: found=%d for %s", _i, found, c->text);
	if (c->id)
		ck_assert_str_eq(out, c->id);
}
END_TEST

START_TEST(test_our_own_process_reads_without_error)
{
	char out[CONTAINER_ID_LEN + 1];
	int rc = container_id_of_pid(getpid(), out);
	ck_assert_msg(rc == 0 || rc == -ENODATA, "rc %d", rc);
	ck_assert_int_eq(container_id_of_pid(0x7ffffff0, out), -ENOENT); /* no such pid */
}
END_TEST

static char dir[64], sock[100];
static struct fake_docker fd;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vaultd-unit-docker.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/docker.sock", dir);
	ck_assert_int_eq(
	    fake_docker_start(&fd, sock, ID_A,
	                      "{\"com.docker.compose.service\":\"web\",\"tier\":\"db\"}"),
	    0);
}

static void teardown(void)
{
	fake_docker_stop(&fd);
	rmdir(dir);
}

START_TEST(test_engine_labels_of_a_known_container)
{
	json_t *labels = NULL;
	ck_assert_int_eq(container_fetch_labels(sock, ID_A, &labels), 0);
	ck_assert_str_eq(json_string_value(json_object_get(labels, "com.docker.compose.service")),
	                 "web");
	ck_assert_uint_eq(json_object_size(labels), 2);
	json_decref(labels);
	/* From the list, never the inspect answer with the container's Env. */
	ck_assert_int_eq(atomic_load(&fd.requests), 1);
	ck_assert_int_eq(atomic_load(&fd.inspects), 0);
}
END_TEST

START_TEST(test_engine_unlisted_is_enoent_and_errors_are_eio)
{
	json_t *labels = (json_t *)0x1;
	ck_assert_int_eq(container_fetch_labels(sock, ID_B, &labels), -ENOENT);
	ck_assert_ptr_eq(labels, (json_t *)0x1);
	/* The engine's id filter matches prefixes: an entry listed under
	 * another id is not the container asked about. */
	snprintf(fd.listed_id, sizeof(fd.listed_id), "%s", ID_B);
	ck_assert_int_eq(container_fetch_labels(sock, ID_A, &labels), -ENOENT);
	fd.listed_id[0] = '\0';
	fd.status_override = 500;
	ck_assert_int_eq(container_fetch_labels(sock, ID_A, &labels), -EIO);
	fd.status_override = 0;
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nothing.sock", dir);
	ck_assert_int_eq(container_fetch_labels(missing, ID_A, &labels), -EIO);
}
END_TEST

START_TEST(test_labels_are_cached)
{
	ck_assert_int_eq(container_init(sock), 0);
	json_t *l1 = NULL, *l2 = NULL;
	ck_assert_int_eq(container_labels(ID_A, &l1), 0);
	ck_assert_int_eq(container_labels(ID_A, &l2), 0);
	ck_assert_int_eq(atomic_load(&fd.requests), 1);
	ck_assert(json_equal(l1, l2));
	json_decref(l1);
	json_decref(l2);
	/* An unknown container is remembered too. */
	ck_assert_int_eq(container_labels(ID_B, &l1), -ENOENT);
	ck_assert_int_eq(container_labels(ID_B, &l1), -ENOENT);
	ck_assert_int_eq(atomic_load(&fd.requests), 2);
	container_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("container");
	TCase *tc = tcase_create("cgroup");
	tcase_add_loop_test(tc, test_cgroup_text_gives_the_container_id, 0,
	                    (int)(sizeof(cgroups) / sizeof(cgroups[0])));
	tcase_add_test(tc, test_our_own_process_reads_without_error);
	suite_add_tcase(s, tc);
	TCase *te = tcase_create("engine");
	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, test_engine_labels_of_a_known_container);
	tcase_add_test(te, test_engine_unlisted_is_enoent_and_errors_are_eio);
	tcase_add_test(te, test_labels_are_cached);
	suite_add_tcase(s, te);
	return check_support_run(s);
}
