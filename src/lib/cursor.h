/*
 * Bounds-checked cursors over byte buffers, big-endian.  Reads and writes
 * past the end set a sticky error flag and yield zeros, so a decoder can read
 * every field and check once at the end (rd_done) instead of after each one.
 */
#ifndef CFT_CURSOR_H
#define CFT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
	bool err;
};

struct wr {
	uint8_t *buf;
	size_t cap;
	size_t off;
	bool err;
};

static inline void rd_init(struct rd *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
	r->err = false;
}

/* Next n bytes, or NULL (and the error flag) if fewer remain. */
static inline const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->off;
	r->off += n;
	return p;
}

static inline uint64_t rd_be(struct rd *r, size_t n)
{
	const uint8_t *p = rd_bytes(r, n);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline uint8_t rd_u8(struct rd *r) { return (uint8_t)rd_be(r, 1); }
static inline uint16_t rd_u16(struct rd *r) { return (uint16_t)rd_be(r, 2); }
static inline uint32_t rd_u32(struct rd *r) { return (uint32_t)rd_be(r, 4); }
static inline uint64_t rd_u64(struct rd *r) { return rd_be(r, 8); }

static inline void rd_copy(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_bytes(r, n);

	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* True when every field was present and nothing is left over. */
static inline bool rd_done(const struct rd *r)
{
	return !r->err && r->off == r->len;
}

static inline void wr_init(struct wr *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->off = 0;
	w->err = false;
}

static inline uint8_t *wr_space(struct wr *w, size_t n)
{
	if (w->err || n > w->cap - w->off) {
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->buf + w->off;
	w->off += n;
	return p;
}

static inline void wr_be(struct wr *w, uint64_t v, size_t n)
{
	uint8_t *p = wr_space(w, n);

	if (!p)
		return;
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void wr_u8(struct wr *w, uint8_t v) { wr_be(w, v, 1); }
static inline void wr_u16(struct wr *w, uint16_t v) { wr_be(w, v, 2); }
static inline void wr_u32(struct wr *w, uint32_t v) { wr_be(w, v, 4); }
static inline void wr_u64(struct wr *w, uint64_t v) { wr_be(w, v, 8); }

static inline void wr_bytes(struct wr *w, const void *src, size_t n)
{
	uint8_t *p = wr_space(w, n);

	if (p && n)
		memcpy(p, src, n);
}

#endif
