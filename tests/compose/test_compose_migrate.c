/* The migration on documents in memory (env_files and Dockerfiles in a temp
 * project directory): which variables move, how they are named and
 * delivered, what the rewritten services look like, that no value is left in
 * the output, that a second run changes nothing, and the refusals. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "compose_doc.h"
#include "compose_migrate.h"

struct run {
	char dir[64];
	struct cnode *root;
	struct compose_plan *plan;
	char *yaml;
	char err[512];
	int rc;
};

static struct run *run_new(void)
{
	struct run *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/compose-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	return r;
}

static void put_file(const struct run *r, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static struct compose_opts opts(const struct run *r, enum compose_mode mode)
{
	return (struct compose_opts){
	    .mode = mode,
	    .name_template = COMPOSE_DEFAULT_TEMPLATE,
	    .project_dir = r->dir,
	    .socket_host = "/run/vaultd.sock",
	    .inject_host = "/usr/local/bin/inject",
	    .secrets_dir = COMPOSE_DEFAULT_SECRETS_DIR,
	};
}

/* Loads text, migrates it with o, and writes the result into r->yaml. */
static int migrate(struct run *r, const char *text, const struct compose_opts *o)
{
	cnode_free(r->root);
	compose_plan_free(r->plan);
	free(r->yaml);
	r->root = NULL;
	r->plan = NULL;
	r->yaml = NULL;
	r->err[0] = '\0';
	ck_assert_int_eq(compose_yaml_load(text, strlen(text), &r->root, r->err, sizeof(r->err)),
	                 0);
	r->rc = compose_migrate(r->root, o, &r->plan, r->err, sizeof(r->err));
	if (r->rc == 0) {
		size_t len;
		ck_assert_int_eq(compose_yaml_emit(r->root, NULL, &r->yaml, &len), 0);
	}
	return r->rc;
}

static void migrate_ok(struct run *r, const char *text, const struct compose_opts *o)
{
	int rc = migrate(r, text, o);
	ck_assert_msg(rc == 0, "migration failed (%d): %s", rc, r->err);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void run_free(struct run *r)
{
	ck_assert_int_eq(nftw(r->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	cnode_free(r->root);
	compose_plan_free(r->plan);
	free(r->yaml);
	free(r);
}

static const struct compose_row *row(const struct run *r, const char *svc, const char *var)
{
	for (size_t i = 0; i < r->plan->nrows; i++)
		if (strcmp(r->plan->rows[i].service, svc) == 0 &&
		    strcmp(r->plan->rows[i].var, var) == 0)
			return &r->plan->rows[i];
	ck_abort_msg("no summary row for %s.%s", svc, var);
	return NULL;
}

static const char *secret_of(const struct run *r, const char *svc, const char *var)
{
	const struct compose_row *w = row(r, svc, var);
	ck_assert_msg(w->skip == SKIP_NONE, "%s.%s was skipped (%d)", svc, var, w->skip);
	return r->plan->secrets[w->secret].name;
}

static const char *value_of(const struct run *r, const char *svc, const char *var)
{
	const struct compose_row *w = row(r, svc, var);
	return (const char *)r->plan->secrets[w->secret].value->data;
}

/* services.<svc>.<key>... by dotted path (no dots in the keys used here). */
static const struct cnode *at(const struct run *r, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const struct cnode *n = r->root;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && n;
	     k = strtok_r(NULL, ".", &save))
		n = cnode_map_get(n, k);
	return n;
}

static void no_plaintext(const struct run *r, const char *const *values)
{
	for (; *values; values++)
		ck_assert_msg(!strstr(r->yaml, *values), "\"%s\" is still in the output:\n%s",
		              *values, r->yaml);
}

/* A second migration of the output gives the same text and finds nothing new. */
static void second_run_changes_nothing(struct run *r, const struct compose_opts *o)
{
	char *first = strdup(r->yaml);
	migrate_ok(r, first, o);
	ck_assert_str_eq(r->yaml, first);
	ck_assert_uint_eq(r->plan->nsecrets, 0);
	free(first);
}

static const char *const stack = "services:\n"
                                 "  db:\n"
                                 "    image: postgres:16\n"
                                 "    environment:\n"
                                 "      POSTGRES_USER: app\n"
                                 "      POSTGRES_PASSWORD: pg-s3cret\n"
                                 "  mysql:\n"
                                 "    image: mysql:8\n"
                                 "    environment:\n"
                                 "      - MYSQL_ROOT_PASSWORD=r00t-pw\n"
                                 "      - MYSQL_DATABASE=shop\n"
                                 "  cache:\n"
                                 "    image: redis:7\n"
                                 "    environment:\n"
                                 "      REDIS_PASSWORD: ${REDIS_PASSWORD:-}\n";

START_TEST(test_list_and_map_environments_both_migrate_in_inject_mode)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r, stack, &o);
	ck_assert_str_eq(secret_of(r, "db", "POSTGRES_PASSWORD"), "db_postgres_password");
	ck_assert_str_eq(secret_of(r, "mysql", "MYSQL_ROOT_PASSWORD"), "mysql_mysql_root_password");
	ck_assert_str_eq(value_of(r, "mysql", "MYSQL_ROOT_PASSWORD"), "r00t-pw");
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->delivery, DELIVER_INJECT_FILE);
	ck_assert_int_eq(row(r, "cache", "REDIS_PASSWORD")->skip, SKIP_EMPTY);
	/* Map form stays a map, list form a list; VAR_FILE takes VAR's place. */
	ck_assert(cnode_is(at(r, "services.db.environment.POSTGRES_PASSWORD_FILE"),
	                   "/run/secrets/db_postgres_password"));
	ck_assert_ptr_null(at(r, "services.db.environment.POSTGRES_PASSWORD"));
	ck_assert_int_eq(cnode_map_find(at(r, "services.db.environment"), "POSTGRES_PASSWORD_FILE"),
	                 1);
	const struct cnode *menv = at(r, "services.mysql.environment");
	ck_assert_int_eq(menv->kind, CNODE_SEQ);
	ck_assert(cnode_is(menv->items[0],
	                   "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/mysql_mysql_root_password"));
	ck_assert(cnode_is(menv->items[2], "INJECT_SECRETS=mysql_mysql_root_password"));
	/* inject wraps the official entrypoint and keeps the image's CMD. */
	const struct cnode *ep = at(r, "services.db.entrypoint");
	ck_assert_uint_eq(ep->n, 3);
	ck_assert(cnode_is(ep->items[0], "/inject") && cnode_is(ep->items[1], "--") &&
	          cnode_is(ep->items[2], "docker-entrypoint.sh"));
	ck_assert(cnode_is(at(r, "services.db.command")->items[0], "postgres"));
	ck_assert(cnode_is(at(r, "services.mysql.command")->items[0], "mysqld"));
	ck_assert_ptr_nonnull(strstr(r->yaml, "/run/vaultd.sock:/run/vaultd.sock:ro"));
	ck_assert_ptr_nonnull(strstr(r->yaml, "/usr/local/bin/inject:/inject:ro"));
	ck_assert_ptr_nonnull(strstr(r->yaml, "/run/secrets:mode=0755"));
	/* The skipped service is untouched. */
	ck_assert_ptr_null(at(r, "services.cache.entrypoint"));
	no_plaintext(r, (const char *const[]){"pg-s3cret", "r00t-pw", NULL});
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

