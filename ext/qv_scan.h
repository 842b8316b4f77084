/* qv_scan.h: the digit count of a QuadRankVector rank (quad_vector.pxd) without a branch.
 *
 * A rank at digit `off` (< 224) of a 64-byte line counts the 2-bit digits equal to x among
 * the line's first `off` (digit k in byte 8 + k / 4, bits 2 * (k % 4)).  The scalar loop
 * over 0..6 words that this replaces mispredicted its exit about once per rank, that is
 * once per level of the 4-ary tree; here every rank reads the line's four 16-byte vectors
 * and takes the range from a mask read out of a sliding table.
 *
 * A digit equals x when its two bits xor x's are both zero: fold them into the digit's low
 * bit with one 16-bit shift (the next digit's bit only reaches the high bit), keep the low
 * bits under the mask, and add them up per 4-bit field (at most 2 per field and vector, 8
 * in all) before one sum of bytes.
 *
 * Without SSE2 (not x86-64) the same count is made over the seven data words.
 */
#ifndef FM_QV_SCAN_H
#define FM_QV_SCAN_H

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FM_QV_LT_ZERO 64        /* fm_qv_lt_mask's index of data byte 0 for h = 0 */

/* The "digits below h" mask of data byte i (-8 <= i < 56) is
 * fm_qv_lt_mask[h & 3][FM_QV_LT_ZERO - (h >> 2) + i] (0 <= h < 224): the low bit of each
 * digit of the byte that is below h.  The 8 header bytes (i < 0) read 0x55; the count
 * masks them out itself. */
static const uint8_t fm_qv_lt_mask[4][128] __attribute__((aligned(16))) = {
#define FM_R8(v) v, v, v, v, v, v, v, v
#define FM_R32(v) FM_R8(v), FM_R8(v), FM_R8(v), FM_R8(v)
#define FM_TAIL FM_R8(0), FM_R8(0), FM_R8(0), FM_R8(0), FM_R8(0), FM_R8(0), FM_R8(0), 0, 0, 0, 0, 0, 0, 0
    {FM_R32(0x55), FM_R32(0x55), 0x00, FM_TAIL},
    {FM_R32(0x55), FM_R32(0x55), 0x01, FM_TAIL},
    {FM_R32(0x55), FM_R32(0x55), 0x05, FM_TAIL},
    {FM_R32(0x55), FM_R32(0x55), 0x15, FM_TAIL},
#undef FM_TAIL
#undef FM_R32
#undef FM_R8
};

/* Digits equal to x (0..3) among the first `off` (< 224) digits of line w. */
static inline unsigned fm_qv_line_count(const uint64_t *w, unsigned x, unsigned off)
{
    const uint8_t *mask = fm_qv_lt_mask[off & 3] + FM_QV_LT_ZERO - (off >> 2) - 8;
    const uint8_t *line = (const uint8_t *)w;
    unsigned j;
#if defined(__SSE2__)
    const __m128i xv = _mm_set1_epi8((char)(x * 0x55));
    const __m128i m33 = _mm_set1_epi8(0x33), m0f = _mm_set1_epi8(0x0F);
    /* the first vector's 8 header bytes */
    const __m128i data = _mm_set_epi32(-1, -1, 0, 0);
    __m128i acc = _mm_setzero_si128(), t, m;
    for (j = 0; j < 64; j += 16) {      /* a fixed trip: unrolled */
        t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(line + j)), xv);
        t = _mm_or_si128(t, _mm_srli_epi16(t, 1));
        m = _mm_loadu_si128((const __m128i *)(mask + j));
        if (j == 0)
            m = _mm_and_si128(m, data);
        t = _mm_andnot_si128(t, m);     /* low bit of each matching digit below off */
        acc = _mm_add_epi8(acc, _mm_add_epi8(_mm_and_si128(t, m33),
                                             _mm_and_si128(_mm_srli_epi16(t, 2), m33)));
    }
    acc = _mm_add_epi8(_mm_and_si128(acc, m0f), _mm_and_si128(_mm_srli_epi16(acc, 4), m0f));
    acc = _mm_sad_epu8(acc, _mm_setzero_si128());
    return (unsigned)_mm_cvtsi128_si32(acc) + (unsigned)_mm_extract_epi16(acc, 4);
#else
    const uint64_t xw = (uint64_t)x * 0x5555555555555555ULL;
    uint64_t t, m;
    unsigned r = 0;
    for (j = 8; j < 64; j += 8) {
        __builtin_memcpy(&t, line + j, 8);
        __builtin_memcpy(&m, mask + j, 8);
        t ^= xw;
        r += (unsigned)__builtin_popcountll(~(t | (t >> 1)) & m);
    }
    return r;
#endif
}

#endif
