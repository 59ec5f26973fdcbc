/* Names from the wire, numbers from the command line, addresses. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/error.h"
#include "cft/limits.h"
#include "cft/net.h"
#include "cft/util.h"

static int valid(const char *s)
{
	return util_name_valid((const uint8_t *)s, strlen(s)) == 0;
}

Test(names, ordinary_names_pass)
{
	cr_assert(valid("a"));
	cr_assert(valid("report.pdf"));
	cr_assert(valid("name with spaces"));
	cr_assert(valid("caf\xc3\xa9.txt"));	/* UTF-8 */
	cr_assert(valid(".hidden"));
	cr_assert(valid("..."));
	cr_assert(valid(".cft-tm"));		/* not quite the prefix */
}

Test(names, dangerous_names_are_refused)
{
	cr_assert_not(valid(""));
	cr_assert_not(valid("."));
	cr_assert_not(valid(".."));
	cr_assert_not(valid("a/b"));
	cr_assert_not(valid("/etc/passwd"));
	cr_assert_not(valid("../x"));
	cr_assert_not(valid("x/"));
	cr_assert_not(valid("tab\there"));
	cr_assert_not(valid("new\nline"));
	cr_assert_not(valid("esc\x1b[31m"));
	cr_assert_not(valid("del\x7f"));
	cr_assert_not(valid(CFT_TEMP_PREFIX "0123456789abcdef"));
	cr_assert_not(valid(CFT_TEMP_PREFIX));
	/* NUL inside a length-delimited name. */
	cr_assert_neq(util_name_valid((const uint8_t *)"a\0b", 3), 0);
}

Test(names, length_limit)
{
	char n[CFT_NAME_MAX + 2];

	memset(n, 'x', sizeof(n));
	n[CFT_NAME_MAX] = '\0';
	cr_assert(valid(n), "a name of exactly CFT_NAME_MAX bytes is fine");
	n[CFT_NAME_MAX] = 'x';
	n[CFT_NAME_MAX + 1] = '\0';
	cr_assert_not(valid(n), "one byte more is refused");
}

