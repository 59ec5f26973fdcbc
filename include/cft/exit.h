/* Exit status shared by every cft program; documented in each man page. */
#ifndef CFT_EXIT_H
#define CFT_EXIT_H

enum cft_exit {
	CFT_EXIT_OK = 0,	/* every file verified and committed */
	CFT_EXIT_USAGE = 1,	/* bad option or argument */
	CFT_EXIT_REFUSED = 2,	/* refused by the peer, or incompatible version */
	CFT_EXIT_LOCAL = 3,	/* file error: missing, unreadable, not writable, full */
	CFT_EXIT_NETWORK = 4,	/* peer unreachable or silent past --timeout */
	CFT_EXIT_DIGEST = 5,	/* digests never agreed within the retry budget */
	CFT_EXIT_AUTH = 6,	/* reserved: authentication failure */
	CFT_EXIT_CHANGED = 7,	/* source changed during transfer */
	CFT_EXIT_SIGNAL = 130,	/* stopped by SIGINT or SIGTERM (128 + SIGINT) */
};

#endif
