/* Keys: signing and sealing datagrams (seal.h), via OpenSSL libcrypto. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/seal.h"
#include "cft/wire.h"

#define NONCE_LEN 12

/* What a sealed DATA datagram keeps of the keyless one: the header, the
 * fields up to the leaf, the payload; the leaf and check go. */
#define DATA_CUT (WIRE_DATA_PAYLOAD_OFF - WIRE_DATA_LEAF_OFF)

static const char LABEL_HELLO[] = "cft-6 hello key";
static const char LABEL_SESSION[] = "cft-6 session keys";

int seal_key_parse(const char *text, size_t len, uint8_t key[CFT_KEY_LEN])
{
	unsigned char raw[SEAL_KEY_TEXT_LEN];	/* 33 decoded bytes fit */
	char again[SEAL_KEY_TEXT_LEN + 1];

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	if (len != SEAL_KEY_TEXT_LEN || memchr(text, '\0', len))
		return CFT_E_SYNTAX;
	if (EVP_DecodeBlock(raw, (const unsigned char *)text, SEAL_KEY_TEXT_LEN) != 33)
		return CFT_E_SYNTAX;
	memcpy(key, raw, CFT_KEY_LEN);
	/* Only the one spelling of the key: anything else is not a key. */
	seal_key_text(key, again);
	if (memcmp(again, text, SEAL_KEY_TEXT_LEN) != 0)
		return CFT_E_SYNTAX;
	return 0;
}

void seal_key_text(const uint8_t key[CFT_KEY_LEN], char out[SEAL_KEY_TEXT_LEN + 1])
{
	CFT_ASSERT(EVP_EncodeBlock((unsigned char *)out, key, CFT_KEY_LEN) == SEAL_KEY_TEXT_LEN);
}

int seal_key_load(const char *path, uint8_t key[CFT_KEY_LEN], const char **why)
{
	char text[2 * SEAL_KEY_TEXT_LEN];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*why = NULL;
	if (fd < 0)
		return CFT_E_IO;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return CFT_E_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		*why = "not a regular file";
		return CFT_E_RANGE;
	}
	/* As ssh does with its keys: a key others can read is no secret, and
	 * one others can write is not ours. */
	if (st.st_mode & 077) {
		close(fd);
		*why = "group or others may read or write it (chmod 600)";
		return CFT_E_RANGE;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return CFT_E_IO;
	if (seal_key_parse(text, (size_t)n, key) < 0) {
		*why = "not a key (cft genkey makes one)";
		return CFT_E_SYNTAX;
	}
	return 0;
}

/* HKDF-SHA-256: len bytes of key material from ikm, salt and info. */
static void hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		 const uint8_t *info, size_t info_len, uint8_t *out, size_t len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	static const uint8_t nosalt[1];

	/* Failure here is libcrypto's, short of memory: not a peer's doing. */
	CFT_ASSERT(c);
	CFT_ASSERT(EVP_PKEY_derive_init(c) == 1);
	CFT_ASSERT(EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) == 1);
	CFT_ASSERT(EVP_PKEY_CTX_set1_hkdf_salt(c, salt_len ? salt : nosalt, (int)salt_len) == 1);
	CFT_ASSERT(EVP_PKEY_CTX_set1_hkdf_key(c, ikm, (int)ikm_len) == 1);
	CFT_ASSERT(EVP_PKEY_CTX_add1_hkdf_info(c, info, (int)info_len) == 1);
	CFT_ASSERT(EVP_PKEY_derive(c, out, &len) == 1);
	EVP_PKEY_CTX_free(c);
}

void seal_hello_key(const uint8_t key[CFT_KEY_LEN], uint8_t out[CFT_KEY_LEN])
{
	hkdf(key, CFT_KEY_LEN, NULL, 0, (const uint8_t *)LABEL_HELLO, sizeof(LABEL_HELLO) - 1,
	     out, CFT_KEY_LEN);
}