Test(numbers, ranges_and_suffixes)
{
	long long v;

	cr_assert_eq(util_parse_num("30", 1, 86400, 0, &v), 0);
	cr_assert_eq(v, 30);
	cr_assert_eq(util_parse_num("86400", 1, 86400, 0, &v), 0);
	cr_assert_eq(util_parse_num("86401", 1, 86400, 0, &v), CFT_E_RANGE);
	cr_assert_eq(util_parse_num("0", 1, 86400, 0, &v), CFT_E_RANGE);
	cr_assert_eq(util_parse_num("-1", 1, 86400, 0, &v), CFT_E_RANGE);
	cr_assert_eq(util_parse_num("", 1, 10, 0, &v), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_num("12x", 1, 100, 0, &v), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_num(" 5", 1, 100, 0, &v), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_num("99999999999999999999", 1, 100, 0, &v), CFT_E_RANGE);
	cr_assert_eq(util_parse_num("4K", 1, 1 << 30, 0, &v), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_num("4K", 1, 1 << 30, 1, &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(util_parse_num("4M", 1, 1 << 30, 1, &v), 0);
	cr_assert_eq(v, 4 << 20);
	cr_assert_eq(util_parse_num("4KB", 1, 1 << 30, 1, &v), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_num("9223372036854775807G", 1, 1 << 30, 1, &v), CFT_E_RANGE);
	cr_assert_eq(util_parse_num("1024T", 0, 1LL << 50, 1, &v), 0);
	cr_assert_eq(v, 1LL << 50);
	cr_assert_eq(util_parse_num("8388608T", 0, LLONG_MAX, 1, &v), CFT_E_RANGE);
	/* Block size limits, at and past each end. */
	cr_assert_eq(util_parse_num("4K", CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1, &v), 0);
	cr_assert_eq(util_parse_num("4095", CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1, &v),
		     CFT_E_RANGE);
	cr_assert_eq(util_parse_num("4M", CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1, &v), 0);
	cr_assert_eq(util_parse_num("4194305", CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1, &v),
		     CFT_E_RANGE);
}

Test(util, sanitize_keeps_terminal_safe)
{
	char out[16];

	util_sanitize((const uint8_t *)"ok\x1b[2J\n", 7, out, sizeof(out));
	cr_assert_str_eq(out, "ok?[2J?");
	util_sanitize((const uint8_t *)"0123456789abcdefXYZ", 19, out, sizeof(out));
	cr_assert_eq(strlen(out), sizeof(out) - 1);
}

Test(net, host_port_forms)
{
	struct net_addr a;
	const char *why;
	char s[64];

	cr_assert_eq(net_parse_hostport("127.0.0.1:7411", 1, 0, &a, &why), 0);
	net_addr_str(&a, s, sizeof(s));
	cr_assert_str_eq(s, "127.0.0.1:7411");
	cr_assert_eq(net_parse_hostport("[::1]:9", 1, 0, &a, &why), 0);
	net_addr_str(&a, s, sizeof(s));
	cr_assert_str_eq(s, "[::1]:9");
	cr_assert_eq(net_parse_hostport("127.0.0.2", 7411, 0, &a, &why), 0);
	net_addr_str(&a, s, sizeof(s));
	cr_assert_str_eq(s, "127.0.0.2:7411");
	cr_assert_eq(net_parse_hostport(":7000", 7411, 1, &a, &why), 0);
	cr_assert_eq(net_parse_hostport(":7000", 7411, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("127.0.0.1:0", 1, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("127.0.0.1:65536", 1, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("127.0.0.1:65535", 1, 0, &a, &why), 0);
	cr_assert_eq(net_parse_hostport("127.0.0.1:x", 1, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("::1:7411", 1, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("[::1", 1, 0, &a, &why), CFT_E_SYNTAX);
	cr_assert_eq(net_parse_hostport("[::1]x", 1, 0, &a, &why), CFT_E_SYNTAX);
}

/* What reaches a log shows what is there, and can neither reorder the line
 * nor drive the terminal: valid UTF-8 passes, the rest is escaped. */
Test(util, names_shown_in_logs)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain.txt", "plain.txt" },
		{ "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac" },
		{ "evil\xe2\x80\xaetxt.exe", "evil\\u{202e}txt.exe" },	/* RLO */
		{ "a\xe2\x81\xa6" "b", "a\\u{2066}b" },		/* LRI */
		{ "zw\xe2\x80\x8bj", "zw\\u{200b}j" },		/* zero width */
		{ "c1\xc2\x85x", "c1\\xc2\\x85x" },		/* NEL, a C1 control */
		{ "bad\xff\xfe", "bad\\xff\\xfe" },		/* not UTF-8 */
		{ "over\xc0\xaf", "over\\xc0\\xaf" },		/* overlong '/' */
		{ "sur\xed\xa0\x80", "sur\\xed\\xa0\\x80" },	/* a surrogate */
		{ "cut\xe6\x97", "cut\\xe6\\x97" },		/* cut short */
		{ "back\\slash", "back\\\\slash" },
		{ "del\x7f", "del\\x7f" },
	};
	char out[UTIL_NAME_SHOWN_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		util_name_shown(cases[i].in, out, sizeof(out));
		cr_assert_str_eq(out, cases[i].out, "case %zu", i);
	}
	/* Too long for the room: cut at a whole character or escape. */
	util_name_shown("ab\xff", out, 5);
	cr_assert_str_eq(out, "ab");
	util_name_shown("a\xc3\xa9", out, 3);
	cr_assert_str_eq(out, "a");
}

/* JSON gets valid UTF-8 whatever the bytes: invalid ones become U+FFFD. */
Test(util, json_strings_are_valid_utf8)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	util_json_string(f, "a\"\\\n\xff\xc3\xa9\xe2\x80\xae");
	fclose(f);
	cr_assert_str_eq(buf, "\"a\\\"\\\\\\u000a\\ufffd\xc3\xa9\xe2\x80\xae\"");
	free(buf);
}

/* Who counts as this host, for a receiver without a key. */
Test(net, loopback_and_any)
{
	static const struct {
		const char *spec;
		int loopback, any;
	} cases[] = {
		{ "127.0.0.1:1", 1, 0 }, { "127.255.0.9:1", 1, 0 }, { "[::1]:1", 1, 0 },
		{ "[::ffff:127.0.0.2]:1", 1, 0 }, { "128.0.0.1:1", 0, 0 },
		{ "[::ffff:10.0.0.1]:1", 0, 0 }, { "[fe80::1]:1", 0, 0 }, { "0.0.0.0:1", 0, 1 },
		{ "[::]:1", 0, 1 }, { "[::2]:1", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr a;
		const char *why;

		cr_assert_eq(net_parse_hostport(cases[i].spec, 1, 1, &a, &why), 0, "%s",
			     cases[i].spec);
		cr_assert_eq(net_addr_is_loopback(&a), cases[i].loopback, "%s", cases[i].spec);
		cr_assert_eq(net_addr_is_any(&a), cases[i].any, "%s", cases[i].spec);
	}
}

static int path_ok(const char *p)
{
	return util_path_valid((const uint8_t *)p, strlen(p)) == 0;
}

Test(names, paths_stay_below_dir)
{
	cr_assert(path_ok("a"));
	cr_assert(path_ok("photos/2024/a.jpg"));
	cr_assert(path_ok("a/.hidden/b"));
	cr_assert_not(path_ok(""));
	cr_assert_not(path_ok("/etc/passwd"), "absolute");
	cr_assert_not(path_ok("a/"), "trailing slash");
	cr_assert_not(path_ok("a//b"), "empty name");
	cr_assert_not(path_ok("../a"));
	cr_assert_not(path_ok("a/../../b"));
	cr_assert_not(path_ok("a/./b"));
	cr_assert_not(path_ok("a/.."));
	cr_assert_not(path_ok("a/" CFT_TEMP_PREFIX "x"), "a temporary name anywhere");
	cr_assert_not(path_ok("a/b\nc"));
	cr_assert_neq(util_path_valid((const uint8_t *)"a/\0b", 4), 0);
}

Test(names, path_length_limits)
{
	char p[CFT_PATH_MAX + 2];

	/* Names of 200 bytes and one of 220, joined: at the limit, and one
	 * byte past. */
	memset(p, 'x', sizeof(p));
	for (size_t i = 200; i < CFT_PATH_MAX - 200; i += 201)
		p[i] = '/';
	p[CFT_PATH_MAX] = '\0';
	cr_assert(path_ok(p), "a path of exactly CFT_PATH_MAX bytes is fine");
	p[CFT_PATH_MAX] = 'x';
	p[CFT_PATH_MAX + 1] = '\0';
	cr_assert_not(path_ok(p), "one byte more is refused");
	/* A name past CFT_NAME_MAX inside a short path. */
	memset(p, 'y', CFT_NAME_MAX + 1);
	p[CFT_NAME_MAX + 1] = '\0';
	cr_assert_not(path_ok(p));
	p[0] = 'a';
	p[1] = '/';
	cr_assert(path_ok(p), "a/ and a name of 254");
}
