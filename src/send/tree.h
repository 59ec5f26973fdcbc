/*
 * What cft-send sends for its arguments: each FILE under its base name, and
 * each directory as a tree of entries named below its base name (files,
 * then the directory that holds them, so that the receiver gives a
 * directory its mode and time after everything in it has arrived).
 * Symbolic links and special files in a tree are not sent: each is named in
 * a warning and counted.
 */
#ifndef CFT_SEND_TREE_H
#define CFT_SEND_TREE_H

#include "send-engine.h"

struct tree {
	struct send_file *files;	/* n entries, cap allocated */
	unsigned n, cap;
	unsigned skipped;		/* links and special files left out */
};

/*
 * Add what `path` stands for to t: one entry for a regular file, a walk for
 * a directory.  Returns 0, or an exit status after saying why (a name that
 * cannot be sent, an unreadable directory, too many entries).
 */
int tree_add(struct tree *t, const char *path);

/* No two entries with the same name?  0, or CFT_EXIT_USAGE after saying
 * which. */
int tree_check_names(const struct tree *t);

void tree_free(struct tree *t);

#endif
