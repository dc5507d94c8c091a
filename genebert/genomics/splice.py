"""Splice-site tasks: the UCI splice-junction data set, and SpliceAI-style windows from a genome + GTF.

Classes follow SpliceAI's order everywhere: ``0 = neither``, ``1 = acceptor``, ``2 = donor``. UCI's ``IE``
(intron -> exon boundary) is an acceptor, ``EI`` (exon -> intron) a donor, ``N`` neither.

Site positions (0-based, on the genome's forward strand), for consecutive exons ``a`` before ``b`` of a
transcript (sorted by start; GTF is 1-based inclusive, so an exon is ``[start - 1, end)`` here):

* ``+`` strand: donor = the last base of ``a`` (``a.end - 1``), acceptor = the first base of ``b`` (``b.start``);
* ``-`` strand: the transcript runs right to left, so donor = ``b.start`` and acceptor = ``a.end - 1``.

A window of ``context`` nt (80, 400 or 2000 as SpliceAI) is ``context // 2`` nt on each side of the labelled
base, ``context + 1`` nt in all, read on the transcript's strand (reverse-complemented for ``-``) so the
labelled base is always the centre. Past a chromosome end the window is padded with ``N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from .io import check_dna, numbered_lines, reverse_complement
from .sequences import Genome, fetch_padded
from .tables import seeded_split

SPLICE_LABELS = ("neither", "acceptor", "donor")
UCI_LABELS = {"N": 0, "IE": 1, "EI": 2}
#: SpliceAI's test chromosomes (Jaganathan et al. 2019): 1, 3, 5, 7, 9; the others are for training.
SPLICEAI_TEST_CHROMOSOMES = ("1", "3", "5", "7", "9")
SPLICEAI_CONTEXTS = (80, 400, 2000)
_UCI_LENGTH = 60


def read_uci_splice(path: str | Path, ambiguity: str = "keep") -> list[dict]:
    """Read UCI's ``splice.data`` (``label, instance name, 60-nt sequence``; an optional header line).

    Ambiguity codes: a few sequences hold ``N``, ``D``, ``S`` or ``R`` (IUPAC: any, not-C, C/G, A/G).
    ``ambiguity="keep"`` (default) keeps them; the tokenizer turns every k-mer touching one into ``[UNK]``,
    so the row stays in the data set as it does in published UCI benchmarks. ``"drop"`` leaves those rows out;
    ``"error"`` raises on them.

    Returns:
        ``[{"id": instance name, "sequence": 60-nt DNA, "label": 0 neither / 1 acceptor / 2 donor}, ...]``.

    Raises:
        InputFileError: with the file and line, for a row without three fields, an unknown class, a length
            other than 60 or a non-IUPAC character.
    """
    if ambiguity not in ("keep", "drop", "error"):
        raise ValueError(f"ambiguity must be 'keep', 'drop' or 'error', got {ambiguity!r}")
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    records = []
    for line_number, line in numbered_lines(path, lambda p: p.open(encoding="ascii")):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if line_number == 1 and fields[0].lower() == "label":
            continue  # header
        if len(fields) != 3:
            raise InputFileError(path, f"expected 3 comma-separated fields, got {len(fields)}", line_number)
        label, name, raw = fields
        if label not in UCI_LABELS:
            raise InputFileError(
                path, f"unknown label {label!r} (expected one of {sorted(UCI_LABELS)})", line_number
            )
        sequence = check_dna(raw, path, line_number)
        if len(sequence) != _UCI_LENGTH:
            raise InputFileError(
                path, f"sequence of length {len(sequence)}, expected {_UCI_LENGTH}", line_number
            )
        if re.search(r"[^ACGT]", sequence):
            if ambiguity == "error":
                raise InputFileError(path, "sequence has ambiguity codes (ambiguity='error')", line_number)
            if ambiguity == "drop":
                continue
        records.append({"id": name, "sequence": sequence, "label": UCI_LABELS[label]})
    if not records:
        raise InputFileError(path, "no rows (empty file?)")
    return records


@dataclass(frozen=True)
class Transcript:
    transcript_id: str
    chrom: str
    strand: str
    exons: tuple[tuple[int, int], ...]  # 0-based half-open, sorted by start


_TRANSCRIPT_ID = re.compile(r'transcript_id\s+"([^"]+)"')
_COORDINATE = re.compile(r"-?[0-9]{1,18}")  # plain decimal digits, within int64


def read_gtf_transcripts(path: str | Path) -> list[Transcript]:
    """The transcripts of a GTF (plain or ``.gz``) from its ``exon`` lines, exons sorted by start.

    Raises:
        InputFileError: with the line, for fewer than 9 tab-separated fields, non-integer or inverted
            coordinates, a strand other than ``+``/``-``, an exon line without ``transcript_id``, or a
            transcript whose exons lie on two chromosomes or strands.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    exons: dict[str, list] = {}
    where: dict[str, tuple[str, str, int]] = {}
    for line_number, line in numbered_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 9:
            raise InputFileError(path, f"expected 9 tab-separated fields, got {len(fields)}", line_number)
        if fields[2] != "exon":
            continue
        if not (_COORDINATE.fullmatch(fields[3]) and _COORDINATE.fullmatch(fields[4])):
            # int() alone would read "1_000", "+5", " 7" and non-ASCII digits
            raise InputFileError(path, "start and end must be integers", line_number)
        start, end = int(fields[3]) - 1, int(fields[4])
        if start < 0 or start >= end:
            raise InputFileError(path, f"bad exon coordinates {fields[3]}-{fields[4]}", line_number)
        strand = fields[6]
        if strand not in ("+", "-"):
            raise InputFileError(path, f"strand must be '+' or '-', got {strand!r}", line_number)
        match = _TRANSCRIPT_ID.search(fields[8])
        if match is None:
            raise InputFileError(path, "exon without transcript_id", line_number)
        transcript = match.group(1)
        if transcript in where and where[transcript][:2] != (fields[0], strand):
            raise InputFileError(
                path, f"transcript {transcript!r} has exons on two chromosomes or strands", line_number
            )
        where.setdefault(transcript, (fields[0], strand, line_number))
        exons.setdefault(transcript, []).append((start, end))
    if not exons:
        raise InputFileError(path, "no exon lines")
    return [Transcript(name, where[name][0], where[name][1], tuple(sorted(exons[name]))) for name in exons]


