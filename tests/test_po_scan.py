"""ext/po_scan.h, the pair-occurrence rank's digit count, on its own against numpy.

The kernels compiled on x86-64 use its SSE2 path; the word path is what other machines
get.  Both are compiled here (the second with SSE2 switched off) and run over random
blocks, every direction, offset, digit and letter; the index-level oracle tests
(test_pair_occ.py) then cover the count inside real ranks.
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

# reads blocks of 24 words from stdin (after 2 spare words: unaligned on purpose), prints
# fm_po_rank_count for every (letter, x, back, off) a rank can ask
DRIVER = r"""
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


def _cc():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def _expected(blocks):
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
@pytest.mark.parametrize("flags", ["-O2", "-O3 -mno-sse2"] if X86 else ["-O2"])
def test_rank_count_against_numpy(tmp_path, flags):
    src = tmp_path / "driver.c"
    src.write_text(DRIVER)
    exe = tmp_path / "driver"
    subprocess.run([_cc(), *flags.split(), "-I", str(EXT), str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    rng = np.random.default_rng(3)
    blocks = [rng.integers(0, 2**64, 24, dtype=np.uint64) for _ in range(3)]
    # runs and single digits: every nibble one value, then alternating 0 and 15
    blocks.append(np.full(24, 0x7777777777777777, np.uint64))
    blocks.append(np.full(24, 0xF0F0F0F0F0F0F0F0, np.uint64))
    blocks.append(np.zeros(24, np.uint64))
    got = subprocess.run([str(exe)], input=b"".join(b.tobytes() for b in blocks),
                         check=True, capture_output=True).stdout.split()
    assert [int(v) for v in got] == _expected(blocks)
