"""Rebuild genebert/demo_data/ from ../shared/data (run once; the outputs are committed with PROVENANCE.md).

.venv/bin/python scripts/make_demo_data.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pyfaidx

OUT = Path(__file__).resolve().parents[1] / "genebert" / "demo_data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    scatac = args.shared / "scatac_chromVAR_example"
    genome = pyfaidx.Fasta(
        str(args.shared / "hg19_chr22" / "chr22.fa"), as_raw=True, sequence_always_upper=False
    )
    names = [
        line.split("\t")[3].strip() for line in (scatac / "peak_metadata.tsv").read_text().splitlines()[1:]
    ]
    records = []
    for index, line in enumerate((scatac / "peaks.bed").read_text().splitlines()):
        chrom, start, end = line.split("\t")[:3]
        if chrom == "chr22":
            sequence = genome[chrom][int(start) : int(end)]
            records.append(f">{chrom}:{start}-{end} {names[index]}\n{sequence}\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "chromvar_chr22_peaks.fa").write_text("".join(records))
    print(f"wrote {len(records)} peaks to {OUT / 'chromvar_chr22_peaks.fa'}")


if __name__ == "__main__":
    main()
