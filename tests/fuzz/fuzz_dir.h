/*
 * A fresh directory for each fuzz input, removed afterwards, so that what
 * one input leaves behind (a partial file, a state file) cannot change what
 * the next does: a crash then reproduces from its own input alone.
 */
#ifndef CFT_FUZZ_DIR_H
#define CFT_FUZZ_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mkdtemp into dir (a buffer of at least 32 bytes); aborts on failure. */
static inline void fuzz_dir_new(char *dir)
{
	strcpy(dir, "/tmp/cft-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

/* Remove dir and the files in it (the engines make no subdirectories). */
static inline void fuzz_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

#endif
