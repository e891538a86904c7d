/* inject's configuration: flags over INJECT_* variables, the secret, template
 * and VAR=NAME specs (good and bad), durations, signals, booleans, and the
 * whole-config checks (names, collisions, mode combinations). */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>

#include "check_support.h"
#include "config.h"
#include "exit_codes.h"
#include "inject_test.h"

static struct inject_config C;
static char ERR[1024];

/* Parses "inject ARGS..." (NULL-terminated) with the given environment. */
static int parse(char *const *env, ...)
{
	static char *argv[64];
	va_list ap;
	va_start(ap, env);
	int argc = 0;
	argv[argc++] = "inject";
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	config_free(&C);
	return config_parse(&C, argc, argv, env, ERR, sizeof(ERR));
}

#define NOENV ((char *const[]){NULL})
#define ENV(...) ((char *const[]){__VA_ARGS__, NULL})

static void teardown(void)
{
	config_free(&C);
}

START_TEST(test_flag_overrides_env_for_scalars)
{
	ck_assert_int_eq(parse(ENV("INJECT_DIR=/env/dir", "INJECT_SOCKET=/env.sock",
	                           "INJECT_WAIT=5", "INJECT_SECRETS=a"),
	                       "--dir", "/flag/dir", "--socket=/flag.sock", "--wait", "0.25", "--",
	                       "true", NULL),
	                 0);
	ck_assert_str_eq(C.dir, "/flag/dir");
	ck_assert_str_eq(C.socket, "/flag.sock");
	ck_assert_int_eq(C.wait_ms, 250);
}
END_TEST

START_TEST(test_env_applies_when_no_flag)
{
	ck_assert_int_eq(
	    parse(ENV("INJECT_DIR=/env/dir", "INJECT_SOCKET=/env.sock", "INJECT_WAIT=5",
	              "INJECT_SECRETS=a", "INJECT_USER=app:app", "INJECT_INIT=yes",
	              "INJECT_DEBOUNCE=0.5", "INJECT_RELOAD_SIGNAL=USR1"),
	          "true", NULL),
	    0);
	ck_assert_str_eq(C.dir, "/env/dir");
	ck_assert_str_eq(C.socket, "/env.sock");
	ck_assert_int_eq(C.wait_ms, 5000);
	ck_assert_str_eq(C.user, "app:app");
	ck_assert(C.init);
	ck_assert_int_eq(C.debounce_ms, 500);
	ck_assert_int_eq(C.reload_signal, SIGUSR1);
}
END_TEST

START_TEST(test_socket_precedence_flag_then_inject_socket_then_vaultd_socket)
{
	ck_assert_int_eq(parse(ENV("VAULTD_SOCKET=/v.sock", "INJECT_SECRETS=a"), "true", NULL), 0);
	ck_assert_str_eq(C.socket, "/v.sock");
	ck_assert_int_eq(
	    parse(ENV("VAULTD_SOCKET=/v.sock", "INJECT_SOCKET=/i.sock", "INJECT_SECRETS=a"), "true",
	          NULL),
	    0);
	ck_assert_str_eq(C.socket, "/i.sock");
	ck_assert_int_eq(parse(ENV("INJECT_SECRETS=a"), "true", NULL), 0);
	ck_assert_str_eq(C.socket, INJECT_DEFAULT_SOCKET);
	ck_assert_str_eq(C.dir, INJECT_DEFAULT_DIR);
	ck_assert_int_eq(C.wait_ms, INJECT_DEFAULT_WAIT_MS);
}
END_TEST

START_TEST(test_secret_flags_replace_inject_secrets)
{
	ck_assert_int_eq(parse(ENV("INJECT_SECRETS=env1,env2"), "--secret", "f1", "--secret", "f2",
	                       "true", NULL),
	                 0);
	ck_assert_uint_eq(C.n_secrets, 2);
	ck_assert_str_eq(C.secrets[0].name, "f1");
	ck_assert_str_eq(C.secrets[1].name, "f2");
}
END_TEST

