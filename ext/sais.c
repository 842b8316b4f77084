/*
 * sais.c -- SA-IS suffix-array construction (see sais.h for the contract).
 *
 * The file instantiates one generic implementation (the part between
 * "#else  FM_SAIS_TEMPLATE" and the final #endif) for several
 * (text symbol type, SA index type) pairs by including itself:
 *
 *     u8  / int32   level 0 of fm_sais_u8
 *     u16 / int32   level 0 of fm_sais_u16
 *     i32 / int32   fm_sais_int32 and every recursion level of 32-bit builds
 *     u8  / int64   level 0 of fm_sais_u8_64
 *     u16 / int64   level 0 of fm_sais_u16_64
 *     i32 / int64   fm_sais_int32_64
 *     i64 / int64   recursion levels of 64-bit builds
 *
 * Outline of one level (T of length n over [0, k), virtual sentinel at n):
 *   1. count symbols; put every LMS position at the end of its bucket;
 *   2. induce L-type then S-type suffixes: this sorts the LMS substrings;
 *   3. name the LMS substrings (equal substrings get equal names) -- names are
 *      found by comparing neighbours, using lengths stored in SA[m + p/2];
 *   4. if names are not all distinct, sort the reduced string of names
 *      recursively, inside SA (reduced text in the tail, its SA in the head);
 *   5. put the sorted LMS suffixes at the end of their buckets and induce the
 *      L-type and S-type suffixes once more: the full suffix array.
 *
 * Type bits are never stored separately.  While SA is scanned, an entry's
 * sign tells whether the suffix before it is to be induced in the current
 * pass (entries are complemented, ~p, to say "not now").  The type of p-1 is
 * decided when p is written: if p is L-type then p-1 is S-type iff
 * T[p-1] < T[p]; if p is S-type then p-1 is L-type iff T[p-1] > T[p].
 */
#ifndef FM_SAIS_TEMPLATE

#include "sais.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
/* Scans of at least this many entries run on all threads (OpenMP builds). */
#ifndef FM_SAIS_MT_MIN
#define FM_SAIS_MT_MIN (1 << 22)
#endif
/* ... in chunks of this many entries */
#ifndef FM_SAIS_MT_STEP
#define FM_SAIS_MT_STEP ((int64_t)1 << 16)
#endif
#ifdef FM_SAIS_PROFILE
#include <stdio.h>
#include <time.h>
static double fm_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#define FM_TICK_INIT double fm_t0 = fm_cpu_now()
#define FM_TICK(name)                                                        \
    do {                                                                     \
        double t_ = fm_cpu_now();                                            \
        fprintf(stderr, "  n=%-10lld %-10s %7.3f\n", (long long)n, name, t_ - fm_t0); \
        fm_t0 = t_;                                                          \
    } while (0)
#else
#define FM_TICK_INIT ((void)0)
#define FM_TICK(name) ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FM_PREFETCH_R(p) __builtin_prefetch((const void *)(p), 0, 3)
#define FM_PREFETCH_W(p) __builtin_prefetch((const void *)(p), 1, 3)
#define FM_LIKELY(x) __builtin_expect(!!(x), 1)
#define FM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FM_PREFETCH_R(p) ((void)0)
#define FM_PREFETCH_W(p) ((void)0)
#define FM_LIKELY(x) (x)
#define FM_UNLIKELY(x) (x)
#endif

/* FM_SAIS_PROFILE keeps every phase a separate symbol for perf. */
#if defined(FM_SAIS_PROFILE) && defined(__GNUC__)
#define FM_PHASE static __attribute__((noinline))
#else
#define FM_PHASE static
#endif

/* Scans look this many SA entries ahead to prefetch text symbols. */
#ifndef FM_SAIS_PREFETCH
#define FM_SAIS_PREFETCH 128
#endif

#define FM_PF FM_SAIS_PREFETCH

/* Alphabets up to this size keep their bucket arrays on the stack. */
#define FM_SAIS_STACK_BUCKETS 256

/* Branch-free pointer select: cond (0 or 1) ? a : b.  Compilers like to turn
 * a plain ?: on pointers back into an unpredictable branch. */
#define FM_SELECT_PTR(cond, a, b) \
    ((void *)((((uintptr_t)(a)) & ((uintptr_t)0 - (uintptr_t)(cond))) | \
              (((uintptr_t)(b)) & ((uintptr_t)(cond) - (uintptr_t)1))))

