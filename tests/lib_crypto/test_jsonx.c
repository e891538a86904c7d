/* Strict JSON: the size cap comes before parsing, duplicate keys and trailing
 * bytes are refused, typed readers tell absent from wrong type, and base64
 * secrets decode (strictly) into guarded memory. */
#include <errno.h>
#include <sodium.h>

#include "check_support.h"
#include "crypto_test.h"
#include "jsonw.h"
#include "jsonx.h"

static json_t *parse_ok(const char *s)
{
	json_t *o = NULL;
	char err[160];
	int r = jsonx_parse_object(s, strlen(s), 1024, &o, err, sizeof(err));
	ck_assert_msg(r == 0, "parse of %s failed: %d %s", s, r, err);
	return o;
}

static int parse_err(const char *s, size_t max, char *err, size_t errcap)
{
	json_t *o = (json_t *)0x1;
	int r = jsonx_parse_object(s, strlen(s), max, &o, err, errcap);
	ck_assert_msg(o == (json_t *)0x1, "output written on failure for %s", s);
	return r;
}

START_TEST(test_parse_accepts_an_object)
{
	json_t *o = parse_ok("{\"value\":\"aGk=\",\"cas\":3}");
	ck_assert(json_is_object(o));
	json_decref(o);
}
END_TEST

START_TEST(test_duplicate_keys_are_rejected)
{
	char err[160];
	ck_assert_int_eq(parse_err("{\"value\":\"a\",\"value\":\"b\"}", 1024, err, sizeof(err)),
	                 -EINVAL);
	ck_assert_msg(strstr(err, "duplicate") != NULL, "message does not say why: %s", err);
	ck_assert_int_eq(parse_err("{\"m\":{\"k\":1,\"k\":2}}", 1024, NULL, 0), -EINVAL);
}
END_TEST

/* The parser's message quotes the token it stopped at, which can be a
 * value; the error says where instead. */
START_TEST(test_parse_errors_never_quote_the_input)
{
	static const char *bad[] = {"{\"value\" \"aHVudGVyMnB3\"}", "{\"value\":aHVudGVyMnB3}",
	                            "{\"value\":\"aHVudGVyMnB3\",,}"};
	for (size_t i = 0; i < 3; i++) {
		char err[160] = "";
		ck_assert_int_eq(parse_err(bad[i], 1024, err, sizeof(err)), -EINVAL);
		ck_assert_msg(!strstr(err, "aHVudGVy") && !strstr(err, "near"), "%s -> %s", bad[i],
		              err);
		ck_assert_msg(strstr(err, "(line 1, column "), "%s -> %s", bad[i], err);
	}
}
END_TEST

START_TEST(test_oversize_body_is_rejected_before_parsing)
{
	/* Broken JSON over the cap: the size check, not the parser, refuses it. */
	ck_assert_int_eq(parse_err("{\"value\":", 8, NULL, 0), -EMSGSIZE);
	const char *ok = "{\"a\":1}";
	json_t *o = NULL;
	ck_assert_int_eq(jsonx_parse_object(ok, strlen(ok), strlen(ok), &o, NULL, 0), 0);
	json_decref(o);
	ck_assert_int_eq(parse_err(ok, strlen(ok) - 1, NULL, 0), -EMSGSIZE);
}
END_TEST

