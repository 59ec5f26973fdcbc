/*
 * Bit i of a byte array, least significant bit first: the layout of the
 * chunk maps cft-protocol(7) puts in STATUS, and of both ends' own maps of
 * chunks and blocks, so that a map goes on the wire as it is kept.
 */
#ifndef CFT_BITMAP_H
#define CFT_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

static inline bool bitmap_get(const uint8_t *map, uint32_t i)
{
	return (map[i / 8] >> (i % 8)) & 1u;
}

static inline void bitmap_set(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] | (1u << (i % 8)));
}

static inline void bitmap_clear(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] & ~(1u << (i % 8)));
}

#endif
