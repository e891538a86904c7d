/* vaultctl audit tail / verify: reading the audit log through the API
 * (GET /v1/audit, GET /v1/audit/verify), or verifying a store file offline. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_chain.h"
#include "ctl.h"
#include "offline.h"
#include "output.h"

enum { OPT_LINES = 1, OPT_FOLLOW, OPT_STORE, OPT_KEY_FILE, OPT_PASS_STDIN, OPT_MIN_SEQ };

#define AUDIT_PAGE 1000
#define AUDIT_MAX_LINES 100000
#define AUDIT_DEFAULT_LINES 20
#define AUDIT_FOLLOW_MS 1000

/* ---- tail ---- */

static const struct args_opt tail_opts[] = {
    {"lines", 'n', true, OPT_LINES, "N", "show the last N entries (default 20)"},
    {"follow", 'f', false, OPT_FOLLOW, NULL, "keep printing new entries (Ctrl-C stops)"},
    {0},
};

static const struct cmd_spec tail_spec = {
    .name = "audit tail",
    .usage = "[-n N] [--follow] [--json]",
    .summary = "Show the last audit entries: sequence number, time, actor, action, name, "
               "result.",
    .details = "--json prints one JSON object per line. This command's own reads of the log "
               "are not shown.",
    .opts = tail_opts,
    .json_output = true,
};

struct tail_args {
	uint64_t lines;
	bool follow;
};

static int tail_opt(void *st, int id, const char *arg)
{
	struct tail_args *t = st;
	if (id == OPT_FOLLOW) {
		t->follow = true;
		return 0;
	}
	if (args_parse_u64(arg, 0, AUDIT_MAX_LINES, &t->lines) < 0)
		return cmd_usage(&tail_spec, "-n needs a count from 0 to %d", AUDIT_MAX_LINES);
	return 0;
}

/* The "entries" array of GET path (a new reference). Returns an exit code. */
static int fetch_path(const struct ctl *c, const char *path, json_t **ret)
{
	json_t *o = NULL;
	int rc = ctl_call(c, "GET", path, NULL, &o);
	if (rc != CTL_OK)
		return rc;
	json_t *arr = json_object_get(o, "entries");
	if (!json_is_array(arr)) {
		json_decref(o);
		ctl_err("vaultd's answer has no \"entries\" list");
		return CTL_ERROR;
	}
	*ret = json_incref(arr);
	json_decref(o);
	return CTL_OK;
}

/* Entries with seq > since, at most limit. */
static int fetch(const struct ctl *c, uint64_t since, size_t limit, json_t **ret)
{
	char path[96];
	snprintf(path, sizeof(path), "/v1/audit?since=%llu&limit=%zu", (unsigned long long)since,
	         limit);
	return fetch_path(c, path, ret);
}

/* The newest n entries (n >= 1), in one request. */
static int fetch_last(const struct ctl *c, size_t n, json_t **ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/v1/audit?last=%zu", n);
	return fetch_path(c, path, ret);
}

/* This process's own reads of the log would otherwise fill --follow. */
static bool is_own_read(const json_t *e)
{
	return json_int_or(e, "pid", -1) == (int64_t)getpid() &&
	       strncmp(json_str_or(e, "action", ""), "audit", 5) == 0;
}