START_TEST(test_inject_secrets_list_with_specs_and_blanks)
{
	ck_assert_int_eq(
	    parse(ENV("INJECT_SECRETS= redis_password, pg_pass:postgres.txt:0440:999:999\n"
	              "api.key::0600 ,tls_key:key.pem"),
	          "true", NULL),
	    0);
	ck_assert_uint_eq(C.n_secrets, 4);
	ck_assert_str_eq(C.secrets[0].name, "redis_password");
	ck_assert_str_eq(C.secrets[0].out.file, "redis_password");
	ck_assert_uint_eq(C.secrets[0].out.mode, 0400);
	ck_assert(!C.secrets[0].out.has_owner);
	ck_assert_str_eq(C.secrets[1].out.file, "postgres.txt");
	ck_assert_uint_eq(C.secrets[1].out.mode, 0440);
	ck_assert(C.secrets[1].out.has_owner);
	ck_assert_uint_eq(C.secrets[1].out.uid, 999);
	ck_assert_uint_eq(C.secrets[1].out.gid, 999);
	ck_assert_str_eq(C.secrets[2].out.file, "api.key");
	ck_assert_uint_eq(C.secrets[2].out.mode, 0600);
	ck_assert_str_eq(C.secrets[3].out.file, "key.pem");
	ck_assert_uint_eq(C.n_names, 4);
}
END_TEST

/* The variables not covered above, each beside its flag. "other" is a value
 * of the variable that the flag must override (a boolean flag can only say
 * yes, so its variable says no). Every case runs with --watch, which the
 * --init-only settings and --on-change need. */
static const struct env_flag_case {
	const char *var, *value; /* the variable alone ... */
	const char *flag, *arg;  /* ... gives what this flag gives (arg NULL: a switch) */
	const char *other;
} env_flag_cases[] = {
    {"INJECT_TOKEN_FILE", "/run/token", "--token-file", "/run/token", "/env/token"},
    {"INJECT_TEMPLATES", "/etc/t.tmpl:t.conf:0440:1:2", "--template", "/etc/t.tmpl:t.conf:0440:1:2",
     "/env.tmpl:env.conf,/env2.tmpl:env2.conf"},
    {"INJECT_GROUP", "1", "--group", NULL, "0"},
    {"INJECT_KEEP", "yes", "--keep", NULL, "no"},
    {"INJECT_PREVIOUS", "true", "--previous", NULL, "false"},
    {"INJECT_ALLOW_DISK", "on", "--allow-disk", NULL, "off"},
    {"INJECT_GRACE", "2.5", "--grace", "2.5", "9"},
    {"INJECT_ON_CHANGE", "/bin/reload --now", "--on-change", "/bin/reload --now", "/bin/other"},
};

/* The settings those variables reach, as one comparable line. */
static void describe(const struct inject_config *c, char *buf, size_t cap)
{
	size_t off = (size_t)snprintf(buf, cap,
	                              "token_file=%s group=%d keep=%d previous=%d "
	                              "allow_disk=%d grace_ms=%d templates=[",
	                              c->token_file ? c->token_file : "(none)", c->group, c->keep,
	                              c->previous, c->allow_disk, c->grace_ms);
	for (size_t i = 0; i < c->n_templates && off < cap; i++) {
		const struct template_spec *t = &c->templates[i];
		off += (size_t)snprintf(buf + off, cap - off, " %s:%s:%o:%d:%u:%u", t->src,
		                        t->out.file, (unsigned)t->out.mode, t->out.has_owner,
		                        (unsigned)t->out.uid, (unsigned)t->out.gid);
	}
	off += off < cap ? (size_t)snprintf(buf + off, cap - off, " ] on_change=[") : 0;
	for (size_t i = 0; c->on_change[i] && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, " %s", c->on_change[i]);
	if (off < cap)
		snprintf(buf + off, cap - off, " ]");
	ck_assert_msg(off < cap, "describe: buffer too small");
}

/* Parses "inject --watch --secret a [FLAG [ARG]] true" with env, describes it. */
static void parse_case(const struct env_flag_case *k, char *const *env, bool with_flag, char *buf,
                       size_t cap)
{
	int r;
	if (!with_flag)
		r = parse(env, "--watch", "--secret", "a", "true", NULL);
	else if (k->arg)
		r = parse(env, "--watch", "--secret", "a", k->flag, k->arg, "true", NULL);
	else
		r = parse(env, "--watch", "--secret", "a", k->flag, "true", NULL);
	ck_assert_msg(r == 0, "%s: parse failed: %s", k->var, ERR);
	describe(&C, buf, cap);
}