START_TEST(test_files_mode_uses_compose_secrets_for_images_that_read_file_vars)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_FILES);
	const char *text = "version: '3.8'\n"
	                   "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    environment: {POSTGRES_PASSWORD: root}\n"
	                   "    secrets: [other]\n"
	                   "  app:\n"
	                   "    image: example/app\n"
	                   "    entrypoint: /app/run --port 80\n"
	                   "    environment: {API_TOKEN: tok-123456}\n"
	                   "secrets:\n"
	                   "  other: {file: ./other.txt}\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->delivery, DELIVER_DOCKER_SECRET);
	ck_assert(
	    cnode_is(at(r, "secrets.db_postgres_password.file"), "./secrets/db_postgres_password"));
	ck_assert(cnode_is(at(r, "secrets.other.file"), "./other.txt"));
	const struct cnode *list = at(r, "services.db.secrets");
	ck_assert_uint_eq(list->n, 2);
	ck_assert(cnode_is(cnode_map_get(list->items[1], "source"), "db_postgres_password"));
	ck_assert(cnode_is(cnode_map_get(list->items[1], "target"), "db_postgres_password"));
	ck_assert_ptr_null(at(r, "services.db.entrypoint")); /* no inject needed */
	/* An image that reads no VAR_FILE still goes through inject. */
	ck_assert_int_eq(row(r, "app", "API_TOKEN")->delivery, DELIVER_INJECT_ENV);
	ck_assert(
	    cnode_is(at(r, "services.app.environment.INJECT_ENV"), "API_TOKEN=app_api_token"));
	const struct cnode *ep = at(r, "services.app.entrypoint");
	ck_assert_uint_eq(ep->n, 5);
	ck_assert(cnode_is(ep->items[2], "/app/run") && cnode_is(ep->items[4], "80"));
	/* inject opens /run/secrets even when it only sets variables. */
	ck_assert(cnode_is(at(r, "services.app.tmpfs")->items[0], "/run/secrets:mode=0755"));
	no_plaintext(r, (const char *const[]){"root", "tok-123456", NULL});
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

START_TEST(test_one_secret_per_distinct_value)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres\n"
	                   "    environment: [POSTGRES_PASSWORD=shared-pw]\n"
	                   "  api:\n"
	                   "    image: node:20\n"
	                   "    environment: {DB_PASSWORD: shared-pw, JWT_SECRET: other}\n";
	migrate_ok(r, text, &o);
	ck_assert_uint_eq(r->plan->nsecrets, 2);
	ck_assert_str_eq(secret_of(r, "api", "DB_PASSWORD"), "db_postgres_password");
	ck_assert(cnode_is(at(r, "services.api.environment.INJECT_ENV"),
	                   "DB_PASSWORD=db_postgres_password,JWT_SECRET=api_jwt_secret"));
	ck_assert(cnode_is(at(r, "services.api.command")->items[0], "node"));
	run_free(r);
}
END_TEST