#define FM_CAT2(a, b) a##_##b
#define FM_CAT(a, b) FM_CAT2(a, b)

#define FM_SAIS_TEMPLATE

/* 32-bit index: int32 text (user alphabets and every recursion level) */
#define TT int32_t
#define SI int32_t
#define FM_SFX i32_32
#define FM_REC_SFX i32_32
#include "sais.c"

/* 32-bit index: byte text */
#define TT uint8_t
#define SI int32_t
#define FM_SFX u8_32
#define FM_REC_SFX i32_32
#define FM_BYTE_TEXT 1
#include "sais.c"

/* 32-bit index: 16-bit text (e.g. bytes plus separator symbols) */
#define TT uint16_t
#define SI int32_t
#define FM_SFX u16_32
#define FM_REC_SFX i32_32
#include "sais.c"

/* 64-bit index: int64 text (recursion levels) */
#define TT int64_t
#define SI int64_t
#define FM_SFX i64_64
#define FM_REC_SFX i64_64
#include "sais.c"

/* 64-bit index: int32 text */
#define TT int32_t
#define SI int64_t
#define FM_SFX i32_64
#define FM_REC_SFX i64_64
#include "sais.c"

/* 64-bit index: 16-bit text */
#define TT uint16_t
#define SI int64_t
#define FM_SFX u16_64
#define FM_REC_SFX i64_64
#include "sais.c"

/* 64-bit index: byte text */
#define TT uint8_t
#define SI int64_t
#define FM_SFX u8_64
#define FM_REC_SFX i64_64
#define FM_BYTE_TEXT 1
#include "sais.c"

#undef FM_SAIS_TEMPLATE

/* ---------------------------------------------------------------- API --- */

int64_t fm_sais_u8(const uint8_t *T, int32_t *SA, int64_t n)
{
    if (n < 0 || n > (int64_t)INT32_MAX) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    return (int64_t)sais_main_u8_32(T, SA, (int32_t)n, 256, 0, NULL, 0);
}

int64_t fm_sais_u8_64(const uint8_t *T, int64_t *SA, int64_t n)
{
    if (n < 0 || n > INT64_MAX / 4) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    return sais_main_u8_64(T, SA, n, 256, 0, NULL, 0);
}

static int fm_check_symbols(const int32_t *T, int64_t n, int32_t k)
{
    /* unsigned comparison folds the < 0 test into the >= k one */
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad |= ((uint32_t)T[i] >= (uint32_t)k);
    return bad != 0;
}

static int fm_check_symbols16(const uint16_t *T, int64_t n, int32_t k)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad |= ((int32_t)T[i] >= k);
    return bad != 0;
}

int64_t fm_sais_u16(const uint16_t *T, int32_t *SA, int64_t n, int32_t k)
{
    if (n < 0 || n > (int64_t)INT32_MAX || k < 1 || k > 65536) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    if (fm_check_symbols16(T, n, k)) return FM_SAIS_ESYMBOL;
    return (int64_t)sais_main_u16_32(T, SA, (int32_t)n, k, 0, NULL, 0);
}

int64_t fm_sais_u16_64(const uint16_t *T, int64_t *SA, int64_t n, int32_t k)
{
    if (n < 0 || n > INT64_MAX / 4 || k < 1 || k > 65536) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    if (fm_check_symbols16(T, n, k)) return FM_SAIS_ESYMBOL;
    return sais_main_u16_64(T, SA, n, (int64_t)k, 0, NULL, 0);
}

int64_t fm_sais_int32(const int32_t *T, int32_t *SA, int64_t n, int32_t k)
{
    if (n < 0 || n > (int64_t)INT32_MAX || k < 1) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    if (fm_check_symbols(T, n, k)) return FM_SAIS_ESYMBOL;
    return (int64_t)sais_main_i32_32(T, SA, (int32_t)n, k, 0, NULL, 0);
}

int64_t fm_sais_int32_64(const int32_t *T, int64_t *SA, int64_t n, int32_t k)
{
    if (n < 0 || n > INT64_MAX / 4 || k < 1) return FM_SAIS_EINVAL;
    if (n > 0 && (T == NULL || SA == NULL)) return FM_SAIS_EINVAL;
    if (fm_check_symbols(T, n, k)) return FM_SAIS_ESYMBOL;
    return sais_main_i32_64(T, SA, n, (int64_t)k, 0, NULL, 0);
}

