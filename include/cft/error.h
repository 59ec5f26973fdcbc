/*
 * Return codes of the library modules.  Functions return 0 or one of these
 * negative values and print nothing; programs turn them into messages and
 * exit statuses at the edge.
 */
#ifndef CFT_ERROR_H
#define CFT_ERROR_H

enum cft_err {
	CFT_OK = 0,
	CFT_E_TRUNCATED = -1,	/* datagram shorter than its fields say */
	CFT_E_MAGIC = -2,	/* not a cft datagram */
	CFT_E_CHECKSUM = -3,	/* datagram checksum does not match */
	CFT_E_VERSION = -4,	/* protocol version we do not speak */
	CFT_E_TYPE = -5,	/* unknown datagram type */
	CFT_E_MALFORMED = -6,	/* a field out of range, or bytes left over */
	CFT_E_SPACE = -7,	/* encoder: output buffer too small */
	CFT_E_NOMEM = -8,
	CFT_E_IO = -9,		/* see errno */
	CFT_E_NAME = -10,	/* file name not acceptable */
	CFT_E_RANGE = -11,	/* number out of range */
	CFT_E_SYNTAX = -12,	/* text that does not parse */
	CFT_E_CHANGED = -13,	/* a source file changed while we read it */
	CFT_E_TAG = -14,	/* datagram tag does not match: damage past the CRC */
	CFT_E_AUTH = -15,	/* keyed datagram: not made with our key (or damaged) */
	CFT_E_REPLAY = -16,	/* keyed datagram seen before */
};

/* A short fixed description of a code, for messages. */
const char *cft_strerror(int err);

#endif
