/* Word-level helpers inlined into every kernel (declared for Cython in ext/bits.pxd). */
#ifndef FM_BITS_H
#define FM_BITS_H

static inline unsigned int fm_popcount64(unsigned long long x)
{
    return (unsigned int)__builtin_popcountll(x);
}

static inline unsigned int fm_ctz64(unsigned long long x)
{
    return (unsigned int)__builtin_ctzll(x);
}

/* Request the cache line holding p (for reading, into all cache levels).
 *
 * An asm statement, not __builtin_prefetch: GCC 12's IPA mod-ref analysis counts the
 * builtin as no side effect, so it deleted every call of an inline helper made only of
 * prefetches (po_prefetch_rank, fm_po_prefetch_step, the locate and extract walks'
 * helpers) as dead code before inlining it: those prefetches were never issued.
 * tests/test_prefetch.py checks that such a helper keeps its prefetch. */
static inline void fm_prefetch(const void *p)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ volatile("prfm pldl1keep, %0" : : "Q"(*(const char *)p));
#else
    __builtin_prefetch(p, 0, 3);
#endif
}

#endif /* FM_BITS_H */