START_TEST(test_skips_empty_runtime_and_already_file_values)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres\n"
	                   "    environment:\n"
	                   "      POSTGRES_PASSWORD_FILE: /run/secrets/pg\n"
	                   "      A_TOKEN: ${A_TOKEN}\n"
	                   "      B_TOKEN: $B_TOKEN\n"
	                   "      C_TOKEN:\n"
	                   "      D_TOKEN: ''\n"
	                   "      E_TOKEN: ${E:-dflt-value}\n"
	                   "      F_TOKEN: a$$b\n"
	                   "      G_TOKEN: 12345\n"
	                   "      INJECT_SECRETS: pg\n"
	                   "      VAULTD_TOKEN: vd_x\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD_FILE")->skip, SKIP_ALREADY_FILE);
	ck_assert_int_eq(row(r, "db", "A_TOKEN")->skip, SKIP_RUNTIME);
	ck_assert_int_eq(row(r, "db", "B_TOKEN")->skip, SKIP_RUNTIME);
	ck_assert_int_eq(row(r, "db", "C_TOKEN")->skip, SKIP_RUNTIME);
	ck_assert_int_eq(row(r, "db", "D_TOKEN")->skip, SKIP_EMPTY);
	ck_assert_str_eq(value_of(r, "db", "E_TOKEN"), "dflt-value");
	ck_assert_str_eq(value_of(r, "db", "F_TOKEN"), "a$b");
	ck_assert_str_eq(value_of(r, "db", "G_TOKEN"), "12345");
	ck_assert_uint_eq(r->plan->nrows, 8); /* INJECT_* and VAULTD_* are ours */
	/* Skipped variables stay as they were. */
	ck_assert(cnode_is(at(r, "services.db.environment.A_TOKEN"), "${A_TOKEN}"));
	ck_assert(
	    cnode_is(at(r, "services.db.environment.POSTGRES_PASSWORD_FILE"), "/run/secrets/pg"));
	ck_assert(cnode_is(at(r, "services.db.environment.INJECT_SECRETS"), "pg"));
	no_plaintext(r, (const char *const[]){"dflt-value", "12345", NULL});
	run_free(r);
}
END_TEST

START_TEST(test_anchors_merge_keys_and_their_extension_blocks)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "x-db-env: &dbenv\n"
	                   "  POSTGRES_USER: app\n"
	                   "  POSTGRES_PASSWORD: anchored-pw\n"
	                   "x-labels: &labels {team: shop}\n"
	                   "services:\n"
	                   "  primary:\n"
	                   "    image: postgres:16\n"
	                   "    labels: *labels\n"
	                   "    environment: *dbenv\n"
	                   "  replica:\n"
	                   "    image: postgres:16\n"
	                   "    environment:\n"
	                   "      <<: *dbenv\n"
	                   "      POSTGRES_DB: replica\n";
	migrate_ok(r, text, &o);
	ck_assert_uint_eq(r->plan->nsecrets, 1);
	ck_assert_str_eq(secret_of(r, "replica", "POSTGRES_PASSWORD"), "primary_postgres_password");
	ck_assert(cnode_is(at(r, "services.replica.environment.POSTGRES_DB"), "replica"));
	/* The extension block that held the value goes; the other stays. */
	ck_assert_ptr_null(at(r, "x-db-env"));
	ck_assert_ptr_nonnull(at(r, "x-labels"));
	ck_assert_uint_ge(r->plan->nnotes, 1);
	ck_assert_ptr_nonnull(strstr(r->plan->notes[0], "x-db-env"));
	no_plaintext(r, (const char *const[]){"anchored-pw", NULL});
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