START_TEST(test_each_variable_gives_what_its_flag_gives)
{
	const struct env_flag_case *k = &env_flag_cases[_i];
	char var[256], by_var[2048], by_flag[2048], neither[2048];
	snprintf(var, sizeof(var), "%s=%s", k->var, k->value);
	parse_case(k, NOENV, false, neither, sizeof(neither));
	parse_case(k, ENV(var), false, by_var, sizeof(by_var));
	parse_case(k, NOENV, true, by_flag, sizeof(by_flag));
	/* Else the case would prove nothing: the value must not be the default. */
	ck_assert_msg(strcmp(by_flag, neither) != 0, "%s %s changes nothing", k->flag,
	              k->arg ? k->arg : "");
	ck_assert_msg(strcmp(by_var, by_flag) == 0, "%s gives\n  %s\nbut %s %s gives\n  %s", var,
	              by_var, k->flag, k->arg ? k->arg : "", by_flag);
}
END_TEST

START_TEST(test_each_flag_overrides_its_variable)
{
	const struct env_flag_case *k = &env_flag_cases[_i];
	char var[256], both[2048], by_flag[2048], by_other[2048];
	snprintf(var, sizeof(var), "%s=%s", k->var, k->other);
	parse_case(k, ENV(var), false, by_other, sizeof(by_other));
	parse_case(k, NOENV, true, by_flag, sizeof(by_flag));
	parse_case(k, ENV(var), true, both, sizeof(both));
	ck_assert_msg(strcmp(by_other, by_flag) != 0, "%s gives what %s gives: no override to see",
	              var, k->flag);
	ck_assert_msg(strcmp(both, by_flag) == 0, "%s with %s %s gives\n  %s\nnot the flag's\n  %s",
	              var, k->flag, k->arg ? k->arg : "", both, by_flag);
}
END_TEST

/* Every one of these must be refused, with a reason. */
static const char *const bad_specs[] = {
    "",                          /* no name */
    "../etc",                    /* traversal */
    "a/b",                       /* a path */
    ".hidden",                   /* leading dot */
    "a..b",                      /* ".." anywhere */
    "ok:../x",                   /* file name traversal */
    "ok:sub/file",               /* file name with a slash */
    "ok:file:999",               /* mode not octal */
    "ok:file:01000",             /* mode with setuid-ish bits beyond 0777 */
    "ok:file:4755",              /* setuid bit */
    "ok:file:0400:1",            /* UID without GID */
    "ok:file:0400:x:1",          /* UID not a number */
    "ok:file:0400:1:-1",         /* negative GID */
    "ok:file:0400:1:4294967295", /* (gid_t)-1 */
    "ok:file:0400:1:2:extra",    /* too many fields */
    "ok:file:0x1ff",             /* hex mode */
    "n\xc3\xa9",                 /* non-ASCII */
};

START_TEST(test_bad_secret_spec_is_refused)
{
	struct secret_spec s;
	memset(&s, 0x5a, sizeof(s));
	struct secret_spec before = s;
	ERR[0] = '\0';
	ck_assert_msg(config_parse_secret_spec(bad_specs[_i], &s, ERR, sizeof(ERR)) == -EINVAL,
	              "spec \"%s\" was accepted", bad_specs[_i]);
	ck_assert_msg(ERR[0] != '\0', "no reason given for \"%s\"", bad_specs[_i]);
	ck_assert_msg(memcmp(&s, &before, sizeof(s)) == 0, "output written on failure");
}
END_TEST

START_TEST(test_bad_spec_in_inject_secrets_names_the_variable)
{
	ck_assert_int_eq(parse(ENV("INJECT_SECRETS=good,../bad"), "true", NULL), -EINVAL);
	ck_assert_msg(strstr(ERR, "INJECT_SECRETS") != NULL, "error: %s", ERR);
	ck_assert_int_eq(parse(NOENV, "--secret", "x:y:0400:1", "true", NULL), -EINVAL);
	ck_assert_msg(strstr(ERR, "--secret") != NULL, "error: %s", ERR);
}
END_TEST