static void print_entry(const struct ctl *c, const json_t *e)
{
	if (c->json) {
		char *s = json_dumps(e, JSON_COMPACT);
		if (s) {
			printf("%s\n", s);
			json_free_t jfree = NULL;
			json_get_alloc_funcs(NULL, &jfree);
			jfree(s);
		}
		return;
	}
	int64_t ms = json_int_or(e, "time_ms", 0);
	char when[32], actor[80], accb[AUDIT_ACCESSOR_MAX];
	fmt_time(ms / 1000, when, sizeof(when));
	const char *acc = json_str_or(e, "accessor", "");
	if (acc[0])
		snprintf(actor, sizeof(actor), "token:%.64s", out_clean(acc, accb, sizeof(accb)));
	else
		snprintf(actor, sizeof(actor), "uid=%lld", (long long)json_int_or(e, "uid", -1));
	/* A stream has no table to measure first: fixed widths that fit every
	 * actor (token: and a 32-hex accessor), actions and results; the name,
	 * up to 128 bytes, goes last so that it shifts nothing. vaultd's text
	 * is cleaned. */
	char action[64], name[VAULT_MAX_NAME_LEN + 1], result[64];
	out_clean(json_str_or(e, "action", "?"), action, sizeof(action));
	out_clean(json_str_or(e, "name", ""), name, sizeof(name));
	out_clean(json_str_or(e, "result", "?"), result, sizeof(result));
	printf("%-7lld %s  %-38s %-20s %-18s %3lld  %s\n", (long long)json_int_or(e, "seq", 0),
	       when, actor, action, result, (long long)json_int_or(e, "status", 0),
	       name[0] ? name : "-");
}

/* Prints entries after *since (skipping our own reads); advances *since. */
static int print_new(const struct ctl *c, uint64_t *since)
{
	for (;;) {
		json_t *arr = NULL;
		int rc = fetch(c, *since, AUDIT_PAGE, &arr);
		if (rc != CTL_OK)
			return rc;
		size_t i, n = json_array_size(arr);
		json_t *e;
		json_array_foreach(arr, i, e)
		{
			int64_t seq = json_int_or(e, "seq", 0);
			if (seq > 0 && (uint64_t)seq > *since)
				*since = (uint64_t)seq;
			if (!is_own_read(e))
				print_entry(c, e);
		}
		json_decref(arr);
		fflush(stdout);
		if (n < AUDIT_PAGE)
			return CTL_OK;
	}
}

