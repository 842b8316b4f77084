"""The branch-free digit counts of the ranks, on their own against numpy: ext/po_scan.h
(pair-occurrence table, DNA) and ext/qv_scan.h (QuadRankVector, the fast byte profile).

The kernels compiled on x86-64 use their SSE2 paths; the word paths are what other
machines get.  Both are compiled here (the second with SSE2 switched off) and run over
random blocks and lines and runs of one digit, every direction, offset, digit and letter;
the index-level oracle tests (test_pair_occ.py, test_oracle.py, test_structures.py) then
cover the counts inside real ranks.
"""
import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

EXT = Path(__file__).resolve().parent.parent / "ext"
X86 = platform.machine() in ("x86_64", "AMD64")

# po_scan.h: reads blocks of 24 words from stdin (after 1 spare word: unaligned on
# purpose), prints fm_po_rank_count for every (letter, x, back, off) a rank can ask
PO_DRIVER = r"""
#include <stdio.h>
#include "po_scan.h"
int main(void)
{
    static uint64_t buf[24 + 8];
    uint64_t *w = buf + 1;
    unsigned letter, x, off, back;
    while (fread(w, 8, 24, stdin) == 24) {
        for (letter = 0; letter < 2; letter++)
            for (x = 0; x < (letter ? 4u : 16u); x++)
                for (back = 0; back < 2; back++)
                    for (off = back ? 144 : 0; off <= (back ? 304u : 160u); off++)
                        printf("%u\n", fm_po_rank_count(w, x, off, (int)back, (int)letter));
    }
    return 0;
}
"""


# qv_scan.h: reads lines of 8 words (after 1 spare word), prints fm_qv_line_count for every
# digit and offset
QV_DRIVER = r"""
#include <stdio.h>
#include "qv_scan.h"
int main(void)
{
    static uint64_t buf[8 + 2];
    uint64_t *w = buf + 1;
    unsigned x, off;
    while (fread(w, 8, 8, stdin) == 8)
        for (x = 0; x < 4; x++)
            for (off = 0; off < 224; off++)
                printf("%u\n", fm_qv_line_count(w, x, off));
    return 0;
}
"""
FLAGS = ["-O2", "-O3 -mno-sse2"] if X86 else ["-O2"]


def _cc():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def _run(tmp_path, driver, flags, words):
    """Compile ``driver`` with ``flags``, feed it the uint64 arrays ``words``, return the
    numbers it prints."""
    src = tmp_path / "driver.c"
    src.write_text(driver)
    exe = tmp_path / "driver"
    subprocess.run([_cc(), *flags.split(), "-I", str(EXT), str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    out = subprocess.run([str(exe)], input=b"".join(w.tobytes() for w in words),
                         check=True, capture_output=True).stdout.split()
    return [int(v) for v in out]


def _po_expected(blocks):
    out = []
    for w in blocks:
        digits = np.array([(int(w[5 + k // 16]) >> (4 * (k % 16))) & 15 for k in range(304)])
        for letter in (0, 1):
            for x in range(4 if letter else 16):
                hit = ((digits & 3) == x) if letter else (digits == x)
                cum = np.concatenate([[0], np.cumsum(hit)])
                for back in (0, 1):
                    offs = range(144, 305) if back else range(0, 161)
                    out += [int(cum[304] - cum[o]) if back else int(cum[o]) for o in offs]
    return out


@pytest.mark.skipif(_cc() is None, reason="no C compiler")
@pytest.mark.parametrize("flags", FLAGS)
def test_pair_rank_count_against_numpy(tmp_path, flags):
    rng = np.random.default_rng(3)
    blocks = [rng.integers(0, 2**64, 24, dtype=np.uint64) for _ in range(3)]
    # runs and single digits: every nibble one value, then alternating 0 and 15
    blocks.append(np.full(24, 0x7777777777777777, np.uint64))
    blocks.append(np.full(24, 0xF0F0F0F0F0F0F0F0, np.uint64))
    blocks.append(np.zeros(24, np.uint64))
    assert _run(tmp_path, PO_DRIVER, flags, blocks) == _po_expected(blocks)


@pytest.mark.skipif(_cc() is None, reason="no C compiler")
@pytest.mark.parametrize("flags", FLAGS)
def test_quad_line_count_against_numpy(tmp_path, flags):
    rng = np.random.default_rng(5)
    lines = [rng.integers(0, 2**64, 8, dtype=np.uint64) for _ in range(4)]
    lines += [np.full(8, v, np.uint64) for v in (0, 0x5555555555555555, 0xAAAAAAAAAAAAAAAA,
                                                  0xFFFFFFFFFFFFFFFF, 0x1B1B1B1B1B1B1B1B)]
    expected = []
    for w in lines:
        digits = np.array([(int(w[1 + k // 32]) >> (2 * (k % 32))) & 3 for k in range(224)])
        for x in range(4):
            expected += np.concatenate([[0], np.cumsum(digits == x)])[:224].tolist()
    assert _run(tmp_path, QV_DRIVER, flags, lines) == expected
