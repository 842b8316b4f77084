"""FASTA -> JSONL (one document per record: {"id": header, "text": sequence}), for bench_core.

    python benches/fasta_to_jsonl.py /work/corpora/dna/bacteria.fa /tmp/dna.jsonl
    python benches/bench_core.py --corpus /tmp/dna.jsonl --mb 100
"""
import json
import sys


def main(src: str, dst: str) -> None:
    with open(src) as fin, open(dst, "w") as fout:
        head, seq = None, []
        for line in list(fin) + [">"]:
            line = line.strip()
            if line.startswith(">"):
                if head is not None:
                    fout.write(json.dumps({"id": head, "text": "".join(seq).upper()}) + "\n")
                head, seq = line[1:], []
            elif line:
                seq.append(line)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
