/*
 * Least privilege for a receiver that runs as a service: once the socket is
 * bound and DIR is open (what root may be needed for), become another user
 * for good, and forbid gaining privileges again (no set-user-ID program, no
 * file capability, can restore them).
 */
#ifndef CFT_RECV_PRIVS_H
#define CFT_RECV_PRIVS_H

/*
 * Become `user` (its uid, its primary group, no supplementary groups) if
 * it is not NULL, then set no-new-privileges.  Returns 0, or -1 with a
 * message logged (no such user, not root, or a step refused).
 */
int privs_drop(const char *user);

#endif