def splice_sites(transcript: Transcript) -> list[tuple[int, int]]:
    """``(position, label)`` of the donor (2) and acceptor (1) sites of one transcript (see the module doc)."""
    sites = []
    for (_, a_end), (b_start, _) in zip(transcript.exons, transcript.exons[1:], strict=False):
        if transcript.strand == "+":
            sites += [(a_end - 1, 2), (b_start, 1)]
        else:
            sites += [(b_start, 2), (a_end - 1, 1)]
    return sites


def _chromosome_key(chrom: str) -> str:
    return chrom.removeprefix("chr")


def spliceai_windows(
    genome: str | Path,
    gtf: str | Path,
    context: int = 400,
    neither_per_site: float = 1.0,
    test_chromosomes: tuple[str, ...] = SPLICEAI_TEST_CHROMOSOMES,
    validation_fraction: float = 0.1,
    seed: int = 42,
) -> dict[str, list[dict]]:
    """SpliceAI-style examples: one window per donor, acceptor and sampled non-site base of each transcript.

    * Sites: every donor/acceptor of every multi-exon transcript, deduplicated by (chromosome, strand,
      position); a position that is a donor in one transcript and an acceptor in another is left out.
    * Neither: ``round(neither_per_site * sites)`` bases per transcript drawn (seeded) uniformly from its span
      (exons and introns, as SpliceAI labels pre-mRNA) excluding every site.
    * Split as SpliceAI: test = chromosomes ``test_chromosomes`` (``chr`` prefix ignored); the other
      chromosomes train, with a seeded ``validation_fraction`` of their transcripts held out for validation.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}`` of records ``{"id", "sequence" (context + 1 nt,
        transcript strand), "label", "chrom", "position" (0-based), "strand", "transcript_id"}``.
    """
    if context <= 0 or context % 2:
        raise ValueError(f"context must be a positive even number of nt (80, 400, 2000), got {context}")
    transcripts = read_gtf_transcripts(gtf)
    rng = np.random.default_rng(seed)
    labels: dict[tuple[str, str, int], set[int]] = {}
    owner: dict[tuple[str, str, int], str] = {}
    for transcript in transcripts:
        for position, label in splice_sites(transcript):
            key = (transcript.chrom, transcript.strand, position)
            labels.setdefault(key, set()).add(label)
            owner.setdefault(key, transcript.transcript_id)
    test_keys = {_chromosome_key(c) for c in test_chromosomes}
    train_transcripts = [t.transcript_id for t in transcripts if _chromosome_key(t.chrom) not in test_keys]
    held_out = seeded_split(len(train_transcripts), seed, (1 - validation_fraction, validation_fraction, 0.0))
    split_of = {
        t.transcript_id: "test" if _chromosome_key(t.chrom) in test_keys else "train" for t in transcripts
    }
    for name, split in zip(train_transcripts, held_out, strict=True):
        if split == "validation":
            split_of[name] = split

    # Every site of a (chromosome, strand), so non-site bases are drawn away from any transcript's sites.
    by_strand: dict[tuple[str, str], list[int]] = {}
    for chrom, strand, position in labels:
        by_strand.setdefault((chrom, strand), []).append(position)
    site_positions = {key: np.asarray(sorted(values)) for key, values in by_strand.items()}
    site_positions_default = np.zeros(0, dtype=np.int64)
    half = context // 2
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    with Genome(genome) as reference:
        for transcript in transcripts:
            if transcript.chrom not in reference.sizes:
                raise InputFileError(
                    gtf,
                    f"chromosome {transcript.chrom!r} of {transcript.transcript_id!r} is not in the genome",
                )
            chosen = [
                (position, next(iter(labels[(transcript.chrom, transcript.strand, position)])))
                for position, _ in splice_sites(transcript)
                if owner[(transcript.chrom, transcript.strand, position)] == transcript.transcript_id
                and len(labels[(transcript.chrom, transcript.strand, position)]) == 1
            ]
            span_start, span_end = transcript.exons[0][0], max(end for _, end in transcript.exons)
            candidates = np.setdiff1d(
                np.arange(span_start, span_end),
                site_positions.get((transcript.chrom, transcript.strand), site_positions_default),
            )
            n_neither = min(len(candidates), round(neither_per_site * len(chosen)))
            for position in np.sort(rng.choice(candidates, size=n_neither, replace=False)):
                chosen.append((int(position), 0))
            for position, label in chosen:
                window = fetch_padded(
                    reference, transcript.chrom, position - half, position + half + 1
                ).upper()
                if transcript.strand == "-":
                    window = reverse_complement(window)
                check_dna(window, genome, None)
                splits[split_of[transcript.transcript_id]].append(
                    {
                        "id": f"{transcript.chrom}:{position}:{transcript.strand}",
                        "sequence": window,
                        "label": label,
                        "chrom": transcript.chrom,
                        "position": position,
                        "strand": transcript.strand,
                        "transcript_id": transcript.transcript_id,
                    }
                )
    return splits


__all__ = [
    "SPLICEAI_CONTEXTS", "SPLICEAI_TEST_CHROMOSOMES", "SPLICE_LABELS", "UCI_LABELS", "Transcript",
    "read_gtf_transcripts", "read_uci_splice", "reverse_complement", "splice_sites", "spliceai_windows"
]  # fmt: skip