#else /* FM_SAIS_TEMPLATE ------------------------------------------------- */

#define FN(x) FM_CAT(x, FM_SFX)
#define REC(x) FM_CAT(x, FM_REC_SFX)

/* C[c] = number of occurrences of c. */
FM_PHASE void FN(count_symbols)(const TT *T, SI n, SI *C, SI k)
{
    memset(C, 0, (size_t)k * sizeof(SI));
#ifdef FM_BYTE_TEXT
    {
        /* four tables break the store-to-load chains of runs of one byte */
        SI C4[4][256];
        SI i;
        memset(C4, 0, sizeof(C4));
        for (i = 0; i + 4 <= n; i += 4) {
            C4[0][T[i]]++;
            C4[1][T[i + 1]]++;
            C4[2][T[i + 2]]++;
            C4[3][T[i + 3]]++;
        }
        for (; i < n; ++i) C4[0][T[i]]++;
        for (SI c = 0; c < 256; ++c) C[c] = C4[0][c] + C4[1][c] + C4[2][c] + C4[3][c];
    }
#else
    for (SI i = 0; i < n; ++i) C[T[i]]++;
#endif
}

/* SA[0..n) = 0.  At the first level SA is fresh memory and the page faults
 * dominate: large arrays are cleared by all threads (OpenMP builds). */
static void FN(zero)(SI *SA, SI n)
{
#ifdef _OPENMP
    if (n >= (SI)FM_SAIS_MT_MIN && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        const int64_t step = (int64_t)1 << 20;
        const int64_t parts = ((int64_t)n + step - 1) / step;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t t = 0; t < parts; ++t) {
            int64_t lo = t * step, hi = lo + step < (int64_t)n ? lo + step : (int64_t)n;
            memset(SA + lo, 0, (size_t)(hi - lo) * sizeof(SI));
        }
        return;
    }
#endif
    memset(SA, 0, (size_t)n * sizeof(SI));
}

static void FN(bucket_starts)(const SI *C, SI *B, SI k)
{
    SI s = 0;
    for (SI c = 0; c < k; ++c) {
        B[c] = s;
        s += C[c];
    }
}

static void FN(bucket_ends)(const SI *C, SI *B, SI k)
{
    SI s = 0;
    for (SI c = 0; c < k; ++c) {
        s += C[c];
        B[c] = s;
    }
}

/* Prefetching for the induction scans: scanning SA[i] reads T[SA[i]-1], a
 * cache miss for large texts, so the symbol of SA[i +- D] is requested ahead.
 * (Prefetching the bucket counters of large alphabets as well was measured
 * to be slower: it costs more than the misses it hides.) */

static inline void FN(prefetch_fwd)(const TT *T, const SI *SA, SI n, SI i)
{
    if (FM_LIKELY(i < n - FM_PF)) {
        SI v = SA[i + FM_PF];
        FM_PREFETCH_R(T + (v > 0 ? v - 1 : 0));
    }
}

static inline void FN(prefetch_bwd)(const TT *T, const SI *SA, SI i)
{
    if (FM_LIKELY(i >= FM_PF)) {
        SI v = SA[i - FM_PF];
        FM_PREFETCH_R(T + (v > 0 ? v - 1 : 0));
    }
}

/* Put each LMS position at the end of its bucket (B = bucket ends, updated).
 * Returns the number m of LMS positions.  SA must be zero. */
FM_PHASE SI FN(place_lms)(const TT *T, SI *SA, SI n, SI *B, SI k)
{
    SI m = 0;
    SI s_next = 0; /* type of i+1 (1 = S): suffix n-1 is L-type */
    TT c1 = T[n - 1];
    if (k <= 4096) {
        /* small alphabet: B is in L1, a branch-free bucket update is cheapest */
        SI dummy;
        for (SI i = n - 2; i >= 0; --i) {
            TT c0 = T[i];
            SI s = (SI)(c0 < c1) | ((SI)(c0 == c1) & s_next);
            SI lms = s_next & (s ^ 1); /* i+1 is LMS */
            SI b = B[c1] - lms;
            B[c1] = b;
            SI *dst = (SI *)FM_SELECT_PTR(lms, SA + b, &dummy);
            *dst = i + 1;
            m += lms;
            s_next = s;
            c1 = c0;
        }
        (void)dummy;
    } else {
        /* large alphabets: touch the (cache-missing) bucket only for LMS */
        for (SI i = n - 2; i >= 0; --i) {
            TT c0 = T[i];
            SI s = (SI)(c0 < c1) | ((SI)(c0 == c1) & s_next);
            if (s_next & (s ^ 1)) {
                SA[--B[c1]] = i + 1;
                ++m;
            }
            s_next = s;
            c1 = c0;
        }
    }
    return m;
}