START_TEST(test_env_file_values_move_and_the_file_is_copied_without_them)
{
	struct run *r = run_new();
	put_file(
	    r, "app.env",
	    "# app\nLOG=info\nexport API_KEY='k-987654'\nSESSION_SECRET=\"s e c\"\nEMPTY_TOKEN=\n");
	put_file(r, "over.env", "DB_PASSWORD=from-file\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  app:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: [app.env, over.env]\n"
	                   "    environment: {DB_PASSWORD: from-environment}\n"
	                   "  other:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: app.env\n";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(value_of(r, "app", "API_KEY"), "k-987654");
	ck_assert_str_eq(value_of(r, "app", "SESSION_SECRET"), "s e c");
	ck_assert_str_eq(value_of(r, "app", "DB_PASSWORD"),
	                 "from-environment"); /* environment: wins */
	ck_assert_str_eq(row(r, "app", "API_KEY")->source, "app.env");
	ck_assert_int_eq(row(r, "app", "EMPTY_TOKEN")->skip, SKIP_EMPTY);
	ck_assert_str_eq(secret_of(r, "other", "API_KEY"), "app_api_key");
	ck_assert(cnode_is(at(r, "services.other.env_file"), "app.env.migrated"));
	ck_assert(cnode_is(at(r, "services.app.env_file")->items[0], "app.env.migrated"));
	ck_assert_uint_eq(r->plan->nenvfiles, 2);
	const struct compose_file_out *f = &r->plan->envfiles[0];
	ck_assert(!f->in_place);
	ck_assert_ptr_nonnull(strstr(f->path, "/app.env.migrated"));
	ck_assert_str_eq((const char *)f->text->data, "# app\nLOG=info\nEMPTY_TOKEN=\n");
	ck_assert_str_eq((const char *)r->plan->envfiles[1].text->data, "");
	/* In place when the output replaces the input. */
	o.envfiles_in_place = true;
	migrate_ok(r, text, &o);
	ck_assert(r->plan->envfiles[0].in_place);
	ck_assert(cnode_is(at(r, "services.other.env_file"), "app.env"));
	run_free(r);
}
END_TEST

START_TEST(test_urls_with_passwords_and_var_flags)
{
	struct run *r = run_new();
	char *vars[] = {"app.PLAIN_SETTING", "app.NOT_THERE"};
	char *eps[] = {"app=[\"/bin/app\", \"serve\"]", "ghost=/x"};
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	o.vars = vars;
	o.nvars = 2;
	o.entrypoints = eps;
	o.nentrypoints = 2;
	const char *text = "services:\n"
	                   "  app:\n"
	                   "    image: example/app:1\n"
	                   "    command: [--verbose]\n"
	                   "    environment:\n"
	                   "      DATABASE_URL: postgres://app:url-pw@db/app\n"
	                   "      PUBLIC_URL: https://example.com/\n"
	                   "      PLAIN_SETTING: not-really-secret\n";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(value_of(r, "app", "DATABASE_URL"), "postgres://app:url-pw@db/app");
	ck_assert_str_eq(value_of(r, "app", "PLAIN_SETTING"), "not-really-secret");
	ck_assert(cnode_is(at(r, "services.app.environment.PUBLIC_URL"), "https://example.com/"));
	const struct cnode *ep = at(r, "services.app.entrypoint");
	ck_assert(cnode_is(ep->items[2], "/bin/app") && cnode_is(ep->items[3], "serve"));
	ck_assert(cnode_is(at(r, "services.app.command")->items[0], "--verbose"));
	bool var_note = false, ep_note = false;
	for (size_t i = 0; i < r->plan->nnotes; i++) {
		var_note |= strstr(r->plan->notes[i], "--var app.NOT_THERE") != NULL;
		ep_note |= strstr(r->plan->notes[i], "no service ghost") != NULL;
	}
	ck_assert(var_note && ep_note);
	no_plaintext(r, (const char *const[]){"url-pw", "not-really-secret", NULL});
	run_free(r);
}
END_TEST

START_TEST(test_build_services_are_wrapped_from_their_dockerfile)
{
	struct run *r = run_new();
	put_file(r, "worker/Dockerfile",
	         "FROM python:3.12-slim\nCMD [\"python\", \"-m\", \"worker\"]\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  worker:\n"
	                   "    build: ./worker\n"
	                   "    image: example/worker\n"
	                   "    user: '1000:1000'\n"
	                   "    environment: {QUEUE_TOKEN: q-tok-42, POSTGRES_PASSWORD: x-pw-1}\n";
	migrate_ok(r, text, &o);
	ck_assert(cnode_is(at(r, "services.worker.entrypoint")->items[1], "--"));
	ck_assert_uint_eq(at(r, "services.worker.entrypoint")->n, 2);
	ck_assert(cnode_is(at(r, "services.worker.command")->items[2], "worker"));
	/* Built images are not the official postgres: no VAR_FILE promise. */
	ck_assert_int_eq(row(r, "worker", "POSTGRES_PASSWORD")->delivery, DELIVER_INJECT_ENV);
	ck_assert(cnode_is(at(r, "services.worker.tmpfs")->items[0],
	                   "/run/secrets:mode=0755,uid=1000,gid=1000"));
	run_free(r);
}
END_TEST

START_TEST(test_numeric_user_owns_the_tmpfs)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r,
	           "services:\n  db:\n    image: postgres\n    user: '999:998'\n    environment: "
	           "[POSTGRES_PASSWORD=pw-999]\n",
	           &o);
	ck_assert(cnode_is(at(r, "services.db.tmpfs")->items[0],
	                   "/run/secrets:mode=0755,uid=999,gid=998"));
	run_free(r);
}
END_TEST

START_TEST(test_unknown_image_without_entrypoint_is_refused_naming_the_service)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	ck_assert_int_eq(
	    migrate(r,
	            "services:\n  shop:\n    image: example/shop\n    environment: [API_KEY=k-1]\n",
	            &o),
	    -EINVAL);
	ck_assert_msg(strstr(r->err, "service shop") && strstr(r->err, "--entrypoint shop=CMD"),
	              "got: %s", r->err);
	ck_assert_ptr_null(r->plan);
	run_free(r);
}
END_TEST

START_TEST(test_documents_that_cannot_be_migrated_are_refused)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	ck_assert_int_eq(migrate(r, "- a\n- b\n", &o), -EINVAL);
	ck_assert_msg(strstr(r->err, "not a mapping"), "got: %s", r->err);
	ck_assert_int_eq(migrate(r, "version: '3'\n", &o), -EINVAL);
	ck_assert_msg(strstr(r->err, "no services:"), "got: %s", r->err);
	ck_assert_int_eq(migrate(r, "services:\n  a: [1]\n", &o), -EINVAL);
	ck_assert_msg(strstr(r->err, "service a is not a mapping"), "got: %s", r->err);
	ck_assert_int_eq(
	    migrate(r, "services:\n  a:\n    image: postgres\n    env_file: missing.env\n", &o),
	    -EINVAL);
	ck_assert_msg(strstr(r->err, "missing.env"), "got: %s", r->err);
	o.mode = COMPOSE_MODE_FILES;
	ck_assert_int_eq(migrate(r,
	                         "version: '2.4'\nservices:\n  a: {image: postgres, environment: "
	                         "[POSTGRES_PASSWORD=x]}\n",
	                         &o),
	                 -EINVAL);
	ck_assert_msg(strstr(r->err, "3.1"), "got: %s", r->err);
	run_free(r);
}
END_TEST