static int audit_tail(const struct ctl *c, int argc, char **argv)
{
	struct tail_args t = {.lines = AUDIT_DEFAULT_LINES};
	struct ctl_cmd x;
	json_t *arr = NULL;
	int rc = cmd_parse(&x, c, &tail_spec, argc, argv, tail_opt, &t);
	if (rc != CMD_RUN)
		goto out;
	/* With -n 0 the newest entry is still read, unshown: --follow starts after it. */
	if ((rc = fetch_last(&x.c, t.lines ? (size_t)t.lines : 1, &arr)) != CTL_OK)
		goto out;
	uint64_t since = 0;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		int64_t seq = json_int_or(e, "seq", 0);
		if (seq > 0 && (uint64_t)seq > since)
			since = (uint64_t)seq;
		if (t.lines)
			print_entry(&x.c, e);
	}
	fflush(stdout);
	while (t.follow) {
		struct timespec ts = {AUDIT_FOLLOW_MS / 1000, (AUDIT_FOLLOW_MS % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		if ((rc = print_new(&x.c, &since)) != CTL_OK)
			goto out;
	}
out:
	json_decref(arr);
	cmd_done(&x);
	return rc;
}

/* ---- verify ---- */

static const struct args_opt verify_opts[] = {
    {"store", 0, true, OPT_STORE, "PATH", "verify this store file offline (without vaultd)"},
    {"key-file", 0, true, OPT_KEY_FILE, "FILE", "with --store: the store's key file"},
    {"passphrase-stdin", 0, false, OPT_PASS_STDIN, NULL,
     "with --store: read the passphrase from stdin"},
    {"min-seq", 0, true, OPT_MIN_SEQ, "N",
     "the log must reach entry N (a seq= from --audit-log or vaultd's log)"},
    {0},
};

static const struct cmd_spec verify_spec = {
    .name = "audit verify",
    .usage = "[--store PATH [--key-file FILE | --passphrase-stdin]] [--min-seq N] [--json]",
    .summary = "Verify the audit log's keyed hash chain: exit 0 when it is intact, else 1 and "
               "the\nfirst sequence number that was changed, dropped or reordered.",
    .details = "Without --store vaultd verifies its own log (GET /v1/audit/verify).\n"
               "The store's MAC'd head catches a cut tail, but not one cut together with\n"
               "the head put back to an older, once valid one (kept from an old copy or\n"
               "the WAL). --min-seq checks against a record kept outside the store.",
    .opts = verify_opts,
    .json_output = true,
};

struct verify_args {
	const char *store;
	struct offline_key key;
	uint64_t min_seq;
};

static int verify_opt(void *st, int id, const char *arg)
{
	struct verify_args *v = st;
	if (id == OPT_MIN_SEQ) {
		if (args_parse_u64(arg, 1, UINT64_MAX, &v->min_seq) < 0)
			return cmd_usage(&verify_spec, "--min-seq needs an entry number from 1");
		return 0;
	}
	if (id == OPT_STORE)
		v->store = arg;
	else if (id == OPT_KEY_FILE)
		v->key.key_file = arg;
	else
		v->key.pass_stdin = true;
	return 0;
}

static int report(const struct ctl *c, bool ok, uint64_t checked, uint64_t first_bad,
                  uint64_t min_seq)
{
	/* An intact chain starts at 1: its last entry is the count checked. */
	bool short_tail = ok && checked < min_seq;
	if (short_tail) {
		ok = false;
		first_bad = checked + 1;
	}
	if (c->json) {
		json_t *o = ok ? json_pack("{s:b, s:I}", "ok", 1, "checked", (json_int_t)checked)
		               : json_pack("{s:b, s:I, s:I}", "ok", 0, "checked",
		                           (json_int_t)checked, "first_bad", (json_int_t)first_bad);
		out_json(o);
		json_decref(o);
	} else if (ok) {
		printf("audit log intact: %llu entries checked\n", (unsigned long long)checked);
	}
	if (short_tail)
		ctl_err("audit log cut: it ends at entry %llu, but entry %llu was written; keep this "
		        "store for investigation",
		        (unsigned long long)checked, (unsigned long long)min_seq);
	else if (!ok)
		ctl_err(
		    "audit log broken: entry %llu was changed, removed or reordered (%llu entries "
		    "checked); keep this store for investigation",
		    (unsigned long long)first_bad, (unsigned long long)checked);
	return ok ? CTL_OK : CTL_ERROR;
}

static int verify_offline(const struct ctl *c, const struct verify_args *v)
{
	struct store *s = NULL;
	int rc = offline_open(v->store, NULL, &v->key, &s);
	if (rc != CTL_OK)
		return rc;
	uint64_t checked = 0, first_bad = 0;
	int r = store_audit_verify(s, &checked, &first_bad);
	store_close(s);
	if (r < 0 && r != -EBADMSG) {
		ctl_err("cannot verify the audit log of %s: %s", v->store, store_strerror(r));
		return CTL_ERROR;
	}
	return report(c, r == 0, checked, first_bad, v->min_seq);
}

static int audit_verify(const struct ctl *c, int argc, char **argv)
{
	struct verify_args v = {0};
	struct ctl_cmd x;
	json_t *o = NULL;
	int rc = cmd_parse(&x, c, &verify_spec, argc, argv, verify_opt, &v);
	if (rc != CMD_RUN)
		goto out;
	if (!v.store && (v.key.key_file || v.key.pass_stdin)) {
		rc = cmd_usage(&verify_spec, "--key-file and --passphrase-stdin go with --store");
		goto out;
	}
	if (v.store) {
		rc = verify_offline(&x.c, &v);
		goto out;
	}
	rc = ctl_call(&x.c, "GET", "/v1/audit/verify", NULL, &o);
	if (rc != CTL_OK)
		goto out;
	bool ok = json_is_true(json_object_get(o, "ok"));
	rc = report(&x.c, ok, (uint64_t)json_int_or(o, "checked", 0),
	            (uint64_t)json_int_or(o, "first_bad", 0), v.min_seq);
out:
	json_decref(o);
	cmd_done(&x);
	return rc;
}

static const struct ctl_subcommand audit_subs[] = {
    {"tail", audit_tail, "show the last entries of the audit log"},
    {"verify", audit_verify, "verify the audit log's hash chain"},
    {NULL, NULL, NULL},
};

int cmd_audit(const struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch_family("audit", audit_subs, c, argc, argv);
}