/* Stage 1, L pass (B = bucket starts).  Entries that have induced their
 * predecessor are cleared; entries whose predecessor is S-type are
 * uncomplemented so that the S pass picks them up. */
FM_PHASE void FN(stage1_induce_L)(const TT *T, SI *SA, SI n, SI *B)
{
    SI j = n - 1;
    SA[B[T[j]]++] = (j > 0 && T[j - 1] < T[j]) ? ~j : j;
    for (SI i = 0; i < n; ++i) {
        FN(prefetch_fwd)(T, SA, n, i);
        SI v = SA[i];
        if (v > 0) {
            SA[i] = 0;
            SI q = v - 1;
            TT c = T[q];
            SI f = (SI)(T[q - (q > 0)] < c); /* q-1 is S-type (never for q=0) */
            SA[B[c]++] = q ^ -f;
        } else if (v < 0) {
            SA[i] = ~v;
        }
    }
}

/* Stage 1, S pass (B = bucket ends).  LMS suffixes end up complemented. */
FM_PHASE void FN(stage1_induce_S)(const TT *T, SI *SA, SI n, SI *B)
{
    for (SI i = n - 1; i >= 0; --i) {
        FN(prefetch_bwd)(T, SA, i);
        SI v = SA[i];
        if (v > 0) {
            SA[i] = 0;
            SI q = v - 1;
            TT c = T[q];
            SI f = (SI)(T[q - (q > 0)] > c); /* q is LMS (never for q=0) */
            SA[--B[c]] = q ^ -f;
        }
    }
}

/* Final L pass (B = bucket starts).  Every entry gets complemented. */
FM_PHASE void FN(final_induce_L)(const TT *T, SI *SA, SI n, SI *B)
{
    SI j = n - 1;
    SA[B[T[j]]++] = (j > 0 && T[j - 1] < T[j]) ? ~j : j;
    for (SI i = 0; i < n; ++i) {
        FN(prefetch_fwd)(T, SA, n, i);
        SI v = SA[i];
        SA[i] = ~v;
        if (v > 0) {
            SI q = v - 1;
            TT c = T[q];
            SI f = (SI)(T[q - (q > 0)] < c); /* q-1 is S-type (never for q=0) */
            SA[B[c]++] = q ^ -f;
        }
    }
}

/* Final S pass (B = bucket ends).  Leaves every entry non-negative. */
FM_PHASE void FN(final_induce_S)(const TT *T, SI *SA, SI n, SI *B)
{
    for (SI i = n - 1; i >= 0; --i) {
        FN(prefetch_bwd)(T, SA, i);
        SI v = SA[i];
        if (v > 0) {
            SI q = v - 1;
            TT c = T[q];
            SI f = (SI)(T[q - (q > 0)] > c) | (SI)(q == 0);
            SA[--B[c]] = q ^ -f;
        } else {
            SA[i] = ~v;
        }
    }
}

/* T[p..p+len) == T[q..q+len)?  Both ranges lie inside T. */
static inline int FN(same_substring)(const TT *T, SI p, SI q, SI len)
{
#if defined(FM_BYTE_TEXT) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    SI d = 0;
    for (; d + 8 <= len; d += 8) {
        uint64_t a, b;
        memcpy(&a, T + p + d, 8);
        memcpy(&b, T + q + d, 8);
        if (a != b) return 0;
    }
    for (; d < len; ++d)
        if (T[p + d] != T[q + d]) return 0;
    return 1;
#else
    for (SI d = 0; d < len; ++d)
        if (T[p + d] != T[q + d]) return 0;
    return 1;
#endif
}