START_TEST(test_name_of_128_chars_is_accepted_129_refused)
{
	char name[131];
	memset(name, 'a', 128);
	name[128] = '\0';
	struct secret_spec s;
	ck_assert_int_eq(config_parse_secret_spec(name, &s, ERR, sizeof(ERR)), 0);
	name[128] = 'a';
	name[129] = '\0';
	ck_assert_int_eq(config_parse_secret_spec(name, &s, ERR, sizeof(ERR)), -EINVAL);
}
END_TEST

START_TEST(test_duplicate_secret_is_refused)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--secret", "a:other", "true", NULL),
	                 -EINVAL);
}
END_TEST

START_TEST(test_two_outputs_to_one_file_are_refused)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a:f", "--secret", "b:f", "true", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "\"f\""));
	/* With --previous, a's companion a.previous collides with b's file. */
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--secret", "b:a.previous", "true", NULL),
	                 0);
	ck_assert_int_eq(
	    parse(NOENV, "--previous", "--secret", "a", "--secret", "b:a.previous", "true", NULL),
	    -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--template", "/t:a", "true", NULL),
	                 -EINVAL);
}
END_TEST

/* Two settings of one variable in the command's environment are refused:
 * getenv would take whichever came first. */
START_TEST(test_one_variable_set_twice_is_refused)
{
	ck_assert_int_eq(parse(NOENV, "--file-env", "X=a", "--env", "X_FILE=b", "true", NULL),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "both set X_FILE"));
	ck_assert_int_eq(parse(NOENV, "--user", "app", "--env", "HOME=a", "true", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "--user sets HOME"));
	/* Without --user, HOME is the user's to set; X_FILES is another name. */
	ck_assert_int_eq(parse(NOENV, "--env", "HOME=a", "true", NULL), 0);
	ck_assert_int_eq(parse(NOENV, "--file-env", "X=a", "--env", "X_FILES=b", "true", NULL), 0);
	ck_assert_int_eq(parse(NOENV, "--file-env", "X=a", "--env", "X=b", "true", NULL), 0);
}
END_TEST

START_TEST(test_file_env_adds_a_secret_with_default_file)
{
	ck_assert_int_eq(parse(NOENV, "--file-env", "POSTGRES_PASSWORD=pg_pass", "--secret",
	                       "other:o.txt", "true", NULL),
	                 0);
	ck_assert_uint_eq(C.n_file_envs, 1);
	ck_assert_str_eq(C.file_envs[0].var, "POSTGRES_PASSWORD");
	ck_assert_str_eq(C.file_envs[0].name, "pg_pass");
	ck_assert_uint_eq(C.n_secrets, 2);
	ck_assert_str_eq(C.secrets[1].name, "pg_pass");
	ck_assert_str_eq(C.secrets[1].out.file, "pg_pass");
	ck_assert_uint_eq(C.secrets[1].out.mode, 0400);
}
END_TEST

START_TEST(test_file_env_uses_the_listed_secrets_file)
{
	ck_assert_int_eq(
	    parse(ENV("INJECT_FILE_ENV=PGPASS=pg"), "--secret", "pg:pw.txt", "true", NULL), 0);
	ck_assert_uint_eq(C.n_secrets, 1);
	ck_assert_str_eq(C.secrets[0].out.file, "pw.txt");
}
END_TEST

START_TEST(test_env_names_are_fetched_but_get_no_file)
{
	ck_assert_int_eq(parse(NOENV, "--env", "TOKEN=api_token", "true", NULL), 0);
	ck_assert_uint_eq(C.n_secrets, 0);
	ck_assert_uint_eq(C.n_names, 1);
	ck_assert_str_eq(C.names[0], "api_token");
}
END_TEST

static const char *const bad_maps[] = {"NOEQUALS", "=name",    "1VAR=name", "V-AR=name",
                                       "VAR=",     "VAR=../x", "VAR=a b"};

START_TEST(test_bad_env_map_is_refused)
{
	struct env_map m;
	ck_assert_msg(config_parse_env_map(bad_maps[_i], &m, ERR, sizeof(ERR)) == -EINVAL,
	              "\"%s\" accepted", bad_maps[_i]);
}
END_TEST