bool seal_is_signed(const uint8_t *buf, size_t len)
{
	return len >= WIRE_HDR_LEN && buf[WIRE_FLAGS_OFF] == 0 &&
	       buf[WIRE_FLAGS_OFF + 1] == SEAL_FLAG_SIGNED;
}

bool seal_is_sealed(const uint8_t *buf, size_t len)
{
	return len >= WIRE_HDR_LEN && buf[WIRE_FLAGS_OFF] == 0 &&
	       buf[WIRE_FLAGS_OFF + 1] == SEAL_FLAG_SEALED;
}

/* Only these may be signed: the handshake, and what answers a datagram
 * before (or after) a session has keys.  Anything about a session's files
 * is sealed, so that it cannot be replayed into another. */
static bool signable(const uint8_t *buf, size_t len)
{
	return len >= WIRE_HDR_LEN + WIRE_TAG_LEN &&
	       (buf[3] == WIRE_HELLO || buf[3] == WIRE_HELLO_ACK || buf[3] == WIRE_ERROR);
}

/* The signature of a signed datagram, over it up to its tag, checksum zero. */
static void signature(const uint8_t hello_key[CFT_KEY_LEN], const uint8_t *buf, size_t len,
		      uint8_t out[CFT_DIGEST_LEN])
{
	uint8_t copy[CFT_DATAGRAM_BIG_MAX];
	size_t n = len - WIRE_TAG_LEN;

	memcpy(copy, buf, n);
	memset(copy + WIRE_CSUM_OFF, 0, 4);
	digest_hmac(hello_key, CFT_KEY_LEN, copy, n, out);
}

void seal_sign(const uint8_t hello_key[CFT_KEY_LEN], uint8_t *buf, size_t len)
{
	uint8_t mac[CFT_DIGEST_LEN];

	CFT_ASSERT(signable(buf, len) && len <= CFT_DATAGRAM_BIG_MAX);
	buf[WIRE_FLAGS_OFF + 1] = SEAL_FLAG_SIGNED;
	signature(hello_key, buf, len, mac);
	memcpy(buf + len - WIRE_TAG_LEN, mac, WIRE_TAG_LEN);
	wire_reseal(buf, len);
}

int seal_unsign(const uint8_t *hello_key, uint8_t *buf, size_t len)
{
	uint8_t mac[CFT_DIGEST_LEN];

	if (len > CFT_DATAGRAM_BIG_MAX || !signable(buf, len) || !seal_is_signed(buf, len))
		return CFT_E_AUTH;
	if (!wire_checksum_ok(buf, len))
		return CFT_E_CHECKSUM;
	if (hello_key) {
		signature(hello_key, buf, len, mac);
		if (!digest_equal_n(mac, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN))
			return CFT_E_AUTH;
	}
	buf[WIRE_FLAGS_OFF + 1] = 0;
	wire_reseal_all(buf, len);
	return 0;
}

static int dir_init(struct seal_dir *d, const uint8_t key[CFT_KEY_LEN], bool encrypt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	memset(d, 0, sizeof(*d));
	if (!c)
		return CFT_E_NOMEM;
	d->ctx = c;
	/* The key is set once; each datagram sets only its nonce. */
	if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL, encrypt) != 1)
		return CFT_E_NOMEM;
	return 0;
}

int seal_init(struct seal *s, const uint8_t key[CFT_KEY_LEN], uint64_t id,
	      const uint8_t sender_random[CFT_RANDOM_LEN],
	      const uint8_t receiver_random[CFT_RANDOM_LEN], bool sender)
{
	uint8_t salt[2 * CFT_RANDOM_LEN], info[sizeof(LABEL_SESSION) - 1 + 8];
	uint8_t keys[2 * CFT_KEY_LEN];
	const uint8_t *to_receiver = keys, *to_sender = keys + CFT_KEY_LEN;
	int rc;

	memcpy(salt, sender_random, CFT_RANDOM_LEN);
	memcpy(salt + CFT_RANDOM_LEN, receiver_random, CFT_RANDOM_LEN);
	memcpy(info, LABEL_SESSION, sizeof(LABEL_SESSION) - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof(LABEL_SESSION) - 1 + (size_t)i] = (uint8_t)(id >> (56 - 8 * i));
	hkdf(key, CFT_KEY_LEN, salt, sizeof(salt), info, sizeof(info), keys, sizeof(keys));
	rc = dir_init(&s->tx, sender ? to_receiver : to_sender, true);
	if (rc == 0)
		rc = dir_init(&s->rx, sender ? to_sender : to_receiver, false);
	memset(keys, 0, sizeof(keys));
	if (rc < 0)
		seal_free(s);
	return rc;
}