#ifdef _OPENMP
/* The naming loop of name_lms on all threads: pass 1 marks, in the sign of
 * SA[i], each sorted LMS substring that differs from its predecessor (reading
 * only the lengths in L); pass 2 numbers the marks (per-chunk counts summed
 * first) and writes L[p >> 1] = ~name.  Same names as the sequential loop.
 * Returns the number of names. */
static SI FN(name_sorted_mt)(const TT *T, SI *SA, SI *L, SI m, SI last)
{
    const int64_t step = FM_SAIS_MT_STEP;
    const int64_t parts = ((int64_t)m + step - 1) / step;
    int64_t *cnt = (int64_t *)malloc((size_t)(parts + 1) * sizeof(int64_t));
    if (cnt == NULL) {
        /* no memory for the counts: sequential */
        SI name = -1, pp = -1, plen = 0;
        for (SI i = 0; i < m; ++i) {
            SI p = SA[i], len = L[p >> 1];
            int diff = 1;
            if (len == plen && p != last && pp != last) diff = !FN(same_substring)(T, p, pp, len);
            name += diff;
            L[p >> 1] = ~name;
            pp = p;
            plen = len;
        }
        return name + 1;
    }
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t t = 0; t < parts; ++t) {
        SI lo = (SI)(t * step), hi = (SI)(lo + step < (int64_t)m ? lo + step : (int64_t)m);
        SI pp = -1, plen = 0;
        if (lo > 0) {
            /* the predecessor belongs to another chunk, which may be marking it */
            pp = __atomic_load_n(&SA[lo - 1], __ATOMIC_RELAXED);
            if (pp < 0) pp = ~pp;
            plen = L[pp >> 1];
        }
        int64_t c = 0;
        for (SI i = lo; i < hi; ++i) {
            if (FM_LIKELY(i < hi - FM_PF)) {
                SI q = SA[i + FM_PF];
                FM_PREFETCH_R(L + (q >> 1));
                FM_PREFETCH_R(T + q);
            }
            SI p = SA[i];
            SI len = L[p >> 1];
            int diff = 1;
            if (len == plen && p != last && pp != last) diff = !FN(same_substring)(T, p, pp, len);
            if (i == hi - 1) __atomic_store_n(&SA[i], diff ? ~p : p, __ATOMIC_RELAXED);
            else SA[i] = diff ? ~p : p;
            c += diff;
            pp = p;
            plen = len;
        }
        cnt[t + 1] = c;
    }
    cnt[0] = 0;
    for (int64_t t = 0; t < parts; ++t) cnt[t + 1] += cnt[t];
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t t = 0; t < parts; ++t) {
        SI lo = (SI)(t * step), hi = (SI)(lo + step < (int64_t)m ? lo + step : (int64_t)m);
        SI name = (SI)cnt[t] - 1;
        for (SI i = lo; i < hi; ++i) {
            if (FM_LIKELY(i < hi - FM_PF)) {
                SI q = SA[i + FM_PF];
                FM_PREFETCH_W(L + ((q < 0 ? ~q : q) >> 1));
            }
            SI p = SA[i];
            if (p < 0) {
                ++name;
                p = ~p;
                SA[i] = p;
            }
            L[p >> 1] = ~name;
        }
    }
    SI names = (SI)cnt[parts];
    free(cnt);
    return names;
}
#endif

/* Name the m sorted LMS substrings in SA[0..m); on return the reduced string
 * (names in text order) is in SA[n-m..n).  Returns the number of names. */
