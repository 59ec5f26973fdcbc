/*
 * The receiver's abandoned partial files, as a whole (store.h): kept within
 * a quota, the oldest going first, and swept once past their time; never a
 * live session's.  Beside store.c, which keeps each file's life.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cft/error.h"
#include "cft/util.h"
#include "store.h"

struct partial {
	char name[64];
	int64_t mtime;
	uint64_t held;
};

static int older(const void *a, const void *b)
{
	const struct partial *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* The partial files (not state files) in dirfd that no live session holds;
 * *n of them, in a new array, and their space in *total. */
static struct partial *partials(int dirfd, bool (*live)(void *ctx, const char *name), void *ctx,
				size_t *n, uint64_t *total)
{
	static const char prefix[] = CFT_TEMP_PREFIX;
	struct partial *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	*n = 0;
	*total = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		struct stat st;
		size_t len = strlen(e->d_name);

		if (strncmp(e->d_name, prefix, sizeof(prefix) - 1) != 0 || len >= sizeof(v->name) ||
		    strchr(e->d_name + sizeof(prefix) - 1, '.') || (live && live(ctx, e->d_name)) ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			struct partial *w = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!w)
				break;
			v = w;
		}
		memcpy(v[*n].name, e->d_name, len + 1);
		v[*n].mtime = st.st_mtim.tv_sec;
		v[*n].held = (uint64_t)st.st_blocks * 512;
		*total += v[(*n)++].held;
	}
	closedir(d);
	return v;
}

int store_evict(int dirfd, uint64_t quota, bool (*live)(void *ctx, const char *name), void *ctx)
{
	char state[80];
	uint64_t total;
	size_t n;
	struct partial *v = partials(dirfd, live, ctx, &n, &total);
	int removed = 0;

	if (total > quota)
		qsort(v, n, sizeof(*v), older);
	for (size_t i = 0; i < n && total > quota; i++) {
		snprintf(state, sizeof(state), "%s.state", v[i].name);
		(void)unlinkat(dirfd, state, 0);
		if (unlinkat(dirfd, v[i].name, 0) == 0) {
			total -= v[i].held;
			removed++;
		}
	}
	free(v);
	return removed;
}

int store_space(int dirfd, uint64_t *avail)
{
	struct statvfs v;

	if (fstatvfs(dirfd, &v) < 0)
		return CFT_E_IO;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	return 0;
}

int store_sweep(int dirfd, uint64_t ttl_s, bool (*live)(void *ctx, const char *name), void *ctx)
{
	static const char prefix[] = CFT_TEMP_PREFIX;
	struct dirent *e;
	struct timespec now;
	int n = 0, fd = dup(dirfd);
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	rewinddir(d);
	clock_gettime(CLOCK_REALTIME, &now);
	while ((e = readdir(d))) {
		struct stat st;

		if (strncmp(e->d_name, prefix, sizeof(prefix) - 1) != 0 ||
		    (live && live(ctx, e->d_name)))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((uint64_t)(now.tv_sec - st.st_mtim.tv_sec) >= ttl_s &&
		    unlinkat(dirfd, e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
