/* Secret-name validation: the accept/reject table from DESIGN.md
 * ([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no ".."), length-based. */
#include "check_support.h"
#include "crypto_test.h"
#include "names.h"

struct name_case {
	const char *s;
	bool valid;
};

static const struct name_case table[] = {
    {"a", true},
    {"Z", true},
    {"7", true},
    {"db_password", true},
    {"pg.pass-word_2", true},
    {"a.b.c", true},
    {"a-", true},
    {"a.", true},
    {"", false},
    {"../x", false},
    {"..", false},
    {"a/b", false},
    {"/abs", false},
    {"a..b", false},
    {"a...b", false},
    {"x..", false},
    {".hidden", false},
    {"-flag", false},
    {"_under", false},
    {"a b", false},
    {"a\tb", false},
    {"a\nb", false},
    {"caf\xc3\xa9", false},
    {"a\\b", false},
    {"a:b", false},
    {"a*", false},
    {"a$b", false},
    {"a%2e%2e", false},
    /* a token's shape is a valid format: a store may hold one (vaultd
     * refuses new ones with name_is_token, below) */
    {"vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", true},
};

/* A token ("vd_" + 43 base64url characters, any case); one character more or
 * less, or a '.', is not a token's shape. */
START_TEST(test_token_shaped_names)
{
	ck_assert(name_is_token("vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", 46));
	ck_assert(name_is_token("VD_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", 46));
	ck_assert(!name_is_token("vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd", 45));
	ck_assert(!name_is_token("vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdef", 47));
	ck_assert(!name_is_token("vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-.abcde", 46));
	ck_assert(!name_is_token("xd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", 46));
	ck_assert(!name_is_token("vd_config", 9));
}
END_TEST

START_TEST(test_name_table)
{
	const struct name_case *c = &table[_i];
	ck_assert_msg(name_is_valid_str(c->s) == c->valid, "\"%s\": expected %s", c->s,
	              c->valid ? "valid" : "invalid");
	ck_assert_msg(name_is_valid(c->s, strlen(c->s)) == c->valid, "\"%s\" (len): expected %s",
	              c->s, c->valid ? "valid" : "invalid");
}
END_TEST

START_TEST(test_name_of_128_chars_is_accepted_129_refused)
{
	char s[VAULT_MAX_NAME_LEN + 2];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	ck_assert_uint_eq(strlen(s), 129);
	ck_assert(!name_is_valid_str(s));
	ck_assert(!name_is_valid(s, 129));
	s[128] = '\0';
	ck_assert(name_is_valid_str(s));
	ck_assert(name_is_valid(s, 128));
}
END_TEST

START_TEST(test_name_with_embedded_nul_is_refused)
{
	/* "ab\0cd" with its full length: a C-string check would see "ab". */
	ck_assert(!name_is_valid("ab\0cd", 5));
	ck_assert(!name_is_valid("ab\0", 3));
	ck_assert(name_is_valid("ab\0cd", 2));
}
END_TEST

START_TEST(test_name_null_and_very_long_are_refused)
{
	ck_assert(!name_is_valid_str(NULL));
	ck_assert(!name_is_valid(NULL, 3));
	static char big[10 * 1024 + 1];
	memset(big, 'a', sizeof(big) - 1);
	ck_assert(!name_is_valid_str(big));
	ck_assert(!name_is_valid(big, sizeof(big) - 1));
}
END_TEST

START_TEST(test_name_every_allowed_byte_only)
{
	/* Each of the 256 byte values as the second character: exactly the
	 * alphanumerics and . _ - are allowed. */
	for (int c = 0; c < 256; c++) {
		char s[3] = {'a', (char)c, 'b'};
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		ck_assert_msg(name_is_valid(s, 3) == want, "byte 0x%02x: expected %s", c,
		              want ? "valid" : "invalid");
	}
}
END_TEST

static Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("validate");
	tcase_add_loop_test(tc, test_name_table, 0, (int)(sizeof(table) / sizeof(table[0])));
	tcase_add_test(tc, test_name_of_128_chars_is_accepted_129_refused);
	tcase_add_test(tc, test_token_shaped_names);
	tcase_add_test(tc, test_name_with_embedded_nul_is_refused);
	tcase_add_test(tc, test_name_null_and_very_long_are_refused);
	tcase_add_test(tc, test_name_every_allowed_byte_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(names_suite());
}