FM_PHASE SI FN(name_lms)(const TT *T, SI *SA, SI n, SI m)
{
    SI *L = SA + m; /* L[p >> 1]: length of the LMS substring at p (zeroed) */
    SI last = -1;
    {
        SI next = n; /* next LMS position to the right (n = sentinel) */
        SI s_next = 0, dummy;
        TT c1 = T[n - 1];
        for (SI i = n - 2; i >= 0; --i) {
            TT c0 = T[i];
            SI s = (SI)(c0 < c1) | ((SI)(c0 == c1) & s_next);
            SI lms = s_next & (s ^ 1);
            SI p = i + 1;
            SI *dst = (SI *)FM_SELECT_PTR(lms, L + (p >> 1), &dummy);
            *dst = next - p + 1;
            last = (lms & (last < 0)) ? p : last;
            next = lms ? p : next;
            s_next = s;
            c1 = c0;
        }
        (void)dummy;
    }
    SI name = -1, pp = -1, plen = 0;
#ifdef _OPENMP
    if (m >= (SI)FM_SAIS_MT_MIN && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        name = FN(name_sorted_mt)(T, SA, L, m, last) - 1;
        goto to_tail;
    }
#endif
    for (SI i = 0; i < m; ++i) {
        if (FM_LIKELY(i < m - FM_PF)) {
            SI q = SA[i + FM_PF];
            FM_PREFETCH_W(L + (q >> 1));
            FM_PREFETCH_R(T + q);
        }
        SI p = SA[i];
        SI len = L[p >> 1];
        int diff = 1;
        if (len == plen && p != last && pp != last) diff = !FN(same_substring)(T, p, pp, len);
        if (diff) ++name;
        L[p >> 1] = ~name;
        pp = p;
        plen = len;
    }
#ifdef _OPENMP
to_tail:
#endif
    /* names to the tail, in text order (branch-free: the slot written when v
     * is not a name is dst-1 >= j, already read) */
    SI dst = n;
    for (SI j = n - 1; j >= m; --j) {
        SI v = SA[j];
        SA[dst - 1] = ~v;
        dst -= (SI)(v < 0);
    }
    return name + 1;
}

/* SA[i] = S1[SA[i]] for i < m (S1 lies after SA[0..m)); entries are
 * independent, so large arrays are mapped by all threads (OpenMP builds). */
static void FN(map_lms)(SI *SA, const SI *S1, SI m)
{
#ifdef _OPENMP
    if (m >= (SI)FM_SAIS_MT_MIN && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        const int64_t step = FM_SAIS_MT_STEP;
        const int64_t parts = ((int64_t)m + step - 1) / step;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t t = 0; t < parts; ++t) {
            SI lo = (SI)(t * step), hi = (SI)(lo + step < (int64_t)m ? lo + step : (int64_t)m);
            for (SI i = lo; i < hi; ++i) {
                if (FM_LIKELY(i < hi - FM_PF)) FM_PREFETCH_R(S1 + SA[i + FM_PF]);
                SA[i] = S1[SA[i]];
            }
        }
        return;
    }
#endif
    for (SI i = 0; i < m; ++i) {
        if (FM_LIKELY(i < m - FM_PF)) FM_PREFETCH_R(S1 + SA[i + FM_PF]);
        SA[i] = S1[SA[i]];
    }
}

static SI REC(sais_main)(const SI *T, SI *SA, SI n, SI k, SI fs, SI *xs, SI xn);

/* Suffix array of T[0..n) over [0, k) into SA[0..n); SA[n..n+fs) and
 * xs[0..xn) are free scratch space (xs: handed down by the levels above, it
 * lies outside SA[0..n+fs)).  Returns 0 or a negative FM_SAIS_* error. */