START_TEST(test_template_spec)
{
	struct template_spec t;
	ck_assert_int_eq(config_parse_template_spec("/etc/redis.tmpl:redis.conf:0440:0:999", &t,
	                                            ERR, sizeof(ERR)),
	                 0);
	ck_assert_str_eq(t.src, "/etc/redis.tmpl");
	ck_assert_str_eq(t.out.file, "redis.conf");
	ck_assert_uint_eq(t.out.mode, 0440);
	ck_assert(t.out.has_owner);
	ck_assert_uint_eq(t.out.gid, 999);
	ck_assert_int_eq(config_parse_template_spec("/etc/x.tmpl", &t, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_int_eq(config_parse_template_spec(":dst", &t, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_int_eq(config_parse_template_spec("/src:../dst", &t, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_int_eq(config_parse_template_spec("/src:/abs/dst", &t, ERR, sizeof(ERR)),
	                 -EINVAL);
}
END_TEST

START_TEST(test_durations)
{
	int ms = -1;
	ck_assert_int_eq(config_parse_duration_ms("30", &ms), 0);
	ck_assert_int_eq(ms, 30000);
	ck_assert_int_eq(config_parse_duration_ms("0.5", &ms), 0);
	ck_assert_int_eq(ms, 500);
	ck_assert_int_eq(config_parse_duration_ms("1.25", &ms), 0);
	ck_assert_int_eq(ms, 1250);
	ck_assert_int_eq(config_parse_duration_ms("0", &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(config_parse_duration_ms("86400", &ms), 0);
	static const char *const bad[] = {
	    "", "-1", "1.", ".5", "1.0001", "1s", "86401", "1e3", "99999999999999999999", " 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		ck_assert_msg(config_parse_duration_ms(bad[i], &ms) == -EINVAL, "\"%s\" accepted",
		              bad[i]);
		ck_assert_int_eq(ms, 42);
	}
}
END_TEST

START_TEST(test_signals)
{
	int s = 0;
	ck_assert_int_eq(config_parse_signal("HUP", &s), 0);
	ck_assert_int_eq(s, SIGHUP);
	ck_assert_int_eq(config_parse_signal("sigusr2", &s), 0);
	ck_assert_int_eq(s, SIGUSR2);
	ck_assert_int_eq(config_parse_signal("15", &s), 0);
	ck_assert_int_eq(s, SIGTERM);
	ck_assert_int_eq(config_parse_signal("KILL", &s), -EINVAL);
	ck_assert_int_eq(config_parse_signal("SIGSTOP", &s), -EINVAL);
	ck_assert_int_eq(config_parse_signal("0", &s), -EINVAL);
	ck_assert_int_eq(config_parse_signal("65", &s), -EINVAL);
	ck_assert_int_eq(config_parse_signal("NOPE", &s), -EINVAL);
	ck_assert_int_eq(config_parse_signal("", &s), -EINVAL);
}
END_TEST

START_TEST(test_booleans)
{
	bool b = false;
	ck_assert_int_eq(config_parse_bool("TRUE", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(config_parse_bool("off", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(config_parse_bool("2", &b), -EINVAL);
	ck_assert_int_eq(parse(ENV("INJECT_SECRETS=a", "INJECT_WATCH=maybe"), "true", NULL),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "INJECT_WATCH"));
}
END_TEST

START_TEST(test_watch_implies_init_and_reload_defaults_to_hup)
{
	ck_assert_int_eq(parse(ENV("INJECT_WATCH=1", "INJECT_SECRETS=a"), "true", NULL), 0);
	ck_assert(C.watch);
	ck_assert(C.init);
	ck_assert_int_eq(C.reload_signal, SIGHUP);
	ck_assert_int_eq(C.debounce_ms, INJECT_DEFAULT_DEBOUNCE_MS);
}
END_TEST

START_TEST(test_mode_combinations)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--on-change", "x", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--watch", "--on-change", "x",
	                       "--reload-signal", "USR1", "true", NULL),
	                 -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--grace", "5", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--keep", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--group", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--init", "--grace", "5", "--group",
	                       "--keep", "true", NULL),
	                 0);
	ck_assert_int_eq(C.grace_ms, 5000);
}
END_TEST

START_TEST(test_on_change_is_split_into_words_without_a_shell)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--watch", "--on-change",
	                       "  /bin/reload  --fast\t$X ", "true", NULL),
	                 0);
	ck_assert_str_eq(C.on_change[0], "/bin/reload");
	ck_assert_str_eq(C.on_change[1], "--fast");
	ck_assert_str_eq(C.on_change[2], "$X");
	ck_assert_ptr_null(C.on_change[3]);
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--watch", "--on-change", " ", "true", NULL),
	                 -EINVAL);
}
END_TEST

START_TEST(test_command_starts_at_first_non_option_or_after_dashes)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "redis-server", "--port", "0", NULL), 0);
	ck_assert_str_eq(C.command[0], "redis-server");
	ck_assert_str_eq(C.command[1], "--port");
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--", "--weird-command", NULL), 0);
	ck_assert_str_eq(C.command[0], "--weird-command");
	ck_assert_ptr_null(C.command[1]);
}
END_TEST

