/*
 * Keys: what a pre-shared key adds to the datagram format (cft-protocol(7),
 * KEYS).  Pure apart from libcrypto: no socket, clock or file but the key
 * file's reading.
 *
 * The engines speak the keyless format and never see a key.  This layer
 * sits between them and the socket and turns one format into the other:
 *
 *  - HELLO, HELLO_ACK and the ERRORs that answer a session not yet (or no
 *    longer) open are *signed*: the same bytes, the SIGNED flag set, the tag
 *    an HMAC-SHA-256 under the hello key instead of a plain SHA-256.
 *    Anyone holding the key can make them, nobody else can.
 *  - Everything else is *sealed* under the session's keys: the header in
 *    clear (authenticated), the SEALED flag set, the checksum field a
 *    packet number, the body
 *    encrypted with ChaCha20-Poly1305, whose 16-byte tag takes the place of
 *    the keyless tag (a DATA datagram drops its leaf and check instead: the
 *    receiver computes them again from the payload it decrypted).
 *
 * The session keys come from HKDF-SHA-256 over the key, both sides'
 * randoms and the session id: one key each way.  Packet numbers never
 * repeat under one key, and a window of the last CFT_REPLAY_WINDOW numbers
 * seen rejects a datagram that arrives twice.
 */
#ifndef CFT_SEAL_H
#define CFT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

/* The header flags of a signed and of a sealed datagram. */
#define SEAL_FLAG_SIGNED 0x0001u
#define SEAL_FLAG_SEALED 0x0002u

/* What a sealed datagram adds: the AEAD tag, less what it replaces. */
#define SEAL_AEAD_TAG_LEN 16

/* A key in a key file, as `cft genkey` prints it: base64, one line. */
#define SEAL_KEY_TEXT_LEN 44

/* One direction of a session: a cipher context, its key set once. */
struct seal_dir {
	void *ctx;			/* EVP_CIPHER_CTX */
	uint64_t pn;			/* sending: the next packet number;
					 * receiving: the highest seen + 1 */
	uint64_t seen[CFT_REPLAY_WINDOW / 64 + 1];	/* receiving: a ring, bit pn */
};

struct seal {
	struct seal_dir tx, rx;
};

/* Read a key file: refused (CFT_E_RANGE, *why set) if group or others may
 * read or write it, CFT_E_SYNTAX if it holds anything but one key, CFT_E_IO
 * (errno) if it cannot be read. */
int seal_key_load(const char *path, uint8_t key[CFT_KEY_LEN], const char **why);

/* A key as text (SEAL_KEY_TEXT_LEN characters and a NUL), and back. */
void seal_key_text(const uint8_t key[CFT_KEY_LEN], char out[SEAL_KEY_TEXT_LEN + 1]);
int seal_key_parse(const char *text, size_t len, uint8_t key[CFT_KEY_LEN]);

/* The key that signs the handshake, from the pre-shared key. */
void seal_hello_key(const uint8_t key[CFT_KEY_LEN], uint8_t out[CFT_KEY_LEN]);

/* Sign an encoded keyless control datagram in place (same length). */
void seal_sign(const uint8_t hello_key[CFT_KEY_LEN], uint8_t *buf, size_t len);

/*
 * A signed datagram back to its keyless form, in place, so wire_decode reads
 * it: 0, CFT_E_CHECKSUM (damaged on the way), or CFT_E_AUTH (signed under
 * another key, or forged).  With hello_key NULL it is converted unchecked:
 * a receiver without the key, or with another, reads a HELLO only to refer
 * to it in its refusal.
 */
int seal_unsign(const uint8_t *hello_key, uint8_t *buf, size_t len);

/* Signed, sealed (the flags of a datagram of at least a header)? */
bool seal_is_signed(const uint8_t *buf, size_t len);
bool seal_is_sealed(const uint8_t *buf, size_t len);

/* The session keys for session `id`, each side's random: the sender's ends
 * (sender true) or the receiver's.  Returns 0 or CFT_E_NOMEM. */
int seal_init(struct seal *s, const uint8_t key[CFT_KEY_LEN], uint64_t id,
	      const uint8_t sender_random[CFT_RANDOM_LEN],
	      const uint8_t receiver_random[CFT_RANDOM_LEN], bool sender);
void seal_free(struct seal *s);

/* Seal the keyless datagram in[0..len) into out (cap bytes): its length, or
 * CFT_E_SPACE. */
int seal_close(struct seal *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Open a sealed datagram into its keyless form in out (cap bytes): its
 * length, CFT_E_AUTH (damaged or forged: a sealed datagram has no other
 * check), CFT_E_REPLAY (seen before, or too old to tell), CFT_E_TRUNCATED
 * or CFT_E_SPACE. */
int seal_open(struct seal *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap);

#endif
