/* The Dockerfile follower: the ENTRYPOINT and CMD of the image a Dockerfile
 * builds, as docker build and BuildKit compute them. ENTRYPOINT resets only a
 * CMD the stage inherited (from its base image or an earlier stage), never
 * one the stage sets itself; and the migration carries that CMD over. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "compose_doc.h"
#include "compose_dockerfile.h"
#include "compose_migrate.h"

/* A project directory with one Dockerfile in app/. */
struct project {
	char dir[64];
	char path[128];
};

static void project_new(struct project *p, const char *dockerfile)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/compose-dockerfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	char app[96];
	snprintf(app, sizeof(app), "%s/app", p->dir);
	ck_assert_int_eq(mkdir(app, 0755), 0);
	snprintf(p->path, sizeof(p->path), "%s/Dockerfile", app);
	FILE *f = fopen(p->path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(dockerfile, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void project_free(struct project *p)
{
	char app[96];
	snprintf(app, sizeof(app), "%s/app", p->dir);
	unlink(p->path);
	rmdir(app);
	rmdir(p->dir);
}

static void expect_seq(const char *what, const struct cnode *seq, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	ck_assert_msg(seq->n == n, "%s: expected %zu words, got %zu", what, n, seq->n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(cnode_is(seq->items[i], want[i]),
		              "%s[%zu]: expected \"%s\", got \"%s\"", what, i, want[i],
		              seq->items[i]->str);
}

/* Follows dockerfile (to target when non-NULL) and checks both results. */
static void expect_command(const char *dockerfile, const char *target, const char *const *ep,
                           const char *const *cmd)
{
	struct project p;
	project_new(&p, dockerfile);
	struct cnode *got_ep = NULL, *got_cmd = NULL;
	char err[256] = "";
	int rc = compose_dockerfile_command(p.path, target, NULL, &got_ep, &got_cmd, NULL, err,
	                                    sizeof(err));
	ck_assert_msg(rc == 0, "expected the Dockerfile to be followed, got %d: %s\n%s", rc, err,
	              dockerfile);
	expect_seq("ENTRYPOINT", got_ep, ep);
	expect_seq("CMD", got_cmd, cmd);
	cnode_free(got_ep);
	cnode_free(got_cmd);
	project_free(&p);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_WORDS ((const char *const[]){NULL})

START_TEST(test_cmd_before_entrypoint_in_the_same_stage_is_kept)
{
	expect_command("FROM debian:12\n"
	               "CMD [\"--serve\",\"--port=80\"]\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\"]\n",
	               NULL, WORDS("/usr/bin/myapp"), WORDS("--serve", "--port=80"));
}
END_TEST

START_TEST(test_cmd_after_entrypoint_is_kept)
{
	expect_command("FROM debian:12\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\"]\n"
	               "CMD [\"--serve\"]\n",
	               NULL, WORDS("/usr/bin/myapp"), WORDS("--serve"));
}
END_TEST

START_TEST(test_a_second_entrypoint_keeps_the_stage_cmd)
{
	expect_command("FROM debian:12\n"
	               "CMD [\"--serve\"]\n"
	               "ENTRYPOINT [\"/first\"]\n"
	               "ENTRYPOINT [\"/second\"]\n",
	               NULL, WORDS("/second"), WORDS("--serve"));
}
END_TEST

START_TEST(test_entrypoint_resets_the_cmd_of_the_base_image)
{
	/* postgres's CMD is [postgres]: inherited, so ENTRYPOINT drops it. */
	expect_command("FROM postgres:16\n"
	               "ENTRYPOINT [\"/start.sh\"]\n",
	               NULL, WORDS("/start.sh"), NO_WORDS);
	/* A CMD of this stage after the ENTRYPOINT is the image's again. */
	expect_command("FROM postgres:16\n"
	               "ENTRYPOINT [\"/start.sh\"]\n"
	               "CMD [\"--fast\"]\n",
	               NULL, WORDS("/start.sh"), WORDS("--fast"));
}
END_TEST

START_TEST(test_entrypoint_resets_a_cmd_inherited_from_an_earlier_stage)
{
	/* Each stage starts with nothing set: the CMD of "base" is inherited. */
	expect_command("FROM debian:12 AS base\n"
	               "CMD [\"--serve\"]\n"
	               "FROM base\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\"]\n",
	               NULL, WORDS("/usr/bin/myapp"), NO_WORDS);
}
END_TEST

START_TEST(test_a_stage_inherits_entrypoint_and_cmd_from_an_earlier_stage)
{
	const char *df = "FROM debian:12 AS base\n"
	                 "CMD [\"--serve\"]\n"
	                 "ENTRYPOINT [\"/usr/bin/myapp\"]\n"
	                 "FROM base AS final\n"
	                 "RUN true\n";
	expect_command(df, NULL, WORDS("/usr/bin/myapp"), WORDS("--serve"));
	expect_command(df, "base", WORDS("/usr/bin/myapp"), WORDS("--serve"));
}
END_TEST

/* SHELL is part of a stage's image too: a stage FROM an earlier one runs
 * its shell forms in that stage's SHELL; one FROM another image does not. */
START_TEST(test_shell_carries_to_a_stage_built_on_its_stage_only)
{
	expect_command("FROM debian:12 AS base\n"
	               "SHELL [\"/bin/bash\", \"-euc\"]\n"
	               "FROM base\n"
	               "ENTRYPOINT myapp --serve\n",
	               NULL, WORDS("/bin/bash", "-euc", "myapp --serve"), NO_WORDS);
	expect_command("FROM debian:12 AS base\n"
	               "SHELL [\"/bin/bash\", \"-euc\"]\n"
	               "FROM debian:12\n"
	               "ENTRYPOINT myapp --serve\n",
	               NULL, WORDS("/bin/sh", "-c", "myapp --serve"), NO_WORDS);
}
END_TEST

/* A JSON array that is not all strings is the shell form to docker build
 * (CMD, ENTRYPOINT); SHELL takes only the exec form, so the build fails. */
START_TEST(test_a_json_array_of_non_strings_is_the_shell_form)
{
	expect_command("FROM debian:12\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\", 1]\n"
	               "CMD [\"a\", {}]\n",
	               NULL, WORDS("/bin/sh", "-c", "[\"/usr/bin/myapp\", 1]"),
	               WORDS("/bin/sh", "-c", "[\"a\", {}]"));
	const char *bad[] = {"FROM debian:12\nSHELL [\"/bin/bash\", 1]\nENTRYPOINT [\"x\"]\n",
	                     "FROM debian:12\nSHELL /bin/bash -c\nENTRYPOINT [\"x\"]\n",
	                     "FROM debian:12\nSHELL []\nENTRYPOINT [\"x\"]\n"};
	for (size_t i = 0; i < 3; i++) {
		struct project p;
		project_new(&p, bad[i]);
		struct cnode *ep = NULL, *cmd = NULL;
		char err[256] = "";
		int rc = compose_dockerfile_command(p.path, NULL, NULL, &ep, &cmd, NULL, err,
		                                    sizeof(err));
		ck_assert_int_lt(rc, 0);
		ck_assert_msg(strstr(err, "SHELL is not a non-empty JSON array of strings"),
		              "got: %s", err);
		cnode_free(ep);
		cnode_free(cmd);
		project_free(&p);
	}
}
END_TEST

START_TEST(test_cmd_set_in_a_stage_does_not_carry_its_flag_to_the_next)
{
	/* The later stage's ENTRYPOINT resets what it inherited, even though
	 * "base" itself had set (and kept) its CMD. */
	expect_command("FROM debian:12 AS base\n"
	               "CMD [\"--serve\"]\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\"]\n"
	               "FROM base\n"
	               "ENTRYPOINT [\"/usr/bin/other\"]\n",
	               NULL, WORDS("/usr/bin/other"), NO_WORDS);
}
END_TEST

START_TEST(test_unknown_base_is_known_once_the_stage_sets_both)
{
	/* Whatever example/base runs, this stage sets ENTRYPOINT and its own
	 * CMD: the result does not depend on the base. */
	expect_command("FROM example/base\n"
	               "CMD [\"--serve\"]\n"
	               "ENTRYPOINT [\"/usr/bin/myapp\"]\n",
	               NULL, WORDS("/usr/bin/myapp"), WORDS("--serve"));
	/* Only a CMD: the base's ENTRYPOINT is unknown. */
	struct project p;
	project_new(&p, "FROM example/base\nCMD [\"--serve\"]\n");
	struct cnode *ep = NULL, *cmd = NULL;
	char err[256] = "";
	ck_assert_int_eq(
	    compose_dockerfile_command(p.path, NULL, NULL, &ep, &cmd, NULL, err, sizeof(err)),
	    -ENOENT);
	ck_assert_msg(strstr(err, "whose ENTRYPOINT we do not know"), "got: %s", err);
	ck_assert_ptr_null(ep);
	ck_assert_ptr_null(cmd);
	project_free(&p);
}
END_TEST

/* The review's case end to end: the migrated service keeps its arguments. */
/* The migration of one build: service from p, into *root (with
 * --entrypoint app=entrypoint when that is not NULL). */
static struct compose_plan *migrate_build(const struct project *p, const char *entrypoint,
                                          struct cnode **root)
{
	const char *text = "services:\n"
	                   "  app:\n"
	                   "    build: ./app\n"
	                   "    environment: {API_TOKEN: tok-abcdef}\n";
	char err[512] = "";
	ck_assert_int_eq(compose_yaml_load(text, strlen(text), root, err, sizeof(err)), 0);
	struct compose_opts o = {
	    .mode = COMPOSE_MODE_INJECT,
	    .name_template = COMPOSE_DEFAULT_TEMPLATE,
	    .project_dir = p->dir,
	    .socket_host = "/run/vaultd.sock",
	    .inject_host = "/usr/local/bin/inject",
	    .secrets_dir = COMPOSE_DEFAULT_SECRETS_DIR,
	};
	char flag[256];
	char *flags[] = {flag};
	if (entrypoint) {
		snprintf(flag, sizeof(flag), "app=%s", entrypoint);
		o.entrypoints = flags;
		o.nentrypoints = 1;
	}
	struct compose_plan *plan = NULL;
	int rc = compose_migrate(*root, &o, &plan, err, sizeof(err));
	ck_assert_msg(rc == 0, "expected the migration to succeed, got %d: %s", rc, err);
	return plan;
}

/* Docker passes $HOME in a CMD on as it is; compose would fill it in from
 * the host: what the migration writes has it as $$HOME. */
START_TEST(test_migration_escapes_dollars_of_dockerfile_words)
{
	struct project p;
	project_new(&p, "FROM debian:12\n"
	                "CMD myapp --home $HOME --port ${PORT}\n"
	                "ENTRYPOINT [\"/entry$.sh\"]\n");
	struct cnode *root = NULL;
	struct compose_plan *plan = migrate_build(&p, NULL, &root);
	const struct cnode *app = cnode_map_get(cnode_map_get(root, "services"), "app");
	expect_seq("entrypoint", cnode_map_get(app, "entrypoint"),
	           WORDS(COMPOSE_INJECT_PATH, "--", "/entry$$.sh"));
	expect_seq("command", cnode_map_get(app, "command"),
	           WORDS("/bin/sh", "-c", "myapp --home $$HOME --port $${PORT}"));
	compose_plan_free(plan);
	cnode_free(root);
	project_free(&p);
}
END_TEST

START_TEST(test_migration_keeps_a_cmd_written_before_the_entrypoint)
{
	struct project p;
	project_new(&p, "FROM debian:12\n"
	                "CMD [\"--serve\",\"--port=80\"]\n"
	                "ENTRYPOINT [\"/usr/bin/myapp\"]\n");
	struct cnode *root = NULL;
	struct compose_plan *plan = migrate_build(&p, NULL, &root);
	const struct cnode *app = cnode_map_get(cnode_map_get(root, "services"), "app");
	expect_seq("entrypoint", cnode_map_get(app, "entrypoint"),
	           WORDS(COMPOSE_INJECT_PATH, "--", "/usr/bin/myapp"));
	const struct cnode *command = cnode_map_get(app, "command");
	ck_assert_msg(command, "no command: the container would lose --serve --port=80");
	expect_seq("command", command, WORDS("--serve", "--port=80"));
	compose_plan_free(plan);
	cnode_free(root);
	project_free(&p);
}
END_TEST

/* The image's USER (inject runs as it, so the tmpfs and vaultd's view of
 * the peer depend on it): the last one set, carried to a stage built on an
 * earlier one, "" when no stage sets one. */
static void expect_user(const char *dockerfile, const char *target, const char *want)
{
	struct project p;
	project_new(&p, dockerfile);
	struct cnode *ep = NULL, *cmd = NULL;
	char user[COMPOSE_USER_MAX] = "unset", err[256] = "";
	int rc =
	    compose_dockerfile_command(p.path, target, NULL, &ep, &cmd, user, err, sizeof(err));
	ck_assert_msg(rc == 0, "followed: %d %s", rc, err);
	ck_assert_str_eq(user, want);
	cnode_free(ep);
	cnode_free(cmd);
	project_free(&p);
}

START_TEST(test_user_is_the_last_set_and_carries_to_later_stages)
{
	expect_user("FROM python:3.12-slim\nCMD [\"python\"]\n", NULL, "");
	expect_user("FROM python:3.12-slim AS base\nUSER app\nUSER 1000:1000\n"
	            "FROM base\nCMD [\"python\", \"-m\", \"worker\"]\n",
	            NULL, "1000:1000");
	expect_user("FROM python:3.12-slim AS build\nUSER 1000\nFROM python:3.12-slim\n"
	            "CMD [\"python\"]\n",
	            NULL, "");
	expect_user("FROM python:3.12-slim AS a\nUSER 1000\nFROM a AS b\nUSER root\n", "a", "1000");
	/* ARGs expand as in FROM lines (Docker expands USER too). */
	expect_user("ARG APP_UID=1001\nFROM python:3.12-slim\nUSER ${APP_UID}:$APP_UID\n", NULL,
	            "1001:1001");
}
END_TEST

static bool has_note(const struct compose_plan *plan, const char *needle)
{
	for (size_t i = 0; i < plan->nnotes; i++)
		if (strstr(plan->notes[i], needle))
			return true;
	return false;
}

/* The USER counts however the command was found: here the base image is
 * unknown (its ENTRYPOINT too), so --entrypoint names the command; inject
 * still runs as 1000, so the tmpfs is 1000's and a note says a token is
 * needed. */
START_TEST(test_migration_uses_the_user_of_a_dockerfile_it_cannot_follow)
{
	struct project p;
	project_new(&p, "FROM example/base\nUSER 1000\nCMD [\"serve\"]\n");
	struct cnode *ep = NULL, *cmd = NULL;
	char user[COMPOSE_USER_MAX] = "", err[256] = "";
	ck_assert_int_eq(
	    compose_dockerfile_command(p.path, NULL, NULL, &ep, &cmd, user, err, sizeof(err)),
	    -ENOENT);
	ck_assert_str_eq(user, "1000");
	struct cnode *root = NULL;
	struct compose_plan *plan = migrate_build(&p, "/usr/bin/serve", &root);
	const struct cnode *app = cnode_map_get(cnode_map_get(root, "services"), "app");
	expect_seq("tmpfs", cnode_map_get(app, "tmpfs"),
	           WORDS("/run/secrets:mode=0755,uid=1000,gid=1000"));
	ck_assert_msg(has_note(plan, "service app runs as user \"1000\" (its Dockerfile's USER)"),
	              "the note on a non-root service");
	compose_plan_free(plan);
	cnode_free(root);
	project_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compose_dockerfile");
	TCase *tc = tcase_create("dockerfile");
	tcase_add_test(tc, test_cmd_before_entrypoint_in_the_same_stage_is_kept);
	tcase_add_test(tc, test_cmd_after_entrypoint_is_kept);
	tcase_add_test(tc, test_a_second_entrypoint_keeps_the_stage_cmd);
	tcase_add_test(tc, test_entrypoint_resets_the_cmd_of_the_base_image);
	tcase_add_test(tc, test_entrypoint_resets_a_cmd_inherited_from_an_earlier_stage);
	tcase_add_test(tc, test_a_stage_inherits_entrypoint_and_cmd_from_an_earlier_stage);
	tcase_add_test(tc, test_cmd_set_in_a_stage_does_not_carry_its_flag_to_the_next);
	tcase_add_test(tc, test_a_json_array_of_non_strings_is_the_shell_form);
	tcase_add_test(tc, test_shell_carries_to_a_stage_built_on_its_stage_only);
	tcase_add_test(tc, test_unknown_base_is_known_once_the_stage_sets_both);
	tcase_add_test(tc, test_migration_keeps_a_cmd_written_before_the_entrypoint);
	tcase_add_test(tc, test_migration_escapes_dollars_of_dockerfile_words);
	tcase_add_test(tc, test_user_is_the_last_set_and_carries_to_later_stages);
	tcase_add_test(tc, test_migration_uses_the_user_of_a_dockerfile_it_cannot_follow);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