START_TEST(test_usage_errors)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "no command"));
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--frobnicate", "true", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "--frobnicate"));
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "-x", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "--secret", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "needs a value"));
	ck_assert_int_eq(parse(NOENV, "--init=1", "--secret", "a", "true", NULL), -EINVAL);
	ck_assert_int_eq(parse(NOENV, "true", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "no secrets"));
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "--dir", "", "true", NULL), -EINVAL);
}
END_TEST

START_TEST(test_help_and_version_need_nothing_else)
{
	ck_assert_int_eq(parse(NOENV, "--help", NULL), 0);
	ck_assert_int_eq(C.action, CONFIG_HELP);
	ck_assert_int_eq(parse(NOENV, "-h", NULL), 0);
	ck_assert_int_eq(C.action, CONFIG_HELP);
	ck_assert_int_eq(parse(NOENV, "--version", NULL), 0);
	ck_assert_int_eq(C.action, CONFIG_VERSION);
}
END_TEST

/* --help lists every exit status of exit_codes.h with its number, next to a
 * word that names its cause. The statuses come from the header itself, read
 * at run time, so one added there without a line in --help (or here) fails. */
static const struct {
	int status;
	const char *name, *word;
} help_statuses[] = {
    {INJECT_EXIT_USAGE, "INJECT_EXIT_USAGE", "usage"},
    {INJECT_EXIT_TEMPLATE, "INJECT_EXIT_TEMPLATE", "template"},
    {INJECT_EXIT_NOT_FOUND, "INJECT_EXIT_NOT_FOUND", "secret"},
    {INJECT_EXIT_NO_USER, "INJECT_EXIT_NO_USER", "user"},
    {INJECT_EXIT_TOKEN, "INJECT_EXIT_TOKEN", "token"},
    {INJECT_EXIT_UNREACHABLE, "INJECT_EXIT_UNREACHABLE", "unreachable"},
    {INJECT_EXIT_INTERNAL, "INJECT_EXIT_INTERNAL", "internal"},
    {INJECT_EXIT_PRIVDROP, "INJECT_EXIT_PRIVDROP", "privilege"},
    {INJECT_EXIT_WRITE, "INJECT_EXIT_WRITE", "write"},
    {INJECT_EXIT_SEALED, "INJECT_EXIT_SEALED", "sealed"},
    {INJECT_EXIT_PROTOCOL, "INJECT_EXIT_PROTOCOL", "protocol"},
    {INJECT_EXIT_DENIED, "INJECT_EXIT_DENIED", "denied"},
    {INJECT_EXIT_UNSAFE_DIR, "INJECT_EXIT_UNSAFE_DIR", "unsafe"},
    {INJECT_EXIT_NOT_EXECUTABLE, "INJECT_EXIT_NOT_EXECUTABLE", "not executable"},
    {INJECT_EXIT_NO_COMMAND, "INJECT_EXIT_NO_COMMAND", "not found"},
};

/* Reads the enumerators "INJECT_EXIT_X = N" of exit_codes.h; returns how many. */
static size_t header_statuses(char names[][64], int nums[], size_t cap)
{
	FILE *f = fopen(INJECT_EXIT_CODES_PATH, "r");
	ck_assert_msg(f != NULL, "cannot read %s", INJECT_EXIT_CODES_PATH);
	char line[256];
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "INJECT_EXIT_");
		int num;
		if (p && sscanf(p, "%63[A-Z_] = %d", names[n], &num) == 2) {
			ck_assert_uint_lt(n, cap);
			nums[n++] = num;
		}
	}
	fclose(f);
	return n;
}

