"""Naive reference answers: bytes.find loops over the documents."""
from typing import List, Tuple


def occurrences(docs: List[bytes], pattern: bytes) -> List[Tuple[int, int]]:
    """All (doc, offset) with doc[offset:offset+len(pattern)] == pattern, overlapping.

    The empty pattern occurs at every offset 0..len-1 (count("") = text bytes).
    """
    out = []
    for d, text in enumerate(docs):
        if not pattern:
            out.extend((d, o) for o in range(len(text)))
            continue
        i = text.find(pattern)
        while i >= 0:
            out.append((d, i))
            i = text.find(pattern, i + 1)
    return out


def count(docs: List[bytes], pattern: bytes) -> int:
    return len(occurrences(docs, pattern))