static SI FN(sais_main)(const TT *T, SI *SA, SI n, SI k, SI fs, SI *xs, SI xn)
{
    if (n <= 2) {
        if (n == 1) SA[0] = 0;
        if (n == 2) {
            if (T[0] < T[1]) { SA[0] = 0; SA[1] = 1; }
            else { SA[0] = 1; SA[1] = 0; }
        }
        return 0;
    }

    /* bucket arrays C (counts) and B (insertion pointers), k entries each: on
     * the stack for small alphabets, else taken from the free space -- the
     * space after SA (SA[n..n+fs)) first, then the space handed down (xs) --
     * else on the heap.  Deep levels have little space after their SA but
     * large alphabets (k close to n); the space handed down (what is left of
     * the first levels' free space, tens of millions of entries for a large
     * text) keeps their buckets off the heap, which would add to the peak
     * memory of the sort. */
    SI stackbuf[2 * FM_SAIS_STACK_BUCKETS];
    SI *C = NULL, *B = NULL;
    SI *fa = SA + n, *fx = xs; /* what is left of the two free spaces */
    SI na = fs, nx = xs != NULL ? xn : 0;
    void *heap = NULL;
    if (k <= FM_SAIS_STACK_BUCKETS) {
        C = stackbuf;
        B = stackbuf + FM_SAIS_STACK_BUCKETS;
    } else {
        SI **want[2] = {&C, &B};
        SI missing = 0;
        for (int w = 0; w < 2; ++w) {
            if (na >= k) {
                *want[w] = fa;
                fa += k;
                na -= k;
            } else if (nx >= k) {
                *want[w] = fx;
                fx += k;
                nx -= k;
            } else {
                ++missing;
            }
        }
        if (missing) {
            heap = malloc((size_t)missing * (size_t)k * sizeof(SI));
            if (heap == NULL) return FM_SAIS_ENOMEM;
            if (C == NULL) {
                C = (SI *)heap;
                if (B == NULL) B = C + k;
            } else {
                B = (SI *)heap;
            }
        }
    }
    /* the recursion works inside SA[0..n) (the reduced problem's own free
     * space lies there too) and gets the larger unused rest of the two free
     * spaces: C/B stay intact. */

    FM_TICK_INIT;
    FN(count_symbols)(T, n, C, k);

    /* ---- stage 1: sort the LMS substrings */
    FN(zero)(SA, n);
    FN(bucket_ends)(C, B, k);
    SI m = FN(place_lms)(T, SA, n, B, k);
    FM_TICK("place");

    if (m > 0) {
        FN(bucket_starts)(C, B, k);
        FN(stage1_induce_L)(T, SA, n, B);
        FM_TICK("s1_L");
        FN(bucket_ends)(C, B, k);
        FN(stage1_induce_S)(T, SA, n, B);
        FM_TICK("s1_S");

        /* gather the sorted LMS positions into SA[0..m) */
        SI j = 0;
        for (SI i = 0; i < n; ++i) {
            SI v = SA[i];
            SA[i] = 0;
            SA[j] = ~v; /* j <= i; junk when v is not an LMS entry */
            j += (SI)(v < 0);
        }
        if (m < n) SA[m] = 0; /* SA[m..n) is now all zero */
        FM_TICK("gather");
        SI names = FN(name_lms)(T, SA, n, m);
        FM_TICK("name");
#ifdef FM_SAIS_PROFILE
        fprintf(stderr, "level: n=%lld k=%lld m=%lld names=%lld fs=%lld\n", (long long)n,
                (long long)k, (long long)m, (long long)names, (long long)fs);
#endif
        SI *S1 = SA + n - m;

        /* ---- sort the reduced string */
        if (names < m) {
            SI r = na >= nx ? REC(sais_main)(S1, SA, m, names, n - 2 * m, fa, na)
                            : REC(sais_main)(S1, SA, m, names, n - 2 * m, fx, nx);
            if (r < 0) {
                free(heap);
                return r;
            }
        } else {
            for (SI i = 0; i < m; ++i) SA[S1[i]] = i;
        }
        FM_TICK("recurse");

        /* ---- stage 2: LMS positions in text order into the tail, map */
        {
            /* branch-free: when i+1 is not LMS the write goes to dst-1, which
             * is >= n-m-1 >= m (m <= (n-1)/2) and gets overwritten or is
             * outside both SA[0..m) and the filled part of the tail */
            SI dst = n;
            SI s_next = 0;
            TT c1 = T[n - 1];
            for (SI i = n - 2; i >= 0; --i) {
                TT c0 = T[i];
                SI s = (SI)(c0 < c1) | ((SI)(c0 == c1) & s_next);
                SA[dst - 1] = i + 1;
                dst -= s_next & (s ^ 1);
                s_next = s;
                c1 = c0;
            }
        }
        FN(map_lms)(SA, S1, m);
        FM_TICK("map");
        memset(SA + m, 0, (size_t)(n - m) * sizeof(SI));
        FN(bucket_ends)(C, B, k);
        for (SI i = m - 1; i >= 0; --i) {
            if (FM_LIKELY(i >= FM_PF)) FM_PREFETCH_R(T + SA[i - FM_PF]);
            SI p = SA[i];
            SA[i] = 0;
            SA[--B[T[p]]] = p;
        }
    }

    FM_TICK("s2_place");
    FN(bucket_starts)(C, B, k);
    FN(final_induce_L)(T, SA, n, B);
    FM_TICK("s2_L");
    FN(bucket_ends)(C, B, k);
    FN(final_induce_S)(T, SA, n, B);
    FM_TICK("s2_S");

    free(heap);
    return 0;
}

#undef FN
#undef REC
#undef TT
#undef SI
#undef FM_SFX
#undef FM_REC_SFX
#ifdef FM_BYTE_TEXT
#undef FM_BYTE_TEXT
#endif

#endif /* FM_SAIS_TEMPLATE */