START_TEST(test_env_file_over_the_limit_is_refused)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	char path[256];
	snprintf(path, sizeof(path), "%s/big.env", r->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, COMPOSE_MAX_ENVFILE_BYTES + 1), 0);
	close(fd);
	ck_assert_int_eq(
	    migrate(r, "services:\n  a:\n    image: postgres\n    env_file: big.env\n", &o),
	    -EINVAL);
	ck_assert_msg(strstr(r->err, "big.env: larger than 1 MiB"), "got: %s", r->err);
	ck_assert_ptr_null(r->plan);
	/* What compose cannot decode either is refused, not guessed at. */
	put_file(r, "latin1.env", "DB_PASSWORD=caf\xe9\n");
	ck_assert_int_eq(
	    migrate(r, "services:\n  a:\n    image: postgres\n    env_file: latin1.env\n", &o),
	    -EINVAL);
	ck_assert_msg(strstr(r->err, "latin1.env: it is not UTF-8 text"), "got: %s", r->err);
	run_free(r);
}
END_TEST

START_TEST(test_name_template_collisions_and_invalid_names_are_refused)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  a: {image: postgres, environment: [POSTGRES_PASSWORD=one]}\n"
	                   "  b: {image: postgres, environment: [POSTGRES_PASSWORD=two]}\n";
	o.name_template = "{var}";
	ck_assert_int_eq(migrate(r, text, &o), -EINVAL);
	ck_assert_msg(strstr(r->err, "both be secret postgres_password"), "got: %s", r->err);
	o.name_template = "../{service}";
	ck_assert_int_eq(migrate(r, text, &o), -EINVAL);
	ck_assert_msg(strstr(r->err, "invalid secret name"), "got: %s", r->err);
	o.name_template = "prod.{service}.{var}";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(secret_of(r, "b", "POSTGRES_PASSWORD"), "prod.b.postgres_password");
	run_free(r);
}
END_TEST

START_TEST(test_leftover_copies_of_a_value_are_reported)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r,
	           "services:\n  cache:\n    image: redis\n    command: redis-server --requirepass "
	           "c4che-pw\n"
	           "    environment: [REDIS_PASSWORD=c4che-pw]\n",
	           &o);
	bool found = false;
	for (size_t i = 0; i < r->plan->nnotes; i++)
		found |= strstr(r->plan->notes[i], "services.cache.command") != NULL;
	ck_assert_msg(found, "expected a note about services.cache.command");
	run_free(r);
}
END_TEST

/* build: ~ builds nothing: the service runs its image (postgres, known),
 * not a Dockerfile in a directory named "~". */
START_TEST(test_a_null_build_is_no_build)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r,
	           "services:\n  db:\n    image: postgres:16\n    build: ~\n"
	           "    environment: [POSTGRES_PASSWORD=pw12345]\n",
	           &o);
	ck_assert_str_eq(secret_of(r, "db", "POSTGRES_PASSWORD"), "db_postgres_password");
	ck_assert_uint_eq(r->plan->nnotes, 0);
	run_free(r);
}
END_TEST

/* A key holding a value is reported by where it is: the note, and the paths
 * of everything under that key, never spell the key (so never the value). */
START_TEST(test_a_leftover_key_is_not_spelled_out)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r,
	           "services:\n  db:\n    image: postgres\n"
	           "    environment: {POSTGRES_PASSWORD: SEKRITk2}\n"
	           "  other:\n    image: redis\n    environment: {SEKRITk2: SEKRITk2}\n"
	           "    labels:\n      xSEKRITk2y: {a: b}\n",
	           &o);
	bool key_env = false, key_label = false, value = false;
	for (size_t i = 0; i < r->plan->nnotes; i++) {
		const char *n = r->plan->notes[i];
		ck_assert_msg(!strstr(n, "SEKRIT"), "a note spells the value: %s", n);
		key_env |= strstr(n, "in a key of services.other.environment ") != NULL;
		key_label |= strstr(n, "in a key of services.other.labels ") != NULL;
		value |= strstr(n, "in services.other.environment.<that key> ") != NULL;
	}
	ck_assert_msg(key_env && key_label && value, "expected three notes (%d %d %d)", key_env,
	              key_label, value);
	run_free(r);
}
END_TEST

static bool has_note(const struct run *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->plan->nnotes; i++)
		if (strstr(r->plan->notes[i], a) && (!b || strstr(r->plan->notes[i], b)))
			return true;
	return false;
}

static const struct compose_file_out *envfile_out(const struct run *r, const char *shown)
{
	for (size_t i = 0; i < r->plan->nenvfiles; i++)
		if (strcmp(r->plan->envfiles[i].shown, shown) == 0)
			return &r->plan->envfiles[i];
	return NULL;
}

/* An env_file outside the project directory (by path or through a symlink)
 * may be shared with other projects: its values stay, and nothing is
 * written next to it. */
START_TEST(test_env_files_outside_the_project_are_left_alone)
{
	struct run *r = run_new();
	put_file(r, "shared/common.env", "POSTGRES_PASSWORD=sh4red-pw\n");
	put_file(r, "proj/own.env", "API_TOKEN=own-tok\n");
	char target[300], link[300];
	snprintf(target, sizeof(target), "%s/shared/common.env", r->dir);
	snprintf(link, sizeof(link), "%s/proj/link.env", r->dir);
	ck_assert_int_eq(symlink(target, link), 0);
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	char proj[300];
	snprintf(proj, sizeof(proj), "%s/proj", r->dir);
	o.project_dir = proj;
	migrate_ok(r,
	           "services:\n"
	           "  db: {image: postgres, env_file: ../shared/common.env}\n"
	           "  db2: {image: postgres, env_file: link.env}\n"
	           "  app: {image: python:3.12, env_file: own.env}\n",
	           &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_OUTSIDE);
	ck_assert_int_eq(row(r, "db2", "POSTGRES_PASSWORD")->skip, SKIP_OUTSIDE);
	ck_assert_str_eq(value_of(r, "app", "API_TOKEN"), "own-tok");
	ck_assert_uint_eq(r->plan->nsecrets, 1);
	ck_assert_uint_eq(r->plan->nenvfiles, 1);
	ck_assert_ptr_nonnull(envfile_out(r, "own.env.migrated"));
	run_free(r);
}
END_TEST