START_TEST(test_broken_json_non_objects_and_trailing_bytes_are_rejected)
{
	const char *bad[] = {"",
	                     "{",
	                     "[1,2]",
	                     "\"str\"",
	                     "42",
	                     "null",
	                     "{} {}",
	                     "{\"a\":1} x",
	                     "{'a':1}",
	                     "{\"a\":01}",
	                     "{\"a\":\"\\u0000\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[160];
		ck_assert_msg(parse_err(bad[i], 1024, err, sizeof(err)) == -EINVAL, "accepted: %s",
		              bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for: %s", bad[i]);
	}
}
END_TEST

START_TEST(test_embedded_nul_byte_in_body_is_rejected)
{
	const char body[] = "{\"a\":\"x\0y\"}";
	json_t *o = NULL;
	ck_assert_int_eq(jsonx_parse_object(body, sizeof(body) - 1, 1024, &o, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_typed_readers_return_values)
{
	json_t *o =
	    parse_ok("{\"s\":\"x\",\"i\":-5,\"big\":9007199254740993,\"b\":true,\"f\":false}");
	const char *s = NULL;
	int64_t i = 0;
	bool b = false;
	ck_assert_int_eq(jsonx_get_string(o, "s", &s), 0);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(jsonx_get_int(o, "i", &i), 0);
	ck_assert_int_eq(i, -5);
	ck_assert_int_eq(jsonx_get_int(o, "big", &i), 0);
	ck_assert_int_eq(i, 9007199254740993LL);
	ck_assert_int_eq(jsonx_get_bool(o, "b", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(jsonx_get_bool(o, "f", &b), 0);
	ck_assert(!b);
	json_decref(o);
}
END_TEST

START_TEST(test_typed_readers_report_absent_and_wrong_type)
{
	json_t *o = parse_ok("{\"s\":\"1\",\"i\":1,\"r\":1.0,\"n\":null,\"b\":true,\"a\":[]}");
	const char *s = "untouched";
	int64_t i = 42;
	bool b = false;
	ck_assert_int_eq(jsonx_get_string(o, "missing", &s), -ENOENT);
	ck_assert_int_eq(jsonx_get_int(o, "missing", &i), -ENOENT);
	ck_assert_int_eq(jsonx_get_bool(o, "missing", &b), -ENOENT);
	ck_assert_int_eq(jsonx_get_string(o, "i", &s), -EINVAL);
	ck_assert_int_eq(jsonx_get_string(o, "n", &s), -EINVAL);
	ck_assert_int_eq(jsonx_get_string(o, "a", &s), -EINVAL);
	ck_assert_int_eq(jsonx_get_int(o, "s", &i), -EINVAL);
	ck_assert_int_eq(jsonx_get_int(o, "r", &i), -EINVAL);
	ck_assert_int_eq(jsonx_get_int(o, "b", &i), -EINVAL);
	ck_assert_int_eq(jsonx_get_bool(o, "i", &b), -EINVAL);
	ck_assert_int_eq(jsonx_get_bool(o, "s", &b), -EINVAL);
	ck_assert_str_eq(s, "untouched");
	ck_assert_int_eq(i, 42);
	ck_assert(!b);
	struct secbuf *v = NULL;
	ck_assert_int_eq(jsonx_get_b64(o, "missing", 10, &v), -ENOENT);
	ck_assert_int_eq(jsonx_get_b64(o, "i", 10, &v), -EINVAL);
	ck_assert_ptr_null(v);
	json_decref(o);
}
END_TEST

START_TEST(test_b64_field_decodes_into_a_secbuf)
{
	json_t *o = parse_ok("{\"value\":\"aHVudGVyMg==\",\"empty\":\"\"}");
	struct secbuf *v = NULL;
	ck_assert_int_eq(jsonx_get_b64(o, "value", 64, &v), 0);
	ck_assert_uint_eq(v->len, 7);
	ck_assert_str_eq((const char *)v->data, "hunter2");
	secbuf_free(v);
	ck_assert_int_eq(jsonx_get_b64(o, "empty", 64, &v), 0);
	ck_assert_uint_eq(v->len, 0);
	secbuf_free(v);
	json_decref(o);
}
END_TEST

START_TEST(test_b64_field_over_the_cap_is_efbig)
{
	json_t *o = parse_ok("{\"value\":\"aHVudGVyMg==\"}");
	struct secbuf *v = NULL;
	ck_assert_int_eq(jsonx_get_b64(o, "value", 6, &v), -EFBIG);
	ck_assert_int_eq(jsonx_get_b64(o, "value", 0, &v), -EFBIG);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(jsonx_get_b64(o, "value", 7, &v), 0);
	secbuf_free(v);
	json_decref(o);
}
END_TEST

START_TEST(test_b64_decoding_is_strict)
{
	const char *bad[] = {"aGk",    /* unpadded */
	                     "aG=k",   /* padding inside */
	                     "aGk=\n", /* whitespace */
	                     "aGk*",   /* not in the alphabet */
	                     "aGl_",   /* base64url alphabet */
	                     "aGl=",   /* non-zero trailing bits */
	                     "====",   /* only padding */
	                     "a===",   /* too much padding */
	                     "aGk===",
	                     /* bytes >= 0x80, which libsodium 1.0.18 reads as '/'
	                      * (found by tests/fuzz/fuzz_jsonx) */
	                     "aG\x9c\xcd", "aGk\xff",
	                     "\xc3\xa9"
	                     "AA"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct secbuf *v = NULL;
		ck_assert_msg(b64_decode_secret(bad[i], strlen(bad[i]), &v) == -EINVAL,
		              "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(v);
	}
}
END_TEST

START_TEST(test_b64_round_trip_every_length_to_64)
{
	uint8_t raw[64];
	randombytes_buf(raw, sizeof(raw));
	for (size_t n = 0; n <= sizeof(raw); n++) {
		struct secbuf *enc = b64_encode_secret(raw, n);
		ck_assert_ptr_nonnull(enc);
		ck_assert_uint_eq(enc->len, (n + 2) / 3 * 4);
		ck_assert_uint_eq(strlen((const char *)enc->data), enc->len);
		struct secbuf *dec = NULL;
		ck_assert_int_eq(b64_decode_secret((const char *)enc->data, enc->len, &dec), 0);
		ck_assert_uint_eq(dec->len, n);
		ck_assert(memcmp(dec->data, raw, n) == 0);
		secbuf_free(enc);
		secbuf_free(dec);
	}
	struct secbuf *e = b64_encode_secret("hunter2", 7);
	ck_assert_str_eq((const char *)e->data, "aHVudGVyMg==");
	secbuf_free(e);
}
END_TEST

START_TEST(test_dump_secret_is_compact_json_in_guarded_memory)
{
	json_t *o = json_pack("{s:s,s:i}", "value", "aGk=", "version", 3);
	struct secbuf *d = jsonx_dump_secret(o);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq((const char *)d->data, "{\"value\":\"aGk=\",\"version\":3}");
	ck_assert_uint_eq(d->len, strlen((const char *)d->data));
	secbuf_free(d);
	json_decref(o);
	ck_assert_ptr_null(jsonx_dump_secret(NULL));
}
END_TEST

static void sample_doc(struct jsonw *w, const void *ctx)
{
	(void)ctx;
	jsonw_lit(w, "{\"s\":");
	jsonw_str(w, "q\"b\\c\x01\n\x1f");
	jsonw_lit(w, ",\"min\":");
	jsonw_i64(w, INT64_MIN);
	jsonw_lit(w, ",\"max\":");
	jsonw_u64(w, UINT64_MAX);
	jsonw_lit(w, ",\"v\":");
	jsonw_b64(w, "hunter2", 7);
	jsonw_lit(w, ",\"e\":");
	jsonw_b64(w, "", 0);
	jsonw_lit(w, "}");
}

START_TEST(test_jsonw_fills_exactly_what_it_counted)
{
	static const char want[] = "{\"s\":\"q\\\"b\\\\c\\u0001\\u000a\\u001f\","
	                           "\"min\":-9223372036854775808,\"max\":18446744073709551615,"
	                           "\"v\":\"aHVudGVyMg==\",\"e\":\"\"}";
	struct secbuf *b = jsonw_secret(sample_doc, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, strlen(want));
	ck_assert(memcmp(b->data, want, b->len) == 0);
	/* and it is JSON whose string comes back unescaped (jansson reads the
	 * integers as reals: UINT64_MAX is over its range) */
	json_t *o = json_loadb((const char *)b->data, b->len,
	                       JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "s")), "q\"b\\c\x01\n\x1f");
	json_decref(o);
	secbuf_free(b);
}
END_TEST

static Suite *jsonx_suite(void)
{
	Suite *s = suite_create("jsonx");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_accepts_an_object);
	tcase_add_test(tc, test_duplicate_keys_are_rejected);
	tcase_add_test(tc, test_parse_errors_never_quote_the_input);
	tcase_add_test(tc, test_oversize_body_is_rejected_before_parsing);
	tcase_add_test(tc, test_broken_json_non_objects_and_trailing_bytes_are_rejected);
	tcase_add_test(tc, test_embedded_nul_byte_in_body_is_rejected);
	suite_add_tcase(s, tc);
	TCase *rd = tcase_create("readers");
	tcase_add_test(rd, test_typed_readers_return_values);
	tcase_add_test(rd, test_typed_readers_report_absent_and_wrong_type);
	tcase_add_test(rd, test_b64_field_decodes_into_a_secbuf);
	tcase_add_test(rd, test_b64_field_over_the_cap_is_efbig);
	suite_add_tcase(s, rd);
	TCase *b64 = tcase_create("base64");
	tcase_add_test(b64, test_b64_decoding_is_strict);
	tcase_add_test(b64, test_b64_round_trip_every_length_to_64);
	tcase_add_test(b64, test_dump_secret_is_compact_json_in_guarded_memory);
	tcase_add_test(b64, test_jsonw_fills_exactly_what_it_counted);
	suite_add_tcase(s, b64);
	return s;
}

int main(void)
{
	return check_support_run(jsonx_suite());
}
