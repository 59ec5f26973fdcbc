/* The entries cft-send sends for its arguments (tree.h). */
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/util.h"
#include "tree.h"

/* Descriptors nftw may hold open at once, whatever the depth. */
#define TREE_FDS 16

/* The walk in progress: nftw takes no context of its own. */
static struct {
	struct tree *t;
	const char *root;	/* the argument, without trailing slashes */
	size_t root_len;
	const char *base;	/* its base name: the tree's name at the receiver */
	int status;		/* an exit status, once something failed */
} walk;

static int add_entry(struct tree *t, const char *path, const char *name, const struct stat *st,
		     bool dir)
{
	struct send_file *f;

	if (t->n >= CFT_FILES_MAX) {
		log_error("%s: more than %d files and directories: at most that many per run",
			  walk.root ? walk.root : path, CFT_FILES_MAX);
		return CFT_EXIT_USAGE;
	}
	if (util_path_valid((const uint8_t *)name, strlen(name)) < 0) {
		log_error("%s: name cannot be sent (empty, '.', '..', control characters, a name "
			  "over %d bytes or a path over %d, or starting with " CFT_TEMP_PREFIX ")",
			  path, CFT_NAME_MAX, CFT_PATH_MAX);
		return CFT_EXIT_USAGE;
	}
	if (!dir && (unsigned long long)st->st_size > CFT_FILE_SIZE_MAX) {
		log_error("%s: larger than the %llu-byte limit", path,
			  (unsigned long long)CFT_FILE_SIZE_MAX);
		return CFT_EXIT_LOCAL;
	}
	if (t->n == t->cap) {
		unsigned cap = t->cap ? 2 * t->cap : 16;
		struct send_file *g = realloc(t->files, cap * sizeof(*g));

		if (!g) {
			log_error("out of memory");
			return CFT_EXIT_LOCAL;
		}
		t->files = g;
		t->cap = cap;
	}
	f = &t->files[t->n];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	f->name = strdup(name);
	f->dir = dir;
	f->size = dir ? 0 : (uint64_t)st->st_size;
	if (!f->path || !f->name) {
		free((void *)f->path);
		free((void *)f->name);
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	t->n++;
	return 0;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char name[CFT_PATH_MAX + 2];
	size_t len = strlen(path);
	int n;

	(void)ftw;
	/* Below the root, the path as nftw joins it; the name at the
	 * receiver is the root's base name and the same tail. */
	n = snprintf(name, sizeof(name), "%s%s", walk.base,
		     len > walk.root_len ? path + walk.root_len : "");
	if (n < 0 || (size_t)n >= sizeof(name))
		name[0] = '\0';	/* too long: refused below, by name */
	switch (type) {
	case FTW_F:
		if (S_ISREG(st->st_mode))
			break;
		log_info("warning: %s: not sent (%s)", path, S_ISFIFO(st->st_mode) ? "a FIFO" :
			 S_ISSOCK(st->st_mode) ? "a socket" : "a device or special file");
		walk.t->skipped++;
		return 0;
	case FTW_SL:
	case FTW_SLN:
		log_info("warning: %s: not sent (a symbolic link: links are not followed)", path);
		walk.t->skipped++;
		return 0;
	case FTW_DP:
		break;
	default:	/* FTW_DNR, FTW_NS: unreadable */
		log_error("%s: %s", path, strerror(errno ? errno : EACCES));
		walk.status = CFT_EXIT_LOCAL;
		return 1;
	}
	walk.status = add_entry(walk.t, path, name, st, type == FTW_DP);
	return walk.status != 0;
}

int tree_add(struct tree *t, const char *path)
{
	char *root, *copy;
	struct stat st;
	size_t len;
	int rc;

	if (lstat(path, &st) < 0 && stat(path, &st) < 0) {
		log_error("%s: %s", path, strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	/* An argument that is a link is followed, as a shell user means it. */
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0) {
		log_error("%s: %s", path, strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	root = strdup(path);
	copy = strdup(path);
	if (!root || !copy) {
		free(root);
		free(copy);
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	for (len = strlen(root); len > 1 && root[len - 1] == '/'; len--)
		root[len - 1] = '\0';
	strcpy(copy, root);
	walk.t = t;
	walk.root = root;
	walk.root_len = strlen(root);
	walk.base = basename(copy);
	walk.status = 0;
	if (S_ISDIR(st.st_mode)) {
		rc = nftw(root, visit, TREE_FDS, FTW_PHYS | FTW_DEPTH);
		rc = walk.status ? walk.status : rc < 0 ? CFT_EXIT_LOCAL : 0;
		if (rc && !walk.status)
			log_error("%s: %s", path, strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		rc = add_entry(t, path, walk.base, &st, false);
	} else {
		log_error("%s: not a regular file or a directory", path);
		rc = CFT_EXIT_LOCAL;
	}
	free(root);
	free(copy);
	walk.root = walk.base = NULL;
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct send_file *const *)a)->name,
		      (*(const struct send_file *const *)b)->name);
}

int tree_check_names(const struct tree *t)
{
	const struct send_file **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	int rc = 0;

	if (!v) {
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	for (unsigned i = 0; i < t->n; i++)
		v[i] = &t->files[i];
	qsort(v, t->n, sizeof(*v), by_name);
	for (unsigned i = 1; i < t->n && rc == 0; i++) {
		if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
			log_error("%s and %s would both be sent as '%s'", v[i - 1]->path,
				  v[i]->path, v[i]->name);
			rc = CFT_EXIT_USAGE;
		}
	}
	free(v);
	return rc;
}

void tree_free(struct tree *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		free((void *)t->files[i].path);
		free((void *)t->files[i].name);
	}
	free(t->files);
	memset(t, 0, sizeof(*t));
}
