/* po_scan.h: the digit count of a pair-occurrence rank (pair_occ.pxd) without a branch.
 *
 * A rank at digit `off` of a 304-digit block counts the digits equal to x either in
 * [0, off) (forward from the block's counts; off <= 152 in a full block) or in [off, 304)
 * (backward from the next block's; off > 152).  Each range lies in six 16-byte vectors
 * aligned in the block: bytes 32..127 forward, 112..207 backward (the data bytes are 40..191,
 * digit k in byte 40 + k / 2, low nibble for even k).  The scalar loop over 1..10 words that
 * this replaces mispredicted its exit about once per rank; here every rank does the same
 * six vectors, the range comes from masks read out of a sliding table, and the caller
 * picks the direction's sign with a conditional move.
 *
 * A vector that holds no digit of the range has a zero mask, and is loaded from a vector
 * that the rank reads anyway (the first forward, the last backward): no line is touched
 * that the lines a rank requests (_po_request_lines) do not cover.
 *
 * A nibble equals x when its bits xor x's are all zero: fold them into the nibble's bit 0
 * with two 16-bit shifts (a bit of the next nibble only ever reaches bits 1..3), then keep
 * bit 0 (even digit) and bit 4 (odd digit) of each byte where the mask has them.  A letter
 * rank (the digit's low 2 bits: its BWT letter) folds one shift only.
 *
 * Without SSE2 (not x86-64) the same vectors are counted as 64-bit words.
 */
#ifndef FM_PO_SCAN_H
#define FM_PO_SCAN_H

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FM_PO_LT_ZERO 160       /* fm_po_lt_mask's index of data byte 0 for h = 0 */

/* The "digits below h" mask of data byte i (-8 <= i < 152) is
 * fm_po_lt_mask[h & 1][FM_PO_LT_ZERO - (h >> 1) + i] (0 <= h <= 304): 0x11 (both digits
 * below h), 0x01 (the even one only, h odd) or 0x00.  Header bytes (i < 0) read 0x11 for
 * every h, so that [lo, hi) masks them out. */
static const uint8_t fm_po_lt_mask[2][320] __attribute__((aligned(16))) = {
#define FM_R8(v) v, v, v, v, v, v, v, v
#define FM_R32(v) FM_R8(v), FM_R8(v), FM_R8(v), FM_R8(v)
#define FM_R160(v) FM_R32(v), FM_R32(v), FM_R32(v), FM_R32(v), FM_R32(v)
    {FM_R160(0x11), FM_R160(0x00)},
    {FM_R160(0x11), 0x01, 0, 0, 0, 0, 0, 0, 0, FM_R8(0x00), FM_R8(0x00), FM_R8(0x00),
     FM_R32(0x00), FM_R32(0x00), FM_R32(0x00), FM_R32(0x00)},
#undef FM_R160
#undef FM_R32
#undef FM_R8
};

/* Digits equal to x (letter: whose low 2 bits equal x) among digits [0, off) of block w
 * (back = 0; off <= 160) or [off, 304) (back = 1; off >= 144). */
static inline unsigned fm_po_rank_count(const uint64_t *w, unsigned x, unsigned off, int back,
                                        int letter)
{
    const uint8_t *blk = (const uint8_t *)w;
    const unsigned first = back ? 112 : 32;         /* the six vectors' first byte */
    const unsigned lo = back ? off : 0, hi = back ? 304 : off;
    const unsigned row = 40 + (off >> 1);           /* the row's byte */
    /* mask of block byte j: lt(hi)[j - 40] & ~lt(lo)[j - 40] */
    const uint8_t *mh = fm_po_lt_mask[hi & 1] + FM_PO_LT_ZERO - (hi >> 1) - 40;
    const uint8_t *ml = fm_po_lt_mask[lo & 1] + FM_PO_LT_ZERO - (lo >> 1) - 40;
    /* a vector past the row (forward) or before it (backward) holds none of the range */
    const unsigned spare = back ? 176 : 32;
    unsigned j, at;
#if defined(__SSE2__)
    const __m128i xv = _mm_set1_epi8((char)(x * 0x11));
    const __m128i low = _mm_set1_epi8(0x0F);
    __m128i acc = _mm_setzero_si128(), t, m;
    for (j = first; j < first + 96; j += 16) {      /* a fixed trip: unrolled */
        at = (back ? j + 15 >= row : j <= row) ? j : spare;
        t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(blk + at)), xv);
        t = _mm_or_si128(t, _mm_srli_epi16(t, 1));
        if (!letter)
            t = _mm_or_si128(t, _mm_srli_epi16(t, 2));
        m = _mm_andnot_si128(_mm_loadu_si128((const __m128i *)(ml + j)),
                             _mm_loadu_si128((const __m128i *)(mh + j)));
        acc = _mm_add_epi8(acc, _mm_andnot_si128(t, m));   /* <= 6 per nibble */
    }
    acc = _mm_add_epi8(_mm_and_si128(acc, low), _mm_and_si128(_mm_srli_epi16(acc, 4), low));
    acc = _mm_sad_epu8(acc, _mm_setzero_si128());
    return (unsigned)_mm_cvtsi128_si32(acc) + (unsigned)_mm_extract_epi16(acc, 4);
#else
    const uint64_t xw = (uint64_t)x * 0x1111111111111111ULL;
    uint64_t t, a, b;
    unsigned r = 0, k;
    for (j = first; j < first + 96; j += 16) {
        at = (back ? j + 15 >= row : j <= row) ? j : spare;
        for (k = 0; k < 16; k += 8) {
            __builtin_memcpy(&t, blk + at + k, 8);
            __builtin_memcpy(&a, ml + j + k, 8);
            __builtin_memcpy(&b, mh + j + k, 8);
            t ^= xw;
            t |= t >> 1;
            if (!letter)
                t |= t >> 2;
            r += (unsigned)__builtin_popcountll(~t & b & ~a);
        }
    }
    return r;
#endif
}

#endif
