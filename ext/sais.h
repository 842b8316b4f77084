/*
 * sais.h -- suffix-array construction by induced sorting (SA-IS).
 *
 * Algorithm: G. Nong, S. Zhang, W. H. Chan, "Two Efficient Algorithms for
 * Linear Time Suffix Array Construction" (2009/2011), with the usual practical
 * refinements (type bits kept in the sign of SA entries instead of a separate
 * bit vector, LMS-substring names computed from stored lengths, the reduced
 * problem solved inside the SA buffer, software prefetching in the induction
 * scans).  Implementation written for fmindex.
 *
 * Conventions shared by every entry point:
 *   - SA receives the suffix array of T[0..n) alone.  The end of the string
 *     is a virtual sentinel smaller than every symbol, so a suffix that is a
 *     proper prefix of another one sorts first (same output as divsufsort).
 *   - T is never modified; SA must hold n entries and must not overlap T.
 *   - Extra memory: O(k) bucket counters per recursion level (taken from free
 *     space inside SA when there is enough of it) -- the reduced problems are
 *     solved inside SA itself.
 *   - Return value: 0 on success, FM_SAIS_ENOMEM (-1) when an allocation
 *     failed, FM_SAIS_EINVAL (-2) for bad arguments (n < 0, n too large for
 *     the index type, k < 1, NULL pointers), FM_SAIS_ESYMBOL (-3) when a
 *     symbol of an integer text is outside [0, k).
 *   - All functions are thread-safe (no global state) and may run without
 *     the Python GIL.
 */
#ifndef FMINDEX_SAIS_H
#define FMINDEX_SAIS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FM_SAIS_ENOMEM  (-1)
#define FM_SAIS_EINVAL  (-2)
#define FM_SAIS_ESYMBOL (-3)

/* Byte alphabet, 32-bit suffix array: requires 0 <= n <= 2^31 - 1. */
int64_t fm_sais_u8(const uint8_t *T, int32_t *SA, int64_t n);

/* Byte alphabet, 64-bit suffix array: any n >= 0 (needed for n >= 2^31). */
int64_t fm_sais_u8_64(const uint8_t *T, int64_t *SA, int64_t n);

/* 16-bit alphabet [0, k), k <= 65536 (e.g. 256 bytes + separators), 32-bit
 * suffix array: requires 0 <= n <= 2^31 - 1.  Every T[i] is checked. */
int64_t fm_sais_u16(const uint16_t *T, int32_t *SA, int64_t n, int32_t k);

/* 16-bit alphabet, 64-bit suffix array: any n >= 0. */
int64_t fm_sais_u16_64(const uint16_t *T, int64_t *SA, int64_t n, int32_t k);

/* Integer alphabet [0, k), 32-bit suffix array: requires 0 <= n <= 2^31 - 1 and
 * 1 <= k <= 2^31 - 1.  Bucket counters take O(k) memory, so callers with a
 * sparse alphabet (k much larger than n) should first map the symbols that
 * occur onto 0..k'-1 (the Python wrapper does).  Every T[i] is checked. */
int64_t fm_sais_int32(const int32_t *T, int32_t *SA, int64_t n, int32_t k);

/* Integer alphabet [0, k), 64-bit suffix array: any n >= 0. */
int64_t fm_sais_int32_64(const int32_t *T, int64_t *SA, int64_t n, int32_t k);

#ifdef __cplusplus
}
#endif

#endif /* FMINDEX_SAIS_H */
