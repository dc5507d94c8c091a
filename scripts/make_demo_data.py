"""Rebuild genebert/demo_data/ from ../shared/data (run once; the outputs are committed with PROVENANCE.md).

    .venv/bin/python scripts/make_demo_data.py [--shared ../shared/data] [--end 30000000]

Writes:
- chromvar_chr22_peaks.fa: the 525 chr22 peaks of the chromVAR example with their hg19 sequence;
- chr22_head.fa.gz (+ .fai, .gzi): hg19 chr22 truncated at --end, bgzip-compressed;
- scatac_chromvar_chr22/ and scatac_hemato_chr22/: the two scATAC peak x cell matrices restricted to the
  peaks inside that slice (matrix.mtx, peaks.bed, barcodes.tsv, cell_metadata.tsv);
- uci_splice/splice.csv: the UCI splice-junction table (the demo's fine-tuning task), copied unchanged.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pyfaidx
import scipy.io
import scipy.sparse
from Bio import bgzf

OUT = Path(__file__).resolve().parents[1] / "genebert" / "demo_data"
MATRICES = {
    "scatac_chromVAR_example": "scatac_chromvar_chr22",
    "scatac_hemato_epiCHAOS": "scatac_hemato_chr22",
}


def write_peak_fasta(shared: Path, genome: pyfaidx.Fasta) -> None:
    scatac = shared / "scatac_chromVAR_example"
    names = [
        line.split("\t")[3].strip() for line in (scatac / "peak_metadata.tsv").read_text().splitlines()[1:]
    ]
    records = []
    for index, line in enumerate((scatac / "peaks.bed").read_text().splitlines()):
        chrom, start, end = line.split("\t")[:3]
        if chrom == "chr22":
            records.append(f">{chrom}:{start}-{end} {names[index]}\n{genome[chrom][int(start) : int(end)]}\n")
    (OUT / "chromvar_chr22_peaks.fa").write_text("".join(records))
    print(f"wrote {len(records)} peaks to chromvar_chr22_peaks.fa")


def write_genome_slice(genome: pyfaidx.Fasta, end: int) -> None:
    sequence = genome["chr22"][0:end]
    path = OUT / "chr22_head.fa.gz"
    with bgzf.BgzfWriter(str(path), "wb") as writer:
        writer.write(b">chr22\n")
        for offset in range(0, len(sequence), 60):
            writer.write(sequence[offset : offset + 60].encode() + b"\n")
    for index in (path.with_name(path.name + ".fai"), path.with_name(path.name + ".gzi")):
        index.unlink(missing_ok=True)
    pyfaidx.Fasta(str(path)).close()  # writes the .fai and .gzi indexes beside it
    print(f"wrote {path.name}: chr22[0:{end}) ({path.stat().st_size / 1e6:.1f} MB)")


def write_matrix_slice(source: Path, target: Path, end: int) -> None:
    peaks = [line.split("\t") for line in (source / "peaks.bed").read_text().splitlines()]
    keep = np.array([p[0] == "chr22" and int(p[2]) <= end for p in peaks])
    counts = scipy.sparse.csr_matrix(scipy.io.mmread(str(source / "matrix.mtx")))[keep]
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    scipy.io.mmwrite(str(target / "matrix.mtx"), counts.tocoo(), field="integer")
    lines = ["\t".join(p[:3]) for p, k in zip(peaks, keep, strict=True) if k]
    (target / "peaks.bed").write_text("\n".join(lines) + "\n")
    shutil.copyfile(source / "barcodes.tsv", target / "barcodes.tsv")
    shutil.copyfile(source / "cell_metadata.tsv", target / "cell_metadata.tsv")
    print(f"wrote {target.name}: {counts.shape[0]} peaks x {counts.shape[1]} cells, {counts.nnz} non-zero")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--end", type=int, default=30_000_000, help="keep chr22[0:end)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    genome = pyfaidx.Fasta(
        str(args.shared / "hg19_chr22" / "chr22.fa"), as_raw=True, sequence_always_upper=False
    )
    write_peak_fasta(args.shared, genome)
    write_genome_slice(genome, args.end)
    for source, target in MATRICES.items():
        write_matrix_slice(args.shared / source, OUT / target, args.end)
    (OUT / "uci_splice").mkdir(exist_ok=True)
    shutil.copyfile(args.shared / "uci_splice" / "splice.csv", OUT / "uci_splice" / "splice.csv")


if __name__ == "__main__":
    main()
