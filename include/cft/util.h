/* Small helpers shared by every program: numbers, names, clock, logging. */
#ifndef CFT_UTIL_H
#define CFT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cft/limits.h"

/*
 * Parse a whole decimal number in [min, max] (in the spirit of OpenBSD's
 * strtonum).  An optional binary suffix K, M, G or T (powers of 1024) is taken
 * when allow_suffix is set.  Returns 0, CFT_E_SYNTAX or CFT_E_RANGE.
 */
int util_parse_num(const char *s, long long min, long long max, int allow_suffix,
		   long long *out);

/* Parse a probability: "0.05" or "5%", in [0, 1].  Returns 0, CFT_E_SYNTAX
 * or CFT_E_RANGE. */
int util_parse_prob(const char *s, double *out);

/*
 * Check a file name that came from the wire or the command line, as given
 * (len bytes, not NUL-terminated).  Refused: empty, longer than CFT_NAME_MAX,
 * "." or "..", containing '/', NUL or another control character, or starting
 * with the receiver's temporary prefix.  Returns 0 or CFT_E_NAME.
 */
int util_name_valid(const uint8_t *name, size_t len);

/*
 * A name on the wire: a file's name, or a path below the receiver's DIR
 * (names util_name_valid accepts, joined by single '/', nothing before the
 * first or after the last), at most CFT_PATH_MAX bytes.  Returns 0 or
 * CFT_E_NAME.
 */
int util_path_valid(const uint8_t *path, size_t len);

/* Prefix of the receiver's temporary files; no accepted name starts so. */
#define CFT_TEMP_PREFIX ".cft-tmp."

/* Copy untrusted bytes into out (cap >= 1) as printable ASCII, escaping the
 * rest as '?', so a peer cannot drive the terminal. */
void util_sanitize(const uint8_t *in, size_t len, char *out, size_t cap);

/*
 * A file name for people and logs: valid UTF-8 passes as it is, but for
 * what could deceive a reader or drive a terminal, written as escapes that
 * show what is there: a byte that is not part of valid UTF-8, a control
 * character (C0, DEL, C1) as \xHH per byte; a bidirectional or invisible
 * formatting character (U+200B..U+200F, U+202A..U+202E, U+2060..U+2069,
 * U+FEFF) as \u{XXXX}; a backslash as \\.  The result is valid UTF-8
 * (truncated at a character to fit cap >= 1), so JSON can carry it.
 */
#define UTIL_NAME_SHOWN_MAX (4 * CFT_PATH_MAX + 1)
void util_name_shown(const char *name, char *out, size_t cap);

/* Monotonic clock, microseconds. */
uint64_t util_now_us(void);

/* Logging to stderr, prefixed with the program name (and, with
 * log_stamp, a UTC time to the millisecond, for logs kept in files), or to
 * syslog once log_syslog() is called.  Levels: -1 quiet (errors only), 0
 * normal, 1 verbose. */
extern int log_level;
extern const char *log_prog;
extern int log_stamp;
void log_syslog(void);
/* The last line log_error wrote (its message, without prefix), or "". */
const char *log_last_error(void);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write s as a JSON string (quoted, escaped) to f.  Valid UTF-8 passes as
 * it is; control characters are escaped, and a byte that is not part of
 * valid UTF-8 becomes U+FFFD, so the output is always valid JSON. */
void util_json_string(FILE *f, const char *s);

/* "1.5 MiB" style size, into out. */
void util_human_bytes(uint64_t n, char *out, size_t cap);

#endif