/* Lines compose skips are named in a note (by number, never by content). */
START_TEST(test_env_file_lines_compose_skips_are_noted)
{
	struct run *r = run_new();
	put_file(r, "app.env", "B_TOKEN=\"s3cr3t-unterminated\nAPI_TOKEN=tok-ok\njunk line\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r, "services:\n  app: {image: python:3.12, env_file: app.env}\n", &o);
	ck_assert_str_eq(value_of(r, "app", "API_TOKEN"), "tok-ok");
	ck_assert(has_note(r, "line 1 of env_file app.env is not env_file syntax", NULL));
	ck_assert(has_note(r, "line 3 of env_file app.env", NULL));
	for (size_t i = 0; i < r->plan->nnotes; i++)
		ck_assert_msg(!strstr(r->plan->notes[i], "s3cr3t"), "%s", r->plan->notes[i]);
	run_free(r);
}
END_TEST

START_TEST(test_env_file_lines_other_lines_refer_to_stay)
{
	struct run *r = run_new();
	/* MYSQL_PWD stays (not secret-looking) and reads DB_PASSWORD; PLAIN
	 * reads Y_TOKEN, which reads X_TOKEN: keeping one keeps the next. */
	put_file(r, "app.env",
	         "DB_PASSWORD=s3cr3tpw\n"
	         "MYSQL_PWD=${DB_PASSWORD}\n"
	         "X_TOKEN=base-tok\n"
	         "Y_TOKEN=${X_TOKEN}-2\n"
	         "PLAIN=$Y_TOKEN\n"
	         "API_TOKEN=tok-unreferenced\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  app:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: app.env\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "app", "DB_PASSWORD")->skip, SKIP_REFERENCED);
	ck_assert_int_eq(row(r, "app", "X_TOKEN")->skip, SKIP_REFERENCED);
	ck_assert_int_eq(row(r, "app", "Y_TOKEN")->skip, SKIP_REFERENCED);
	ck_assert_str_eq(value_of(r, "app", "API_TOKEN"), "tok-unreferenced");
	ck_assert_uint_eq(r->plan->nsecrets, 1);
	const struct compose_file_out *f = envfile_out(r, "app.env.migrated");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq((const char *)f->text->data, "DB_PASSWORD=s3cr3tpw\n"
	                                              "MYSQL_PWD=${DB_PASSWORD}\n"
	                                              "X_TOKEN=base-tok\n"
	                                              "Y_TOKEN=${X_TOKEN}-2\n"
	                                              "PLAIN=$Y_TOKEN\n");
	ck_assert_msg(has_note(r, "DB_PASSWORD (app.env)", "MYSQL_PWD in app.env"),
	              "expected a note naming MYSQL_PWD as DB_PASSWORD's reader");
	ck_assert_str_eq(compose_skip_text(SKIP_REFERENCED),
	                 "skipped: referenced as ${...} elsewhere: migrate by hand");
	run_free(r);
}
END_TEST

START_TEST(test_project_dotenv_lines_the_compose_file_interpolates_stay)
{
	struct run *r = run_new();
	put_file(r, ".env", "POSTGRES_PASSWORD=pgpw-777\nREDIS_PASSWORD=rd-pw-1\n");
	put_file(r, "db.env", "POSTGRES_PASSWORD=pgpw-777\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	o.envfiles_in_place = true;
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    env_file: ./.env\n"
	                   "  app:\n"
	                   "    image: python:3.12\n"
	                   "    environment:\n"
	                   "      DB_PASS: ${POSTGRES_PASSWORD}\n"
	                   "      LITERAL: $${REDIS_PASSWORD}\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_REFERENCED);
	ck_assert_int_eq(row(r, "app", "DB_PASS")->skip, SKIP_RUNTIME);
	/* $$ is a literal $: REDIS_PASSWORD is not read from .env. */
	ck_assert_str_eq(secret_of(r, "db", "REDIS_PASSWORD"), "db_redis_password");
	const struct compose_file_out *f = envfile_out(r, "./.env");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq((const char *)f->text->data, "POSTGRES_PASSWORD=pgpw-777\n");
	ck_assert_msg(has_note(r, "POSTGRES_PASSWORD (./.env)", "the compose file"),
	              "expected a note naming the compose file as the reader");
	/* Any other env_file is not where compose interpolates from. */
	text = "services:\n"
	       "  db:\n"
	       "    image: postgres:16\n"
	       "    env_file: db.env\n"
	       "  app:\n"
	       "    image: python:3.12\n"
	       "    environment: {DB_PASS: '${POSTGRES_PASSWORD}'}\n";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(secret_of(r, "db", "POSTGRES_PASSWORD"), "db_postgres_password");
	run_free(r);
}
END_TEST

/* ${VAR:-default} is its default only when nothing sets VAR: with VAR in the
 * project's .env, compose passes .env's value, so it is not migrated. */
START_TEST(test_default_of_a_variable_dotenv_sets_is_not_frozen)
{
	struct run *r = run_new();
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    environment:\n"
	                   "      POSTGRES_PASSWORD: ${PG_PASS:-defaultpw}\n"
	                   "      POSTGRES_USER: ${PG_USER:-app}\n";
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_NONE);
	put_file(r, ".env", "PG_PASS=from-dotenv\n");
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_RUNTIME);
	run_free(r);
}
END_TEST

/* Environment values as written in a mapping: compose passes what YAML makes
 * of them, so only text that every YAML version keeps as is may move. */
static const struct {
	const char *yaml;
	bool moves;
	const char *value; /* when it moves */
} typed[] = {
    {"12345", true, "12345"},
    {"0", true, "0"},
    {"-7", true, "-7"},
    {"9223372036854775807", true, "9223372036854775807"},
    {"'012345'", true, "012345"},
    {"\"0x1F\"", true, "0x1F"},
    {"!!str 1.0", true, "1.0"},
    {"3xK9-pw", true, "3xK9-pw"},
    {"1e3x", true, "1e3x"},
    {"12-34-56", true, "12-34-56"},
    {"yesplease", true, "yesplease"},
    {"012345", false, NULL},
    {"09", false, NULL},
    {"-0", false, NULL},
    {"+7", false, NULL},
    {"9223372036854775808", false, NULL},
    {"0x1F", false, NULL},
    {"0o17", false, NULL},
    {"0b101", false, NULL},
    {"1_000", false, NULL},
    {"1:20", false, NULL},
    {"1.0", false, NULL},
    {"1.", false, NULL},
    {"1e3", false, NULL},
    {"-1.5E-3", false, NULL},
    {".5", false, NULL},
    {".inf", false, NULL},
    {"-.Inf", false, NULL},
    {".NaN", false, NULL},
    {"true", false, NULL},
    {"False", false, NULL},
    {"yes", false, NULL},
    {"NO", false, NULL},
    {"on", false, NULL},
    {"Off", false, NULL},
    {"y", false, NULL},
    {"N", false, NULL},
    {"2001-12-14", false, NULL},
    {"!!int 0x1F", false, NULL},
};

START_TEST(test_unquoted_values_yaml_reads_as_numbers_or_bools_are_skipped)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	char text[256];
	snprintf(text, sizeof(text),
	         "services:\n  app:\n    image: python:3.12\n    environment:\n"
	         "      API_TOKEN: %s\n",
	         typed[_i].yaml);
	migrate_ok(r, text, &o);
	const struct compose_row *w = row(r, "app", "API_TOKEN");
	if (typed[_i].moves) {
		ck_assert_msg(w->skip == SKIP_NONE, "%s: expected it to move, got skip %d",
		              typed[_i].yaml, w->skip);
		ck_assert_str_eq(value_of(r, "app", "API_TOKEN"), typed[_i].value);
	} else {
		ck_assert_msg(w->skip == SKIP_NOT_TEXT, "%s: expected SKIP_NOT_TEXT, got %d",
		              typed[_i].yaml, w->skip);
		ck_assert_uint_eq(r->plan->nsecrets, 0);
		ck_assert_msg(strstr(r->yaml, typed[_i].yaml), "%s is gone from the output:\n%s",
		              typed[_i].yaml, r->yaml);
		second_run_changes_nothing(r, &o);
	}
	run_free(r);
}
END_TEST

