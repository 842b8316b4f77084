"""Python face of the Elias-Fano kernels (layout in elias_fano.pxd): the encoder, the
complete check run before a stored sequence is trusted (streaming: one pass, O(1) memory),
the decoder, and an ``EliasFano`` class for tests and for the Python side of the index.
Queries in the shard kernels use the inline functions directly.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t
from bits cimport fm_popcount64, fm_ctz64
from packed_ints cimport packed_words, packed_set, packed_get, packed_t, packed_init
from elias_fano cimport (ef_t, ef_init, ef_get, ef_get_pair, ef_predecessor, ef_low,
                         ef_word_select1, EF_SAMPLE, EF_SAMPLE_SHIFT)

cnp.import_array()

SAMPLE = EF_SAMPLE
MAX_LOW_BITS = 57


def low_bits_for(uint64_t n, uint64_t last):
    """L = floor(log2(U / n)) for U = last + 1 (0 if U < 2n), at most 57.  Neither U nor
    n * 2^(L+1) is formed (both can be 2^64): n * 2^(L+1) <= U is tested as
    n <= U >> (L + 1) = (last >> (L + 1)) + (1 if the low L + 1 bits of last are all set)."""
    cdef unsigned int L = 0
    cdef uint64_t below
    if n == 0:
        raise ValueError("an Elias-Fano sequence needs at least one value")
    while L < MAX_LOW_BITS:
        below = ((<uint64_t>1) << (L + 1)) - 1
        if n > (last >> (L + 1)) + (1 if (last & below) == below else 0):
            break
        L += 1
    return L


def high_bits_for(uint64_t n, uint64_t last, unsigned int L):
    return n + (last >> L) + 1


cdef void _samples(const uint64_t *high, uint64_t nb, uint64_t *sel1, uint64_t *sel0) noexcept nogil:
    """Positions of every EF_SAMPLE-th one and zero among the first nb bits."""
    cdef uint64_t w, n_words = (nb + 63) >> 6, x, ones = 0, zeros = 0, base, p
    cdef unsigned int c, valid
    for w in range(n_words):
        base = w << 6
        valid = 64 if nb - base >= 64 else <unsigned int>(nb - base)
        x = high[w]
        if valid < 64:
            x &= ((<uint64_t>1) << valid) - 1
        # ones
        while x:
            p = base + fm_ctz64(x)
            if (ones & (EF_SAMPLE - 1)) == 0:
                sel1[ones >> EF_SAMPLE_SHIFT] = p
            ones += 1
            x &= x - 1
        x = ~high[w]
        if valid < 64:
            x &= ((<uint64_t>1) << valid) - 1
        while x:
            p = base + fm_ctz64(x)
            if (zeros & (EF_SAMPLE - 1)) == 0:
                sel0[zeros >> EF_SAMPLE_SHIFT] = p
            zeros += 1
            x &= x - 1


def encode(values):
    """Strictly increasing uint64 values (at least one) -> dict with the arrays ``high``,
    ``low``, ``sel1``, ``sel0`` (uint64) and ``L``, ``n``, ``last``."""
    cdef const uint64_t[::1] v = np.ascontiguousarray(values, dtype=np.uint64)
    cdef uint64_t n = v.shape[0], i, b
    if n == 0:
        raise ValueError("an Elias-Fano sequence needs at least one value")
    for i in range(1, n):
        if v[i] <= v[i - 1]:
            raise ValueError("Elias-Fano values must be strictly increasing")
    cdef uint64_t last = v[n - 1]
    cdef unsigned int L = low_bits_for(n, last)
    cdef uint64_t nb = n + (last >> L) + 1
    cdef uint64_t n_zeros = nb - n
    high = np.zeros((nb + 63) // 64 + 1, dtype=np.uint64)
    low = np.zeros(packed_words(L, n), dtype=np.uint64)
    sel1 = np.zeros((n + EF_SAMPLE - 1) >> EF_SAMPLE_SHIFT, dtype=np.uint64)
    sel0 = np.zeros((n_zeros + EF_SAMPLE - 1) >> EF_SAMPLE_SHIFT, dtype=np.uint64)
    cdef uint64_t[::1] h = high
    cdef uint64_t[::1] lo = low
    cdef uint64_t[::1] s1 = sel1
    cdef uint64_t[::1] s0 = sel0
    cdef uint64_t mask = ((<uint64_t>1) << L) - 1
    with nogil:
        for i in range(n):
            b = (v[i] >> L) + i
            h[b >> 6] |= (<uint64_t>1) << (b & 63)
            if L:
                packed_set(&lo[0], L, i, v[i] & mask)
        _samples(&h[0], nb, &s1[0], &s0[0])
    return {"high": high, "low": low, "sel1": sel1, "sel0": sel0, "L": int(L), "n": int(n),
            "last": int(last)}


cdef enum ef_check_result:
    EF_CHECK_OK = 0
    EF_CHECK_ORDER_OR_COUNT = 1     # a bit set beyond the end, not n ones, or not increasing
    EF_CHECK_LAST = 2               # the last value differs from ``last``
    EF_CHECK_SAMPLES = 3            # a select sample differs from the high bits

# one message per failure kind (the order of the enum is the order they are reported in)
_CHECK_MESSAGES = {
    EF_CHECK_ORDER_OR_COUNT: "values are not strictly increasing or the bit counts are wrong",
    EF_CHECK_LAST: "the last value differs from the recorded one",
    EF_CHECK_SAMPLES: "select samples do not match the high bits",
}


cdef ef_check_result _check_stream(const uint64_t *high, const packed_t *low,
                                   const uint64_t *sel1, const uint64_t *sel0,
                                   uint64_t n_sel0, uint64_t n, uint64_t last, unsigned int L,
                                   uint64_t *first) noexcept nogil:
    """One pass over the high-bit words that checks a sequence whose array sizes are right
    (see ``check``), in O(1) memory: every one decodes to a value (its zeros before it
    << L | its low part), compared with the previous one only; the one and zero numbered
    0, 256, 512, ... are compared with their select sample as the word holding them is
    passed (a word holds at most one of each, EF_SAMPLE >= 64).  Failures are reported in
    the order of ``ef_check_result``: a bad order or count wins over a wrong last value,
    which wins over a wrong sample.  ``*first`` = x_0 when the result is EF_CHECK_OK."""
    cdef uint64_t n_high_bits = n + (last >> L) + 1
    cdef uint64_t n_words = (n_high_bits + 63) >> 6
    cdef unsigned int tail_bits = <unsigned int>(n_high_bits & 63)
    cdef uint64_t word_index, word, ones_left, zero_bits, word_start, pos, value
    cdef uint64_t n_ones = 0, n_zeros = 0, previous = 0, sample_rank
    cdef unsigned int ones_in_word, zeros_in_word
    cdef bint samples_match = True
    # bits at and beyond n_high_bits (the tail of the last word and the padding word) are zero
    if tail_bits and (high[n_words - 1] >> tail_bits) != 0:
        return EF_CHECK_ORDER_OR_COUNT
    if high[n_words] != 0:
        return EF_CHECK_ORDER_OR_COUNT
    for word_index in range(n_words):
        word = high[word_index]
        word_start = word_index << 6
        ones_in_word = fm_popcount64(word)
        if n_ones + ones_in_word > n:
            return EF_CHECK_ORDER_OR_COUNT
        # the one numbered sample_rank (the next multiple of EF_SAMPLE) is in this word
        sample_rank = (n_ones + EF_SAMPLE - 1) & ~(<uint64_t>(EF_SAMPLE - 1))
        if sample_rank < n_ones + ones_in_word:
            pos = word_start + ef_word_select1(word, <unsigned int>(sample_rank - n_ones))
            if sel1[sample_rank >> EF_SAMPLE_SHIFT] != pos:
                samples_match = False
        # every one is a value: strictly greater than the one before
        ones_left = word
        while ones_left:
            pos = word_start + fm_ctz64(ones_left)
            value = (pos - n_ones) << L
            if L:
                value |= packed_get(low, n_ones)
            if n_ones == 0:
                first[0] = value
            elif value <= previous:
                return EF_CHECK_ORDER_OR_COUNT
            previous = value
            n_ones += 1
            ones_left &= ones_left - 1
        # the zeros among the word's bits before n_high_bits
        zero_bits = ~word
        if tail_bits and word_index == n_words - 1:
            zero_bits &= ((<uint64_t>1) << tail_bits) - 1
        zeros_in_word = fm_popcount64(zero_bits)
        sample_rank = (n_zeros + EF_SAMPLE - 1) & ~(<uint64_t>(EF_SAMPLE - 1))
        if sample_rank < n_zeros + zeros_in_word:
            # more zeros than samples can only happen with too few ones (reported first)
            if (sample_rank >> EF_SAMPLE_SHIFT) >= n_sel0:
                samples_match = False
            else:
                pos = word_start + ef_word_select1(zero_bits,
                                                   <unsigned int>(sample_rank - n_zeros))
                if sel0[sample_rank >> EF_SAMPLE_SHIFT] != pos:
                    samples_match = False
        n_zeros += zeros_in_word
    if n_ones != n:
        return EF_CHECK_ORDER_OR_COUNT
    if previous != last:
        return EF_CHECK_LAST
    if not samples_match:
        return EF_CHECK_SAMPLES
    return EF_CHECK_OK


cdef void _decode_into(const uint64_t *high, const packed_t *low, uint64_t n_words,
                       unsigned int L, uint64_t *out) noexcept nogil:
    """Write every value of a checked sequence (``n_words`` high-bit words) to ``out``."""
    cdef uint64_t word_index, ones_left, pos, n_ones = 0
    for word_index in range(n_words):
        ones_left = high[word_index]
        while ones_left:
            pos = (word_index << 6) + fm_ctz64(ones_left)
            out[n_ones] = ((pos - n_ones) << L) | (packed_get(low, n_ones) if L else 0)
            n_ones += 1
            ones_left &= ones_left - 1


def check(high, low, sel1, sel0, uint64_t n, uint64_t last, unsigned int L):
    """Check a stored sequence completely: the array sizes, the bits beyond the end, n values
    strictly increasing and ending at ``last``, and every select sample against the high
    bits.  Returns the first value x_0, or raises ValueError saying what is wrong.  After
    this, the kernels can trust the arrays.

    Streaming: one pass over the arrays in O(1) memory, without the GIL (``decode`` gives
    the values)."""
    if n == 0:
        raise ValueError("empty sequence")
    if L > MAX_LOW_BITS or L != low_bits_for(n, last):
        raise ValueError("wrong low-bit width")
    cdef const uint64_t[::1] h = high
    cdef const uint64_t[::1] lo = low
    cdef const uint64_t[::1] s1 = sel1
    cdef const uint64_t[::1] s0 = sel0
    # the expected sizes in Python integers: no wrap-around, whatever n is
    n_high_bits = int(n) + (int(last) >> L) + 1
    n_zero_bits = n_high_bits - int(n)
    if h.shape[0] != (n_high_bits + 63) // 64 + 1:
        raise ValueError("high bits have the wrong size")
    if lo.shape[0] != (int(n) * L + 63) // 64 + 1:      # packed_words(L, n)
        raise ValueError("low bits have the wrong size")
    if (s1.shape[0] != (int(n) + EF_SAMPLE - 1) // EF_SAMPLE
            or s0.shape[0] != (n_zero_bits + EF_SAMPLE - 1) // EF_SAMPLE):
        raise ValueError("select samples have the wrong size")
    cdef packed_t low_parts
    cdef uint64_t first = 0
    cdef ef_check_result result
    packed_init(&low_parts, &lo[0], L if L > 0 else 1, n)
    with nogil:
        result = _check_stream(&h[0], &low_parts, &s1[0], &s0[0], <uint64_t>s0.shape[0],
                               n, last, L, &first)
    if result != EF_CHECK_OK:
        raise ValueError(_CHECK_MESSAGES[result])
    return first


def decode(high, low, sel1, sel0, uint64_t n, uint64_t last, unsigned int L):
    """The values of a stored sequence (uint64, n of them) after ``check``ing it (same
    errors).  Needs 8 bytes per value: to validate only, call ``check``."""
    check(high, low, sel1, sel0, n, last, L)
    cdef const uint64_t[::1] h = high
    cdef const uint64_t[::1] lo = low
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef packed_t low_parts
    cdef uint64_t n_words = (n + (last >> L) + 1 + 63) >> 6
    packed_init(&low_parts, &lo[0], L if L > 0 else 1, n)
    with nogil:
        _decode_into(&h[0], &low_parts, n_words, L, &o[0])
    return out


cdef class EliasFano:
    """A checked Elias-Fano sequence over given arrays (numpy or read-only maps, not
    copied).  ``EliasFano.from_values(values)`` encodes; ``len``, ``[i]``, ``predecessor``,
    ``predecessors``, ``to_array`` query."""
    cdef ef_t ef
    cdef readonly object arrays
    cdef readonly unsigned int L
    cdef readonly uint64_t last

    def __init__(self, high, low, sel1, sel0, uint64_t n, uint64_t last, unsigned int L):
        check(high, low, sel1, sel0, n, last, L)
        self.arrays = {"high": high, "low": low, "sel1": sel1, "sel0": sel0}
        cdef const uint64_t[::1] h = high
        cdef const uint64_t[::1] lo = low
        cdef const uint64_t[::1] s1 = sel1
        cdef const uint64_t[::1] s0 = sel0
        ef_init(&self.ef, &h[0], &lo[0], &s1[0], &s0[0] if s0.shape[0] else NULL, n, last, L)
        self.L = L
        self.last = last

    @staticmethod
    def from_values(values):
        e = encode(values)
        return EliasFano(e["high"], e["low"], e["sel1"], e["sel0"], e["n"], e["last"], e["L"])

    def __len__(self):
        return self.ef.n

    @property
    def nbytes(self):
        return sum(int(np.asarray(a).nbytes) for a in self.arrays.values())

    def __getitem__(self, int64_t i):
        if i < 0:
            i += <int64_t>self.ef.n
        if i < 0 or <uint64_t>i >= self.ef.n:
            raise IndexError("index out of range")
        return ef_get(&self.ef, <uint64_t>i)

    def pair(self, uint64_t i):
        """(x_i, x_{i+1})."""
        cdef uint64_t a, b
        if i + 1 >= self.ef.n:
            raise IndexError("index out of range")
        ef_get_pair(&self.ef, i, &a, &b)
        return a, b

    def predecessor(self, uint64_t x):
        """The last i with x_i <= x (x >= x_0)."""
        if x < ef_get(&self.ef, 0):
            raise ValueError("no value is <= x")
        return ef_predecessor(&self.ef, x)

    def predecessors(self, xs):
        """int64 array: predecessor of each x (every x >= x_0)."""
        cdef const uint64_t[::1] v = np.ascontiguousarray(xs, dtype=np.uint64)
        out = np.empty(v.shape[0], dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef Py_ssize_t i
        cdef uint64_t first = ef_get(&self.ef, 0)
        for i in range(v.shape[0]):
            if v[i] < first:
                raise ValueError("no value is <= x")
        with nogil:
            for i in range(v.shape[0]):
                o[i] = <int64_t>ef_predecessor(&self.ef, v[i])
        return out

    def get_many(self, idx):
        """uint64 array: x_i of each index (all < n)."""
        cdef const int64_t[::1] v = np.ascontiguousarray(idx, dtype=np.int64)
        out = np.empty(v.shape[0], dtype=np.uint64)
        cdef uint64_t[::1] o = out
        cdef Py_ssize_t i
        for i in range(v.shape[0]):
            if v[i] < 0 or <uint64_t>v[i] >= self.ef.n:
                raise IndexError("index out of range")
        with nogil:
            for i in range(v.shape[0]):
                o[i] = ef_get(&self.ef, <uint64_t>v[i])
        return out

    def to_array(self):
        a = self.arrays
        return decode(a["high"], a["low"], a["sel1"], a["sel0"], self.ef.n, self.last, self.L)


def packed_unpack(words, unsigned int width, uint64_t n):
    """Entries of a PackedInts array (``width`` bits each) as uint64."""
    cdef const uint64_t[::1] w = words
    if width < 1 or width > 57 or <uint64_t>w.shape[0] < packed_words(width, n):
        raise ValueError("packed array too short for its entries")
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef packed_t p
    cdef uint64_t i
    packed_init(&p, &w[0], width, n)
    with nogil:
        for i in range(n):
            o[i] = packed_get(&p, i)
    return out


def packed_pack(values, unsigned int width):
    """uint64 values (each < 2^width) -> PackedInts words (padding word included)."""
    cdef const uint64_t[::1] v = np.ascontiguousarray(values, dtype=np.uint64)
    cdef uint64_t n = v.shape[0], i
    if width < 1 or width > 57:
        raise ValueError("width must be 1..57")
    out = np.zeros(packed_words(width, n), dtype=np.uint64)
    cdef uint64_t[::1] o = out
    for i in range(n):
        if v[i] >> width:
            raise ValueError("value does not fit the width")
    with nogil:
        for i in range(n):
            packed_set(&o[0], width, i, v[i])
    return out