void seal_free(struct seal *s)
{
	EVP_CIPHER_CTX_free(s->tx.ctx);
	EVP_CIPHER_CTX_free(s->rx.ctx);
	memset(s, 0, sizeof(*s));
}

static void nonce_of(uint64_t pn, uint8_t nonce[NONCE_LEN])
{
	memset(nonce, 0, NONCE_LEN - 8);
	for (int i = 0; i < 8; i++)
		nonce[NONCE_LEN - 8 + i] = (uint8_t)(pn >> (56 - 8 * i));
}

/* Run the cipher over one piece: in and out may be the same. */
static void crypt_piece(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t n)
{
	int outl;

	CFT_ASSERT(n <= CFT_DATAGRAM_BIG_MAX);
	CFT_ASSERT(EVP_CipherUpdate(c, out, &outl, in, (int)n) == 1 && (size_t)outl == n);
}

int seal_close(struct seal *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	EVP_CIPHER_CTX *c = s->tx.ctx;
	uint8_t nonce[NONCE_LEN];
	size_t head, tail, n;
	uint64_t pn = s->tx.pn;
	int outl;

	CFT_ASSERT(len >= WIRE_HDR_LEN && in[WIRE_FLAGS_OFF] == 0 && in[WIRE_FLAGS_OFF + 1] == 0);
	if (in[3] == WIRE_DATA) {
		CFT_ASSERT(len > WIRE_DATA_PAYLOAD_OFF);
		head = WIRE_DATA_LEAF_OFF;
		tail = len - WIRE_DATA_PAYLOAD_OFF;
	} else {
		CFT_ASSERT(len >= WIRE_HDR_LEN + WIRE_TAG_LEN);
		head = len - WIRE_TAG_LEN;
		tail = 0;
	}
	n = head + tail + SEAL_AEAD_TAG_LEN;
	if (n > cap || n > CFT_DATAGRAM_BIG_MAX)
		return CFT_E_SPACE;
	memcpy(out, in, WIRE_HDR_LEN);
	out[WIRE_FLAGS_OFF + 1] = SEAL_FLAG_SEALED;
	for (int i = 0; i < 4; i++)
		out[WIRE_CSUM_OFF + i] = (uint8_t)(pn >> (24 - 8 * i));
	nonce_of(pn, nonce);
	CFT_ASSERT(EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) == 1);
	CFT_ASSERT(EVP_CipherUpdate(c, NULL, &outl, out, WIRE_HDR_LEN) == 1);
	crypt_piece(c, out + WIRE_HDR_LEN, in + WIRE_HDR_LEN, head - WIRE_HDR_LEN);
	if (tail)
		crypt_piece(c, out + head, in + WIRE_DATA_PAYLOAD_OFF, tail);
	CFT_ASSERT(EVP_CipherFinal_ex(c, out + head + tail, &outl) == 1);
	CFT_ASSERT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, SEAL_AEAD_TAG_LEN,
				       out + head + tail) == 1);
	s->tx.pn = pn + 1;
	return (int)n;
}

/* The full packet number nearest to the next expected, from its low 32
 * bits (as QUIC recovers its packet numbers). */
static uint64_t full_pn(uint64_t expected, uint32_t low)
{
	const uint64_t win = 1ull << 32, half = win / 2;
	uint64_t pn = (expected & ~(win - 1)) | low;

	if (pn + half <= expected && pn < UINT64_MAX - win)
		return pn + win;
	if (pn > expected + half && pn >= win)
		return pn - win;
	return pn;
}

