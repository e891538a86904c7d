/* Values as docker-compose 1.29 computes them ($ interpolation; env_files
 * are read by ctl/dotenv.c, tested in tests/ctl/test_dotenv.c), which names
 * and values look secret, the official image table and the Dockerfile
 * follower. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "compose_detect.h"
#include "compose_doc.h"
#include "compose_envnode.h"
#include "compose_dockerfile.h"
#include "compose_images.h"
#include "compose_interp.h"

/* ---- interpolation ---- */

static const struct {
	const char *in;
	int rc;
	const char *out;
} interp[] = {
    {"root", 0, "root"},
    {"a$$b", 0, "a$b"},
    {"${DB:-hunter2}", 0, "hunter2"},
    {"${DB-hunter2}", 0, "hunter2"},
    {"x${DB:-}y", 0, "xy"},
    {"${DB:-}", 0, ""},
    {"p@ss:${DB:-w0rd}!", 0, "p@ss:w0rd!"},
    {"${DB}", -ENOENT, NULL},
    {"$DB", -ENOENT, NULL},
    {"pre-$DB", -ENOENT, NULL},
    {"${DB:?set it}", -ENOENT, NULL},
    {"${DB?set it}", -ENOENT, NULL},
    /* compose 1.29 and v2 read a nested default differently: not frozen */
    {"${PW:-${PW2:-SEKRITnested}}", -ENOENT, NULL},
    {"${PW:-a$$b}", -ENOENT, NULL},
    {"${", -EINVAL, NULL},
    {"$ ", -EINVAL, NULL},
    {"${1DB}", -EINVAL, NULL},
    {"${DB:x}", -EINVAL, NULL},
};

START_TEST(test_interpolation_is_what_compose_would_compute)
{
	struct secbuf *v = NULL;
	int rc = compose_interpolate(interp[_i].in, strlen(interp[_i].in), &v);
	ck_assert_msg(rc == interp[_i].rc, "%s: expected %d, got %d", interp[_i].in, interp[_i].rc,
	              rc);
	if (rc == 0) {
		ck_assert_str_eq((const char *)v->data, interp[_i].out);
		ck_assert_uint_eq(v->len, strlen(interp[_i].out));
	} else {
		ck_assert_ptr_null(v);
	}
	secbuf_free(v);
}
END_TEST

START_TEST(test_references_are_told_from_escaped_dollars)
{
	ck_assert(compose_has_reference("${A}", 4));
	ck_assert(compose_has_reference("x$A", 3));
	ck_assert(!compose_has_reference("a$$b", 4));
	ck_assert(!compose_has_reference("plain", 5));
}
END_TEST

static const struct {
	const char *text;
	bool escapes; /* $$ is a literal $ (compose files), or not (env_files) */
	bool mentions;
} mentions[] = {
    {"$DB", true, true},     {"${DB}", true, true},       {"${DB:-x}", true, true},
    {"${DB-x}", true, true}, {"${DB:?e}", true, true},    {"${DB?e}", true, true},
    {"a$DB.b", true, true},  {"${A:-${DB}}", true, true}, {"$$$DB", true, true},
    {"$$DB", false, true},   {"$$DB", true, false},       {"$${DB}", true, false},
    {"$DBX", true, false},   {"${DBX}", true, false},     {"${XDB}", true, false},
    {"DB", true, false},     {"$", true, false},          {"${", true, false},
};

START_TEST(test_mentions_find_every_reference_form)
{
	const char *t = mentions[_i].text;
	ck_assert_msg(compose_mentions_var(t, strlen(t), "DB", mentions[_i].escapes) ==
	                  mentions[_i].mentions,
	              "%s (escapes %d): expected %s", t, mentions[_i].escapes,
	              mentions[_i].mentions ? "a reference to DB" : "none");
}
END_TEST

/* ---- detection ---- */

/* ---- environment: entries ---- */

/* The index of NAME in a service's environment:, map or list form, as
 * envnode_entry reads the entries; in a list the last one wins, as in compose. */