START_TEST(test_list_entries_and_env_files_are_strings_whatever_they_look_like)
{
	struct run *r = run_new();
	put_file(r, "app.env", "API_TOKEN=0x1F\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    environment: [POSTGRES_PASSWORD=012345]\n"
	                   "  app:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: app.env\n";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(value_of(r, "db", "POSTGRES_PASSWORD"), "012345");
	ck_assert_str_eq(value_of(r, "app", "API_TOKEN"), "0x1F");
	ck_assert_str_eq(compose_skip_text(SKIP_NOT_TEXT),
	                 "skipped: unquoted value YAML reads as a number or boolean: quote it and "
	                 "run again");
	run_free(r);
}
END_TEST

/* A list environment that names a variable twice: compose takes the last
 * entry, so migrate takes its value, and the shadowed one (plaintext too)
 * leaves the file with it. */
START_TEST(test_a_variable_listed_twice_migrates_the_last_and_drops_the_first)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    environment:\n"
	                   "      - POSTGRES_PASSWORD=shadowed-pw1\n"
	                   "      - PGDATA=/data\n"
	                   "      - POSTGRES_PASSWORD=used-pw2\n";
	migrate_ok(r, text, &o);
	ck_assert_str_eq(value_of(r, "db", "POSTGRES_PASSWORD"), "used-pw2");
	ck_assert_uint_eq(r->plan->nsecrets, 1);
	const struct cnode *env = at(r, "services.db.environment");
	ck_assert_uint_eq(env->n, 3);
	ck_assert(cnode_is(env->items[0], "PGDATA=/data"));
	ck_assert(cnode_is(env->items[1], "POSTGRES_PASSWORD_FILE=/run/secrets/db_postgres_password"));
	no_plaintext(r, (const char *const[]){"shadowed-pw1", "used-pw2", NULL});
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

START_TEST(test_a_variable_beside_its_file_variable_is_left_alone)
{
	struct run *r = run_new();
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    environment:\n"
	                   "      POSTGRES_PASSWORD: hunter22\n"
	                   "      POSTGRES_PASSWORD_FILE: /run/secrets/mine\n"
	                   "  mysql:\n"
	                   "    image: mysql:8\n"
	                   "    environment:\n"
	                   "      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root\n"
	                   "      - MYSQL_ROOT_PASSWORD=r00t-pw\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_ALREADY_FILE);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD_FILE")->skip, SKIP_ALREADY_FILE);
	ck_assert_int_eq(row(r, "mysql", "MYSQL_ROOT_PASSWORD")->skip, SKIP_ALREADY_FILE);
	ck_assert_uint_eq(r->plan->nsecrets, 0);
	ck_assert(cnode_is(at(r, "services.db.environment.POSTGRES_PASSWORD"), "hunter22"));
	ck_assert(
	    cnode_is(at(r, "services.db.environment.POSTGRES_PASSWORD_FILE"), "/run/secrets/mine"));
	const struct cnode *menv = at(r, "services.mysql.environment");
	ck_assert_uint_eq(menv->n, 2);
	ck_assert(cnode_is(menv->items[0], "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root"));
	ck_assert(cnode_is(menv->items[1], "MYSQL_ROOT_PASSWORD=r00t-pw"));
	ck_assert_ptr_null(at(r, "services.db.entrypoint"));
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

