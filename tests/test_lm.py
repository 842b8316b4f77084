"""n-gram / ∞-gram queries on a byte index (fmindex.lm) against a brute-force oracle."""
from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fmindex
import fmindex.lm as lm
from fmindex.errors import PatternError

END = lm.END


class ByteOracle:
    def __init__(self, docs):
        self.docs = [bytes(d) for d in docs]

    def occ(self, p):
        out = []
        for d, doc in enumerate(self.docs):
            for o in range(len(doc) - len(p) + 1):
                if doc[o:o + len(p)] == p:
                    out.append((d, o))
        return out

    def count(self, p):
        if not p:
            return sum(len(d) for d in self.docs) + len(self.docs)
        return len(self.occ(p))

    def ntd(self, ctx):
        c = Counter()
        if not ctx:
            for d in self.docs:
                c.update(d)
                c[END] += 1
            return c
        for d, o in self.occ(ctx):
            doc = self.docs[d]
            c[doc[o + len(ctx)] if o + len(ctx) < len(doc) else END] += 1
        return c

    def suffix_len(self, ctx):
        k = 0
        for j in range(1, len(ctx) + 1):
            if self.count(ctx[len(ctx) - j:]):
                k = j
            else:
                break
        return k

    def cnf_docs(self, cnf, gap):
        out = []
        for d, doc in enumerate(self.docs):
            occ = [(o, ci) for ci, cl in enumerate(cnf) for g in cl
                   for o in range(len(doc) - len(g) + 1) if doc[o:o + len(g)] == g]
            if any(len({ci for p, ci in occ if lo <= p <= lo + gap}) == len(cnf) for lo, _ in occ):
                out.append(d)
        return out


corpora = st.lists(st.binary(max_size=25).map(lambda b: bytes(x % 4 + 97 if x < 250 else x for x in b)),
                   min_size=1, max_size=6)


def _build(docs, tmp, shard_size=None):
    return fmindex.build(docs, Path(tmp) / "idx", shard_size=shard_size, progress=False)


@settings(max_examples=30, deadline=None)
@given(docs=corpora, data=st.data())
def test_oracle_byte_lm(docs, data):
    orc = ByteOracle(docs)
    with tempfile.TemporaryDirectory() as tmp:
        idx = _build(docs, tmp, shard_size=data.draw(st.sampled_from([None, 40])))
        qs = {b""}
        for d in docs:
            for m in (1, 2, 3):
                for o in range(len(d) - m + 1):
                    qs.add(d[o:o + m])
        qs = sorted(qs)[:40] + [b"zz", b"a\xff"]
        for q in qs:
            assert lm.count(idx, q) == orc.count(q)
            want = orc.ntd(q)
            got = lm.next_token_distribution(idx, q)
            assert {k: v[0] for k, v in got.items()} == dict(want), q
            for b in (97, 98, 255, END):
                r = lm.prob(idx, q, b)
                cc = orc.count(q)
                assert r["context_count"] == cc
                assert r["continuation_count"] == (want.get(b, 0) if cc else 0)
                assert r["prob"] == pytest.approx(want.get(b, 0) / cc if cc else -1.0)
        for d in docs:
            for o in range(0, len(d), 4):
                ctx = b"\x00" + d[o:o + 7]
                k = orc.suffix_len(ctx)
                assert lm.longest_suffix(idx, ctx) == k
                r = lm.infgram_prob(idx, ctx, 97)
                suf = ctx[len(ctx) - k:]
                assert r["suffix_len"] == k and r["context_count"] == orc.count(suf)
                assert r["continuation_count"] == orc.ntd(suf).get(97, 0)
                r = lm.infgram_next_token_distribution(idx, ctx)
                assert {t: v[0] for t, v in r["distribution"].items()} == dict(orc.ntd(suf))


@settings(max_examples=25, deadline=None)
@given(docs=corpora, gap=st.integers(0, 5), data=st.data())
def test_oracle_byte_cnf(docs, gap, data):
    grams = data.draw(st.lists(st.sampled_from([b"a", b"b", b"c", b"ab", b"ba", b"dd"]),
                               min_size=2, max_size=4))
    n = data.draw(st.integers(1, min(3, len(grams))))
    cnf = [[] for _ in range(n)]
    for i, g in enumerate(grams):
        cnf[i % n].append(g)
    want = ByteOracle(docs).cnf_docs(cnf, gap)
    with tempfile.TemporaryDirectory() as tmp:
        idx = _build(docs, tmp, shard_size=data.draw(st.sampled_from([None, 40])))
        for mcf in (10 ** 6, 1):
            r = lm.search_documents(idx, cnf, max_gap=gap, limit=None, max_clause_freq=mcf)
            got = [x["doc"] for x in r["documents"]]
            if r["approx"]:
                assert set(got) <= set(want)
            else:
                assert got == want and r["count"] == len(want)


def test_byte_eos_and_errors(tmp_path):
    idx = _build([b"abc", b"ab", b""], tmp_path)
    assert lm.next_token_distribution(idx, b"ab") == {END: (1, 0.5), ord("c"): (1, 0.5)}
    assert lm.prob(idx, b"ab", END)["continuation_count"] == 1
    assert lm.prob(idx, "zz", "a")["prob"] == -1.0
    assert lm.count(idx, b"") == 5 + 3
    with pytest.raises(PatternError):
        lm.prob(idx, b"a", b"bc")
    with pytest.raises(PatternError):
        lm.search_documents(idx, [[b""]])