/* The "N cause" entries after "Exit status" in the help text: a number that
 * follows a blank or a line start and is followed by one blank and a word;
 * the cause runs to two blanks or the end of the line. */
static size_t help_entries(const char *text, int nums[], char causes[][96], size_t cap)
{
	const char *p = strstr(text, "\nExit status");
	ck_assert_msg(p != NULL, "--help has no \"Exit status\" section");
	size_t n = 0;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p[-1] != ' ' && p[-1] != '\n'))
			continue;
		char *end;
		long v = strtol(p, &end, 10);
		if (end[0] != ' ' || !isalpha((unsigned char)end[1])) {
			p = end - 1;
			continue;
		}
		const char *c = end + 1, *stop = c;
		while (*stop && *stop != '\n' && !(stop[0] == ' ' && stop[1] == ' '))
			stop++;
		ck_assert_uint_lt(n, cap);
		nums[n] = (int)v;
		snprintf(causes[n], sizeof(causes[n]), "%.*s", (int)(stop - c), c);
		n++;
		p = stop - 1;
	}
	return n;
}

START_TEST(test_help_lists_every_exit_status_with_its_number)
{
	static char text[16384];
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	config_usage(fds[1]); /* a few KiB: fits in the pipe */
	close(fds[1]);
	size_t len = 0;
	for (ssize_t r; (r = read(fds[0], text + len, sizeof(text) - 1 - len)) > 0;)
		len += (size_t)r;
	close(fds[0]);
	text[len] = '\0';

	char names[64][64], causes[64][96];
	int hnums[64], enums[64];
	size_t nh = header_statuses(names, hnums, 64);
	size_t ne = help_entries(text, enums, causes, 64);
	ck_assert_msg(nh >= 15, "only %zu statuses read from exit_codes.h", nh);
	for (size_t i = 0; i < nh; i++) {
		if (hnums[i] == 0)
			continue; /* success: not a cause */
		size_t k = 0;
		while (k < sizeof(help_statuses) / sizeof(help_statuses[0]) &&
		       strcmp(help_statuses[k].name, names[i]) != 0)
			k++;
		ck_assert_msg(k < sizeof(help_statuses) / sizeof(help_statuses[0]),
		              "%s (%d) is new: list it in --help and in help_statuses", names[i],
		              hnums[i]);
		ck_assert_int_eq(help_statuses[k].status, hnums[i]);
		size_t seen = 0;
		for (size_t e = 0; e < ne; e++) {
			if (enums[e] != hnums[i])
				continue;
			seen++;
			ck_assert_msg(strcasestr(causes[e], help_statuses[k].word) != NULL,
			              "--help says \"%d %s\": expected it to name %s (\"%s\")",
			              enums[e], causes[e], names[i], help_statuses[k].word);
		}
		ck_assert_msg(seen == 1, "--help lists %s (%d) %zu times, expected once", names[i],
		              hnums[i], seen);
	}
	/* And no number that is not a status (a stale or mistyped one). */
	for (size_t e = 0; e < ne; e++) {
		size_t i = 0;
		while (i < nh && hnums[i] != enums[e])
			i++;
		ck_assert_msg(i < nh, "--help lists \"%d %s\", which exit_codes.h does not have",
		              enums[e], causes[e]);
	}
}
END_TEST

START_TEST(test_add_name_dedups_and_validates)
{
	ck_assert_int_eq(parse(NOENV, "--secret", "a", "true", NULL), 0);
	ck_assert_int_eq(config_add_name(&C, "a"), 0);
	ck_assert_int_eq(config_add_name(&C, "b"), 0);
	ck_assert_int_eq(config_add_name(&C, "b"), 0);
	ck_assert_uint_eq(C.n_names, 2);
	ck_assert_int_eq(config_add_name(&C, "../b"), -EINVAL);
	ck_assert_uint_eq(C.n_names, 2);
}
END_TEST

/* All names come in one bundle, and vaultd answers at most 256 in one:
 * 200 files and 60 more --env names are a usage error, not a 400 later. */