START_TEST(test_a_file_variable_in_an_env_file_keeps_its_variable_too)
{
	struct run *r = run_new();
	put_file(r, "files.env", "POSTGRES_PASSWORD_FILE=/run/secrets/mine\n");
	put_file(r, "shared.env", "API_TOKEN=tok-shared-9\nLOG=info\n");
	struct compose_opts o = opts(r, COMPOSE_MODE_INJECT);
	const char *text = "services:\n"
	                   "  db:\n"
	                   "    image: postgres:16\n"
	                   "    env_file: files.env\n"
	                   "    environment: {POSTGRES_PASSWORD: hunter22}\n"
	                   "  a:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: shared.env\n"
	                   "    environment: [API_TOKEN_FILE=/run/secrets/a]\n"
	                   "  b:\n"
	                   "    image: python:3.12\n"
	                   "    env_file: shared.env\n";
	migrate_ok(r, text, &o);
	ck_assert_int_eq(row(r, "db", "POSTGRES_PASSWORD")->skip, SKIP_ALREADY_FILE);
	ck_assert(cnode_is(at(r, "services.db.environment.POSTGRES_PASSWORD"), "hunter22"));
	ck_assert_ptr_null(at(r, "services.db.environment.POSTGRES_PASSWORD_FILE"));
	/* a sets API_TOKEN_FILE: the shared line stays, for b too, which says why. */
	ck_assert_int_eq(row(r, "a", "API_TOKEN")->skip, SKIP_ALREADY_FILE);
	ck_assert_int_eq(row(r, "b", "API_TOKEN")->skip, SKIP_ALREADY_FILE);
	ck_assert_msg(has_note(r, "service b: API_TOKEN (shared.env)", "API_TOKEN_FILE"),
	              "expected a note for b");
	ck_assert_uint_eq(r->plan->nsecrets, 0);
	ck_assert_uint_eq(r->plan->nenvfiles, 0);
	ck_assert(cnode_is(at(r, "services.b.env_file"), "shared.env"));
	second_run_changes_nothing(r, &o);
	run_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compose_migrate");
	TCase *tc = tcase_create("migrate");
	tcase_add_test(tc, test_list_and_map_environments_both_migrate_in_inject_mode);
	tcase_add_test(tc, test_files_mode_uses_compose_secrets_for_images_that_read_file_vars);
	tcase_add_test(tc, test_one_secret_per_distinct_value);
	tcase_add_test(tc, test_skips_empty_runtime_and_already_file_values);
	tcase_add_test(tc, test_anchors_merge_keys_and_their_extension_blocks);
	tcase_add_test(tc, test_env_file_values_move_and_the_file_is_copied_without_them);
	tcase_add_test(tc, test_urls_with_passwords_and_var_flags);
	tcase_add_test(tc, test_build_services_are_wrapped_from_their_dockerfile);
	tcase_add_test(tc, test_numeric_user_owns_the_tmpfs);
	tcase_add_test(tc, test_unknown_image_without_entrypoint_is_refused_naming_the_service);
	tcase_add_test(tc, test_documents_that_cannot_be_migrated_are_refused);
	tcase_add_test(tc, test_env_file_over_the_limit_is_refused);
	tcase_add_test(tc, test_name_template_collisions_and_invalid_names_are_refused);
	tcase_add_test(tc, test_leftover_copies_of_a_value_are_reported);
	tcase_add_test(tc, test_a_leftover_key_is_not_spelled_out);
	tcase_add_test(tc, test_a_null_build_is_no_build);
	tcase_add_test(tc, test_env_file_lines_other_lines_refer_to_stay);
	tcase_add_test(tc, test_env_file_lines_compose_skips_are_noted);
	tcase_add_test(tc, test_env_files_outside_the_project_are_left_alone);
	tcase_add_test(tc, test_project_dotenv_lines_the_compose_file_interpolates_stay);
	tcase_add_test(tc, test_default_of_a_variable_dotenv_sets_is_not_frozen);
	tcase_add_loop_test(tc, test_unquoted_values_yaml_reads_as_numbers_or_bools_are_skipped, 0,
	                    (int)(sizeof(typed) / sizeof(typed[0])));
	tcase_add_test(tc, test_list_entries_and_env_files_are_strings_whatever_they_look_like);
	tcase_add_test(tc, test_a_variable_listed_twice_migrates_the_last_and_drops_the_first);
	tcase_add_test(tc, test_a_variable_beside_its_file_variable_is_left_alone);
	tcase_add_test(tc, test_a_file_variable_in_an_env_file_keeps_its_variable_too);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