/* The window's words, as a ring: the numbers from the highest seen back
 * CFT_REPLAY_WINDOW span one word more than it has bits. */
#define RING (CFT_REPLAY_WINDOW / 64 + 1)

static bool seen(const struct seal_dir *d, uint64_t pn)
{
	if (pn >= d->pn)
		return false;
	if (d->pn - pn > CFT_REPLAY_WINDOW)
		return true;	/* too old to tell: as good as seen */
	return d->seen[(pn / 64) % RING] >> (pn % 64) & 1;
}

/* Record pn as seen.  A new highest clears the words it moves the window
 * onto: those after the old highest's, up to its own. */
static void mark(struct seal_dir *d, uint64_t pn)
{
	if (pn >= d->pn) {
		uint64_t lo = d->pn ? (d->pn - 1) / 64 + 1 : 0, hi = pn / 64;

		if (hi >= lo && hi - lo + 1 >= RING)
			memset(d->seen, 0, sizeof(d->seen));
		else
			for (uint64_t w = lo; w <= hi; w++)
				d->seen[w % RING] = 0;
		d->pn = pn + 1;
	}
	d->seen[(pn / 64) % RING] |= 1ull << (pn % 64);
}

int seal_open(struct seal *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	EVP_CIPHER_CTX *c = s->rx.ctx;
	uint8_t nonce[NONCE_LEN];
	size_t body, n;
	uint32_t low;
	uint64_t pn;
	int outl;
	bool data;

	if (len < WIRE_HDR_LEN + SEAL_AEAD_TAG_LEN || len > CFT_DATAGRAM_BIG_MAX)
		return CFT_E_TRUNCATED;
	if (!seal_is_sealed(in, len))
		return CFT_E_AUTH;
	data = in[3] == WIRE_DATA;
	body = len - WIRE_HDR_LEN - SEAL_AEAD_TAG_LEN;
	if (data && body <= WIRE_DATA_LEAF_OFF - WIRE_HDR_LEN)
		return CFT_E_TRUNCATED;
	n = data ? len - SEAL_AEAD_TAG_LEN + DATA_CUT : len;
	if (n > cap || n > CFT_DATAGRAM_BIG_MAX)
		return CFT_E_SPACE;
	low = (uint32_t)in[WIRE_CSUM_OFF] << 24 | (uint32_t)in[WIRE_CSUM_OFF + 1] << 16 |
	      (uint32_t)in[WIRE_CSUM_OFF + 2] << 8 | in[WIRE_CSUM_OFF + 3];
	pn = full_pn(s->rx.pn, low);
	if (seen(&s->rx, pn))
		return CFT_E_REPLAY;
	nonce_of(pn, nonce);
	CFT_ASSERT(EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) == 1);
	CFT_ASSERT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, SEAL_AEAD_TAG_LEN,
				       (void *)(in + len - SEAL_AEAD_TAG_LEN)) == 1);
	CFT_ASSERT(EVP_CipherUpdate(c, NULL, &outl, in, WIRE_HDR_LEN) == 1);
	if (data) {
		size_t fields = WIRE_DATA_LEAF_OFF - WIRE_HDR_LEN;

		crypt_piece(c, out + WIRE_HDR_LEN, in + WIRE_HDR_LEN, fields);
		crypt_piece(c, out + WIRE_DATA_PAYLOAD_OFF, in + WIRE_DATA_LEAF_OFF, body - fields);
	} else {
		crypt_piece(c, out + WIRE_HDR_LEN, in + WIRE_HDR_LEN, body);
	}
	if (EVP_CipherFinal_ex(c, out + WIRE_HDR_LEN, &outl) != 1)
		return CFT_E_AUTH;
	mark(&s->rx, pn);
	/* The keyless form, its checks made afresh over what was
	 * authenticated: the engines read nothing else. */
	memcpy(out, in, WIRE_HDR_LEN);
	out[WIRE_FLAGS_OFF + 1] = 0;
	wire_reseal_all(out, n);
	return (int)n;
}
