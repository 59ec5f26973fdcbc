/* Dropping root after binding; see privs.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cft/util.h"
#include "privs.h"

static int become(const char *user)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		log_error("--user %s: %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (geteuid() != 0) {
		log_error("--user %s: only root can become another user", user);
		return -1;
	}
	/* Groups first: after setuid there is no right left to change them. */
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("--user %s: %s", user, strerror(errno));
		return -1;
	}
	/* For good: a way back to root would make all of this decoration. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_error("--user %s: root could be regained", user);
		return -1;
	}
	log_verbose("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
		    (unsigned)pw->pw_gid);
	return 0;
}

int privs_drop(const char *user)
{
	if (user && become(user) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("no-new-privileges: %s", strerror(errno));
		return -1;
	}
	return 0;
}