START_TEST(test_more_names_than_one_bundle_holds_are_refused)
{
	static char secrets[200 * 8], envs[60 * 16];
	size_t off = (size_t)snprintf(secrets, sizeof(secrets), "INJECT_SECRETS=");
	for (int i = 0; i < 200; i++)
		off += (size_t)snprintf(secrets + off, sizeof(secrets) - off, "%ss%d", i ? "," : "", i);
	off = (size_t)snprintf(envs, sizeof(envs), "INJECT_ENV=");
	for (int i = 0; i < 60; i++)
		off += (size_t)snprintf(envs + off, sizeof(envs) - off, "%sV%d=e%d", i ? "," : "", i, i);
	ck_assert_int_eq(parse(ENV(secrets, envs), "true", NULL), -EINVAL);
	ck_assert_msg(strstr(ERR, "at most 256 in one bundle"), "err: %s", ERR);
	/* 256 in all is fine, and a template's name beyond them is refused. */
	snprintf(envs, sizeof(envs), "INJECT_ENV=");
	off = strlen(envs);
	for (int i = 0; i < 56; i++)
		off += (size_t)snprintf(envs + off, sizeof(envs) - off, "%sV%d=e%d", i ? "," : "", i, i);
	ck_assert_int_eq(parse(ENV(secrets, envs), "true", NULL), 0);
	ck_assert_uint_eq(C.n_names, 256);
	ck_assert_int_eq(config_add_name(&C, "s0"), 0); /* already there */
	ck_assert_int_eq(config_add_name(&C, "from_a_template"), -E2BIG);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("inject-config");
	TCase *t = tcase_create("config");
	tcase_add_checked_fixture(t, NULL, teardown);
	tcase_add_test(t, test_flag_overrides_env_for_scalars);
	tcase_add_test(t, test_env_applies_when_no_flag);
	tcase_add_test(t, test_socket_precedence_flag_then_inject_socket_then_vaultd_socket);
	tcase_add_test(t, test_secret_flags_replace_inject_secrets);
	tcase_add_test(t, test_inject_secrets_list_with_specs_and_blanks);
	tcase_add_loop_test(t, test_each_variable_gives_what_its_flag_gives, 0,
	                    (int)(sizeof(env_flag_cases) / sizeof(env_flag_cases[0])));
	tcase_add_loop_test(t, test_each_flag_overrides_its_variable, 0,
	                    (int)(sizeof(env_flag_cases) / sizeof(env_flag_cases[0])));
	tcase_add_loop_test(t, test_bad_secret_spec_is_refused, 0,
	                    (int)(sizeof(bad_specs) / sizeof(bad_specs[0])));
	tcase_add_test(t, test_bad_spec_in_inject_secrets_names_the_variable);
	tcase_add_test(t, test_name_of_128_chars_is_accepted_129_refused);
	tcase_add_test(t, test_duplicate_secret_is_refused);
	tcase_add_test(t, test_two_outputs_to_one_file_are_refused);
	tcase_add_test(t, test_one_variable_set_twice_is_refused);
	tcase_add_test(t, test_file_env_adds_a_secret_with_default_file);
	tcase_add_test(t, test_file_env_uses_the_listed_secrets_file);
	tcase_add_test(t, test_env_names_are_fetched_but_get_no_file);
	tcase_add_loop_test(t, test_bad_env_map_is_refused, 0,
	                    (int)(sizeof(bad_maps) / sizeof(bad_maps[0])));
	tcase_add_test(t, test_template_spec);
	tcase_add_test(t, test_durations);
	tcase_add_test(t, test_signals);
	tcase_add_test(t, test_booleans);
	tcase_add_test(t, test_watch_implies_init_and_reload_defaults_to_hup);
	tcase_add_test(t, test_mode_combinations);
	tcase_add_test(t, test_on_change_is_split_into_words_without_a_shell);
	tcase_add_test(t, test_command_starts_at_first_non_option_or_after_dashes);
	tcase_add_test(t, test_usage_errors);
	tcase_add_test(t, test_help_and_version_need_nothing_else);
	tcase_add_test(t, test_help_lists_every_exit_status_with_its_number);
	tcase_add_test(t, test_add_name_dedups_and_validates);
	tcase_add_test(t, test_more_names_than_one_bundle_holds_are_refused);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_support_run(config_suite());
}