START_TEST(test_envnode_find_reads_names_as_entries_do)
{
	const char *map = "m: {A: x, B_FILE: /f, C: [1, 2], D: ''}\n";
	const char *list = "l: [A=x, B_FILE, =nothing, C=1=2, A=y]\n";
	struct cnode *root = NULL;
	char err[256] = "";
	ck_assert_int_eq(compose_yaml_load(map, strlen(map), &root, err, sizeof(err)), 0);
	const struct cnode *m = cnode_map_get(root, "m");
	ck_assert_int_eq(envnode_find(m, "A"), 0);
	ck_assert_int_eq(envnode_find(m, "B_FILE"), 1);
	ck_assert_int_eq(envnode_find(m, "C"), -1); /* not a scalar: no entry */
	ck_assert_int_eq(envnode_find(m, "D"), 3);
	ck_assert_int_eq(envnode_find(m, "B"), -1);
	ck_assert_int_eq(envnode_find(m, ""), -1);
	cnode_free(root);
	root = NULL;
	ck_assert_int_eq(compose_yaml_load(list, strlen(list), &root, err, sizeof(err)), 0);
	const struct cnode *l = cnode_map_get(root, "l");
	ck_assert_int_eq(envnode_find(l, "A"), 4); /* the last A */
	ck_assert_int_eq(envnode_find(l, "B_FILE"), 1);
	ck_assert_int_eq(envnode_find(l, "C"), 3);
	ck_assert_int_eq(envnode_find(l, "C=1"), -1);
	char longname[300];
	memset(longname, 'X', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(envnode_find(l, longname), -1);
	cnode_free(root);
}
END_TEST

START_TEST(test_secret_looking_names)
{
	static const char *const yes[] = {"POSTGRES_PASSWORD",
	                                  "db_passwd",
	                                  "SMTP_PASS",
	                                  "JWT_SECRET",
	                                  "SECRET_KEY_BASE",
	                                  "GITHUB_TOKEN",
	                                  "STRIPE_API_KEY",
	                                  "MAPS_APIKEY",
	                                  "GPG_PASSPHRASE",
	                                  "aws_secret_access_key",
	                                  NULL};
	static const char *const no[] = {"POSTGRES_USER",
	                                 "POSTGRES_PASSWORD_FILE",
	                                 "TOKEN_PATH",
	                                 "KEYCLOAK_URL",
	                                 "SECRETS_DIR",
	                                 "INJECT_SECRETS",
	                                 "VAULTD_TOKEN",
	                                 "KEYBOARD",
	                                 "MONKEY",
	                                 "PASSENGER_COUNT",
	                                 NULL};
	for (const char *const *n = yes; *n; n++)
		ck_assert_msg(compose_name_is_secret(*n), "%s should look secret", *n);
	for (const char *const *n = no; *n; n++)
		ck_assert_msg(!compose_name_is_secret(*n), "%s should not look secret", *n);
	ck_assert(compose_name_is_file_ref("MYSQL_PASSWORD_FILE"));
	ck_assert(!compose_name_is_file_ref("PROFILE"));
}
END_TEST

START_TEST(test_urls_with_passwords_are_found)
{
	static const char *const yes[] = {"postgres://app:root@db:5432/app",
	                                  "redis://:pw@redis:6379/0", "amqp://u:p%40ss@mq/vhost",
	                                  "mongodb+srv://u:p@cluster/db?x=1", NULL};
	static const char *const no[] = {"postgres://app@db/app",
	                                 "http://example.com/a:b@c",
	                                 "https://h:443/",
	                                 "not a url",
	                                 "postgres://app:@db/app",
	                                 "mailto:x@y",
	                                 NULL};
	for (const char *const *v = yes; *v; v++)
		ck_assert_msg(compose_value_has_url_password(*v, strlen(*v)), "%s has a password",
		              *v);
	for (const char *const *v = no; *v; v++)
		ck_assert_msg(!compose_value_has_url_password(*v, strlen(*v)), "%s has no password",
		              *v);
}
END_TEST

/* ---- images ---- */

START_TEST(test_official_image_references)
{
	const struct compose_image *pg = compose_image_find("postgres");
	ck_assert_ptr_nonnull(pg);
	ck_assert_ptr_eq(compose_image_find("postgres:16-alpine"), pg);
	ck_assert_ptr_eq(compose_image_find("docker.io/library/postgres:16@sha256:abcd"), pg);
	ck_assert_ptr_eq(compose_image_find("library/postgres"), pg);
	ck_assert_ptr_null(compose_image_find("bitnami/postgresql:16"));
	ck_assert_ptr_null(compose_image_find("localhost:5000/postgres:16"));
	ck_assert_ptr_null(compose_image_find("ghcr.io/x/postgres"));
	ck_assert(compose_image_reads_file(pg, "POSTGRES_PASSWORD"));
	ck_assert(!compose_image_reads_file(pg, "PGPASSWORD"));
	ck_assert(!compose_image_reads_file(compose_image_find("redis:7"), "REDIS_PASSWORD"));
	ck_assert(
	    compose_image_reads_file(compose_image_find("mariadb:11"), "MARIADB_ROOT_PASSWORD"));
	ck_assert(compose_image_reads_file(compose_image_find("mysql:8"), "MYSQL_ROOT_PASSWORD"));
	ck_assert(
	    compose_image_reads_file(compose_image_find("mongo:7"), "MONGO_INITDB_ROOT_PASSWORD"));
}
END_TEST

START_TEST(test_tag_variants_pick_their_cmd)
{
	ck_assert_str_eq(compose_image_find("mariadb:10.5")->cmd[0], "mysqld");
	ck_assert_str_eq(compose_image_find("mariadb:10.11")->cmd[0], "mariadbd");
	ck_assert_str_eq(compose_image_find("mariadb")->cmd[0], "mariadbd");
	ck_assert_str_eq(compose_image_find("wordpress:6-fpm-alpine")->cmd[0], "php-fpm");
	ck_assert_str_eq(compose_image_find("wordpress:6")->cmd[0], "apache2-foreground");
}
END_TEST

/* ---- Dockerfiles ---- */

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/compose-dockerfile-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void expect_cmd(const struct cnode *seq, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	ck_assert_uint_eq(seq->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(seq->items[i]->str, want[i]);
}

START_TEST(test_dockerfile_stages_args_and_entrypoint_resets_cmd)
{
	char *path = write_tmp("ARG BASE=python\n"
	                       "FROM ${BASE}:3.12-slim AS build\n"
	                       "RUN pip install \\\n"
	                       "    x\n"
	                       "FROM build AS final\n"
	                       "# a comment\n"
	                       "cmd [\"python\", \"-m\", \"app\"]\n");
	struct cnode *ep = NULL, *cmd = NULL;
	char err[256] = "";
	ck_assert_int_eq(
	    compose_dockerfile_command(path, NULL, NULL, &ep, &cmd, NULL, err, sizeof(err)), 0);
	expect_cmd(ep, (const char *const[]){NULL});
	expect_cmd(cmd, (const char *const[]){"python", "-m", "app", NULL});
	cnode_free(ep);
	cnode_free(cmd);
	/* A build arg from compose overrides the ARG default: an unknown base. */
	struct cnode *args = cnode_new_map();
	ck_assert_int_eq(cnode_map_set(args, "BASE", cnode_new_str("example/base")), 0);
	ck_assert_int_eq(
	    compose_dockerfile_command(path, NULL, args, &ep, &cmd, NULL, err, sizeof(err)),
	    -ENOENT);
	ck_assert_msg(strstr(err, "example/base:3.12-slim"), "got: %s", err);
	cnode_free(args);
	unlink(path);

	path = write_tmp(
	    "FROM postgres:16 AS db\nENTRYPOINT /start.sh --fast\nFROM alpine AS other\n");
	ck_assert_int_eq(
	    compose_dockerfile_command(path, "db", NULL, &ep, &cmd, NULL, err, sizeof(err)), 0);
	expect_cmd(ep, (const char *const[]){"/bin/sh", "-c", "/start.sh --fast", NULL});
	expect_cmd(cmd, (const char *const[]){NULL}); /* ENTRYPOINT reset postgres's CMD */
	cnode_free(ep);
	cnode_free(cmd);
	ck_assert_int_eq(
	    compose_dockerfile_command(path, "nope", NULL, &ep, &cmd, NULL, err, sizeof(err)),
	    -EINVAL);
	ck_assert_msg(strstr(err, "no stage named nope"), "got: %s", err);
	unlink(path);
}
END_TEST

START_TEST(test_command_strings_split_like_compose)
{
	struct cnode *s = NULL;
	ck_assert_int_eq(compose_split_command("sh -c 'echo \"a b\"' x\\ y \"q\\\"\"", &s), 0);
	expect_cmd(s, (const char *const[]){"sh", "-c", "echo \"a b\"", "x y", "q\"", NULL});
	cnode_free(s);
	s = NULL;
	ck_assert_int_eq(compose_split_command("unclosed 'quote", &s), -EINVAL);
	ck_assert_ptr_null(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compose_values");
	TCase *tc = tcase_create("values");
	tcase_add_loop_test(tc, test_interpolation_is_what_compose_would_compute, 0,
	                    (int)(sizeof(interp) / sizeof(interp[0])));
	tcase_add_test(tc, test_references_are_told_from_escaped_dollars);
	tcase_add_loop_test(tc, test_mentions_find_every_reference_form, 0,
	                    (int)(sizeof(mentions) / sizeof(mentions[0])));
	tcase_add_test(tc, test_envnode_find_reads_names_as_entries_do);
	tcase_add_test(tc, test_secret_looking_names);
	tcase_add_test(tc, test_urls_with_passwords_are_found);
	tcase_add_test(tc, test_official_image_references);
	tcase_add_test(tc, test_tag_variants_pick_their_cmd);
	tcase_add_test(tc, test_dockerfile_stages_args_and_entrypoint_resets_cmd);
	tcase_add_test(tc, test_command_strings_split_like_compose);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
