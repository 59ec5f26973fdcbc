/* Number parsing, name checks, clock and logging. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cft/error.h"
#include "cft/limits.h"
#include "cft/util.h"

int log_level;
const char *log_prog = "cft";
int log_stamp;
static int to_syslog;
static char last_error[1024];

/*
 * The length of the UTF-8 sequence at p (n bytes left), or 0 if it is not
 * valid (overlong, a surrogate, past U+10FFFF, or cut short); its code point
 * in *cp.
 */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 :
		     (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t c;

	if (len == 0 || len > n)
		return 0;
	c = len == 1 ? p[0] : p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters that reorder or hide text: shown as escapes. */
static int deceptive(uint32_t c)
{
	return (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

void util_name_shown(const char *name, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name), o = 0;

	while (n > 0) {
		char esc[16];
		uint32_t c = 0;
		size_t len = utf8_next(p, n, &c), w;

		if (len == 0 || c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			/* Every byte of it, so the reader sees what is there. */
			size_t k = len ? len : 1, e = 0;

			for (size_t i = 0; i < k; i++)
				e += (size_t)snprintf(esc + e, sizeof(esc) - e, "\\x%02x", p[i]);
			len = k;
			w = e;
		} else if (deceptive(c)) {
			w = (size_t)snprintf(esc, sizeof(esc), "\\u{%04x}", (unsigned)c);
		} else if (c == '\\') {
			w = (size_t)snprintf(esc, sizeof(esc), "\\\\");
		} else {
			memcpy(esc, p, len);
			w = len;
		}
		if (o + w + 1 > cap)
			break;
		memcpy(out + o, esc, w);
		o += w;
		p += len;
		n -= len;
	}
	out[o] = '\0';
}

const char *log_last_error(void)
{
	return last_error;
}

void log_syslog(void)
{
	openlog(log_prog, LOG_PID, LOG_DAEMON);
	to_syslog = 1;
}

int util_parse_num(const char *s, long long min, long long max, int allow_suffix,
		   long long *out)
{
	char *end = NULL;
	long long v, mult = 1;

	if (!s || *s == '\0' || *s == ' ' || *s == '+' || *s == '\t')
		return CFT_E_SYNTAX;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return CFT_E_SYNTAX;
	if (errno == ERANGE)
		return CFT_E_RANGE;
	if (*end != '\0') {
		if (!allow_suffix || end[1] != '\0')
			return CFT_E_SYNTAX;
		switch (*end) {
		case 'k': case 'K': mult = 1LL << 10; break;
		case 'm': case 'M': mult = 1LL << 20; break;
		case 'g': case 'G': mult = 1LL << 30; break;
		case 't': case 'T': mult = 1LL << 40; break;
		default: return CFT_E_SYNTAX;
		}
		if (v > LLONG_MAX / mult || v < LLONG_MIN / mult)
			return CFT_E_RANGE;
		v *= mult;
	}
	if (v < min || v > max)
		return CFT_E_RANGE;
	*out = v;
	return 0;
}

int util_parse_prob(const char *s, double *out)
{
	char *end = NULL;
	double v;

	if (!s || *s == '\0' || *s == ' ' || *s == '+' || *s == '\t')
		return CFT_E_SYNTAX;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return CFT_E_SYNTAX;
	if (*end == '%' && end[1] == '\0')
		v /= 100.0;
	else if (*end != '\0')
		return CFT_E_SYNTAX;
	if (!(v >= 0.0 && v <= 1.0))	/* also refuses NaN */
		return CFT_E_RANGE;
	*out = v;
	return 0;
}

int util_name_valid(const uint8_t *name, size_t len)
{
	static const char prefix[] = CFT_TEMP_PREFIX;

	if (len == 0 || len > CFT_NAME_MAX)
		return CFT_E_NAME;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return CFT_E_NAME;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] < 0x20 || name[i] == 0x7f)
			return CFT_E_NAME;
	if (len >= sizeof(prefix) - 1 && memcmp(name, prefix, sizeof(prefix) - 1) == 0)
		return CFT_E_NAME;
	return 0;
}

int util_path_valid(const uint8_t *path, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > CFT_PATH_MAX)
		return CFT_E_NAME;
	/* Each name between the slashes on its own: no empty one (a leading,
	 * trailing or doubled '/'), no '.' or '..', nothing util_name_valid
	 * refuses.  So the path stays below DIR, whatever it says. */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (util_name_valid(path + start, i - start) < 0)
			return CFT_E_NAME;
		start = i + 1;
	}
	return 0;
}

void util_sanitize(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++)
		out[o++] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
	out[o] = '\0';
}

uint64_t util_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	char line[1024], stamp[40] = "";

	vsnprintf(line, sizeof(line), fmt, ap);
	if (prio == LOG_ERR)
		snprintf(last_error, sizeof(last_error), "%s", line);
	if (to_syslog) {
		syslog(prio, "%s", line);
		return;
	}
	if (log_stamp) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ ",
			 ts.tv_nsec / 1000000);
	}
	fprintf(stderr, "%s%s: %s\n", stamp, log_prog, line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 0)
		return;
	va_start(ap, fmt);
	vlog(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void log_verbose(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void util_human_bytes(uint64_t n, char *out, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(out, cap, "%.1f %s", v, unit[u]);
}

const char *cft_strerror(int err)
{
	switch (err) {
	case CFT_OK: return "success";
	case CFT_E_TRUNCATED: return "truncated datagram";
	case CFT_E_MAGIC: return "not a cft datagram";
	case CFT_E_CHECKSUM: return "bad checksum";
	case CFT_E_VERSION: return "unsupported protocol version";
	case CFT_E_TYPE: return "unknown datagram type";
	case CFT_E_MALFORMED: return "malformed datagram";
	case CFT_E_SPACE: return "buffer too small";
	case CFT_E_NOMEM: return "out of memory";
	case CFT_E_IO: return "I/O error";
	case CFT_E_NAME: return "file name not allowed";
	case CFT_E_RANGE: return "out of range";
	case CFT_E_SYNTAX: return "not a number";
	case CFT_E_CHANGED: return "source changed during transfer";
	case CFT_E_TAG: return "bad tag";
	case CFT_E_AUTH: return "not authenticated";
	case CFT_E_REPLAY: return "replayed datagram";
	default: return "unknown error";
	}
}

void util_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', f);
	while (n > 0) {
		uint32_t c = 0;
		size_t len = utf8_next(p, n, &c);

		if (len == 0) {
			fputs("\\ufffd", f);	/* not UTF-8: JSON cannot carry it */
			len = 1;
		} else if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", (int)c);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", (unsigned)c);
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
		n -= len;
	}
	fputc('"', f);
}
