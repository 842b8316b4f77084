"""The kernels' software prefetches are really issued.

GCC 12 deleted every call of an inline helper made only of ``__builtin_prefetch`` calls
(its IPA mod-ref analysis counts the builtin as no side effect), so the pair-occurrence
table's prefetches, and the locate and extract walks' helpers, were compiled to nothing:
``count_many`` on a DNA shard gained 1.05x over one count at a time instead of 1.5-1.8x,
and locate / extract were 1.5-2.8x slower than they are now.  ``fm_prefetch``
(ext/fm_bits.h) is an asm statement since; these tests keep it that way.
"""
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import fmindex

EXT = Path(__file__).resolve().parent.parent / "ext"
X86 = platform.machine() in ("x86_64", "AMD64", "i686", "i386")

# an inline helper that does nothing but request lines, as po_prefetch_rank does
HELPER = r"""
#include "fm_bits.h"
typedef struct { const unsigned long long *blocks; unsigned long long n; } po_t;
static inline void request_block(const po_t *po, unsigned long long i)
{
    unsigned long long b = i / 432, off = i - b * 432, l;
    const unsigned long long *w = po->blocks + b * 32;
    if (i > po->n)
        return;
    if (off > 216) {
        for (l = (5 + (off >> 4)) >> 3; l < 4; l++)
            fm_prefetch(w + 8 * l);
        fm_prefetch(w + 32);
    } else {
        fm_prefetch(w);
    }
}
void request_two(const po_t *po, unsigned long long i, unsigned long long j)
{
    request_block(po, i);
    request_block(po, j);
}
"""


def _cc():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


@pytest.mark.skipif(not X86 and platform.machine() != "aarch64",
                    reason="asm prefetch only on x86 / aarch64")
@pytest.mark.parametrize("opt", ["-O2", "-O3"])
def test_prefetch_only_helper_keeps_its_prefetches(tmp_path, opt):
    cc = _cc()
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "helper.c"
    src.write_text(HELPER)
    asm = subprocess.run([cc, opt, "-S", "-I", str(EXT), "-o", "-", str(src)],
                         check=True, capture_output=True, text=True).stdout
    body = asm[asm.index("request_two"):]
    n = len(re.findall(r"\bprefetcht0\b" if X86 else r"\bprfm\b", body))
    assert n >= 2, f"{cc} {opt} dropped the helper's prefetches:\n{body[:2000]}"


@pytest.mark.skipif(not X86, reason="x86 disassembly")
def test_compiled_kernels_issue_prefetches():
    """The built count / locate / extract kernels hold their prefetch instructions: ~400
    in _fm_shard with the pair-occurrence helpers inlined, 91 when GCC dropped them."""
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump not installed")
    so = fmindex._fm_shard.__file__
    asm = subprocess.run([objdump, "-d", "--no-show-raw-insn", so], check=True,
                         capture_output=True, text=True).stdout
    n = len(re.findall(r"\bprefetch", asm))
    assert n >= 250, f"only {n} prefetch instructions in {so}"
