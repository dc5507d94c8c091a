"""Labelled sequence files and their splits: ``sequence,label`` tables, FASTA and BED records, TF-binding
negatives, deterministic (grouped, stratified) splits.

Every reader returns plain records (``{"id", "sequence", "label"}`` dicts) and checks each row: a non-DNA
character, a wrong length or an unknown label raises :class:`InputFileError` naming the file and line.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputFileError, undecodable_file_error
from .intervals import read_bed
from .io import DNA_ALPHABET, check_dna
from .sequences import Genome, fetch_padded, read_fasta
from .shuffle import dinucleotide_shuffle

_VALID = re.compile(f"[{DNA_ALPHABET}{DNA_ALPHABET.lower()}]+")
_KMER_TOKEN = re.compile(r"[ACGTNacgtn]{3,6}")

SPLITS = ("train", "validation", "test")


def join_kmers(text: str) -> str | None:
    """DNA from DNABERT's space-separated overlapping k-mers (``"ACGTAC CGTACG"`` -> ``"ACGTACG"``).

    Returns ``None`` when ``text`` is not such a k-mer string (a single token, unequal token lengths, or
    tokens that do not overlap by k - 1), so callers can tell the layouts apart.
    """
    tokens = text.split()
    if len(tokens) < 2 or not all(_KMER_TOKEN.fullmatch(t) for t in tokens):
        return None
    # each token overlaps the next by all but one base (so all tokens have the same length)
    if any(previous[1:] != current[:-1] for previous, current in itertools.pairwise(tokens)):
        return None
    return tokens[0] + "".join(t[-1] for t in tokens[1:])


def _delimiter_for(path: Path, first_line: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    if path.suffix.lower() == ".csv":
        return ","
    return "\t" if "\t" in first_line else ","


def read_sequence_table(
    path: str | Path,
    *,
    sequence_column: str = "sequence",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
    sequence_length: int | None = None,
) -> list[dict]:
    """Read a ``sequence,label`` table: GUE CSV, DNABERT TSV (k-mers joined back to DNA), or any CSV/TSV.

    The delimiter is a tab for ``.tsv`` / ``.tab``, a comma for ``.csv``, otherwise whichever the first line
    has. A header naming ``sequence_column`` and ``label_column`` is used; with no header the first two
    columns are sequence and label. A sequence field of space-separated overlapping k-mers (DNABERT's
    layout) is joined back to DNA.

    Args:
        labels: the allowed label values (as text); others raise. ``None`` accepts any.
        sequence_length: when given, every sequence must have this length (in bp, after k-mer joining).

    Returns:
        ``[{"id": "<file stem>:<line>", "sequence": DNA (upper case), "label": label text}, ...]``.

    Raises:
        InputFileError: with the file and line, for a short row, an empty or non-DNA sequence, a wrong length,
            an unknown or empty label, or a file without rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            first_line = handle.readline()
            handle.seek(0)
            reader = csv.reader(handle, delimiter=_delimiter_for(path, first_line))
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as error:
        raise undecodable_file_error(path, error) from error
    except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
        raise InputFileError(
            path, f"not a readable CSV/TSV table: {error}", max(reader.line_num, 1)
        ) from error
    rows = [(line, row) for line, row in rows if row and any(cell.strip() for cell in row)]
    if not rows:
        raise InputFileError(path, "no rows (empty file?)")
    header = [cell.strip() for cell in rows[0][1]]
    if sequence_column in header and label_column in header:
        sequence_index, label_index = header.index(sequence_column), header.index(label_column)
        rows = rows[1:]
    elif _VALID.fullmatch(header[0]) or join_kmers(header[0]) is not None:
        sequence_index, label_index = 0, 1
    else:
        raise InputFileError(
            path,
            f"the header {header} has no {sequence_column!r} and {label_column!r} columns, and the first "
            "field is not DNA",
            rows[0][0],
        )
    allowed = None if labels is None else {str(label) for label in labels}
    records = []
    for line, row in rows:
        if len(row) <= max(sequence_index, label_index):
            raise InputFileError(
                path, f"expected at least {max(sequence_index, label_index) + 1} fields", line
            )
        raw = row[sequence_index].strip()
        if " " in raw:
            joined = join_kmers(raw)
            if joined is None:
                raise InputFileError(
                    path,
                    "the sequence has spaces but is not a run of overlapping k-mers (DNABERT layout)",
                    line,
                )
            raw = joined
        sequence = check_dna(raw, path, line)
        if sequence_length is not None and len(sequence) != sequence_length:
            raise InputFileError(
                path, f"sequence of length {len(sequence)}, expected {sequence_length}", line
            )
        label = normalise_label(row[label_index], path, line)
        if allowed is not None and label not in allowed:
            raise InputFileError(path, f"unknown label {label!r} (expected one of {sorted(allowed)})", line)
        records.append({"id": f"{path.stem}:{line}", "sequence": sequence, "label": label})
    if not records:
        raise InputFileError(path, "no data rows after the header")
    return records


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def normalise_label(value: object, path: str | Path, line: int | None) -> str:
    """A label as class text: numbers are normalised (``1``, ``1.0`` and ``+1e0`` are ``"1"``; ``0.50`` is
    ``"0.5"``), other text is stripped.

    Raises:
        InputFileError: an empty, ``None``, NaN or infinite label, naming the file and line.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        raise InputFileError(path, "empty label", line)
    if (
        isinstance(value, float)
        or _NUMBER.fullmatch(text)
        or text.lower().lstrip("+-") in ("nan", "inf", "infinity")
    ):
        if re.fullmatch(r"[+-]?\d+", text):
            return str(int(text))  # exact, however long
        number = float(text)
        if not math.isfinite(number):
            raise InputFileError(path, f"label {text!r} is not a class (NaN or infinite)", line)
        return str(int(number)) if number.is_integer() else repr(number)
    return text


def label_names(values: Iterable[str | int]) -> list[str]:
    """Sorted class names: numerically when every label is an integer (so ``"10"`` follows ``"9"``)."""
    unique = {str(value) for value in values}
    if all(re.fullmatch(r"-?\d+", value) for value in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def encode_labels(values: Sequence[str | int], names: Sequence[str]) -> list[int]:
    """Class ids of ``values`` in ``names``; integer labels ``0..C-1`` keep their value (GUE's 0/1 stay 0/1)."""
    index = {name: i for i, name in enumerate(names)}
    missing = sorted({str(v) for v in values} - set(index))
    if missing:
        raise ValueError(f"labels {missing} are not among the classes {list(names)}")
    return [index[str(value)] for value in values]


def read_fasta_sequences(path: str | Path, sequence_length: int | None = None) -> list[dict]:
    """Records ``{"id": record name, "sequence": upper-case DNA}`` of a FASTA file (validated by read_fasta)."""
    records = []
    for record in read_fasta(path):
        if sequence_length is not None and len(record.sequence) != sequence_length:
            raise InputFileError(
                path,
                f"record {record.name!r} has length {len(record.sequence)}, expected {sequence_length}",
            )
        records.append({"id": record.name, "sequence": record.sequence.upper()})
    return records


def read_bed_sequences(bed: str | Path, genome: str | Path, width: int | None = None) -> list[dict]:
    """Records of the intervals of ``bed`` fetched from ``genome``; with ``width``, a window centred on each."""
    with Genome(genome) as reference:
        table = read_bed(bed, reference.sizes)
        records = []
        for code, start, end in zip(table.chrom_codes, table.starts, table.ends, strict=True):
            chrom = table.chroms[code]
            start, end = int(start), int(end)
            if width is not None:
                centre = (start + end) // 2
                start, end = centre - width // 2, centre - width // 2 + width
            records.append(
                {
                    "id": f"{chrom}:{start}-{end}",
                    "sequence": fetch_padded(reference, chrom, start, end).upper(),
                }
            )
    return records


def sequence_seed(seed: int, index: int) -> int:
    """A per-sequence seed: shuffles do not change when sequences are added or removed after ``index``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def tf_binding_examples(positives: Sequence[dict], seed: int = 0) -> list[dict]:
    """Positives (label 1) and one dinucleotide-shuffled negative per positive (label 0), interleaved.

    The negative of positive ``i`` is ``dinucleotide_shuffle(sequence, sequence_seed(seed, i))`` and carries
    ``"group": i`` like its positive, so splits can keep the pair together.
    """
    examples = []
    for index, record in enumerate(positives):
        sequence = record["sequence"].upper()
        examples.append({"id": record["id"], "sequence": sequence, "label": 1, "group": index})
        examples.append(
            {
                "id": f"{record['id']}|shuffled",
                "sequence": dinucleotide_shuffle(sequence, sequence_seed(seed, index)),
                "label": 0,
                "group": index,
            }
        )
    return examples


def deduplicate_pool(records: Sequence[dict]) -> tuple[list[dict], dict]:
    """One record per distinct sequence of a pool that is split afterwards: repeats with the same label keep
    their first occurrence; a sequence seen with different labels is left out entirely (no split could
    hold it honestly). Returns the records and ``{"repeats_removed": n, "conflicting_sequences": [ids]}``."""
    labels: dict[str, set] = {}
    for record in records:
        labels.setdefault(record["sequence"], set()).add(str(record["label"]))
    seen: set[str] = set()
    kept, conflicting = [], []
    for record in records:
        sequence = record["sequence"]
        if len(labels[sequence]) > 1:
            conflicting.append(record["id"])
        elif sequence not in seen:
            seen.add(sequence)
            kept.append(record)
    removed = len(records) - len(kept) - len(conflicting)
    return kept, {"repeats_removed": removed, "conflicting_sequences": conflicting}


def _dna_of(record: dict) -> tuple:
    """The DNA a record holds: its ``sequence``, or every ``*sequence`` field (variants: ref and alt windows)."""
    return tuple(value for key, value in sorted(record.items()) if key.endswith("sequence"))


def deduplicate_splits(splits: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], dict]:
    """Splits that share no sequence: a validation record whose sequence is in train, and a test record whose
    sequence is in train or validation, are removed. Returns the splits and
    ``{"removed": {split: n}, "conflicting_labels": n}`` (sequences that carry different labels in different
    splits, among the removed)."""
    earlier: dict[tuple, set] = {}
    cleaned: dict[str, list[dict]] = {}
    removed: dict[str, int] = {}
    conflicting = 0
    for name in sorted(splits, key=lambda n: SPLITS.index(n) if n in SPLITS else len(SPLITS)):
        kept = []
        for record in splits[name]:
            dna = _dna_of(record)
            seen_labels = earlier.get(dna)
            if seen_labels is None or not dna:
                kept.append(record)
            else:
                conflicting += str(record.get("label")) not in seen_labels
        removed[name] = len(splits[name]) - len(kept)
        cleaned[name] = kept
        for record in kept:
            earlier.setdefault(_dna_of(record), set()).add(str(record.get("label")))
    return {name: cleaned[name] for name in splits}, {"removed": removed, "conflicting_labels": conflicting}


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded random subset of ``limit`` records in their original order (all when ``limit`` is None)."""
    if limit is None or limit >= len(records):
        return records
    keep = np.sort(np.random.default_rng(seed).choice(len(records), size=limit, replace=False))
    return [records[i] for i in keep]


def seeded_split(
    n: int,
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    stratify: Sequence | None = None,
    groups: Sequence | None = None,
) -> list[str]:
    """Deterministic split names (``"train"`` / ``"validation"`` / ``"test"``) for ``n`` items.

    Items of one group go to one split (groups are split, not items). With ``stratify`` (one label per item
    or group), each class is split separately so the splits keep the class balance. Within each stratum the
    order is a ``numpy.random.default_rng(seed)`` permutation; the first ``round(f_train * m)`` go to train,
    the next ``round(f_validation * m)`` to validation, the rest to test.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions}")
    group_of = list(range(n)) if groups is None else list(groups)
    unique_groups = list(dict.fromkeys(group_of))
    strata: dict[object, list[int]] = {}
    if stratify is not None:
        first_label = {}
        for item, group in enumerate(group_of):
            first_label.setdefault(group, stratify[item])
        for index, group in enumerate(unique_groups):
            strata.setdefault(first_label[group], []).append(index)
    else:
        strata[None] = list(range(len(unique_groups)))
    rng = np.random.default_rng(seed)
    assignment: dict[object, str] = {}
    for key in sorted(strata, key=str):
        members = np.asarray(strata[key])[rng.permutation(len(strata[key]))]
        n_train = round(fractions[0] * len(members))
        ends = (n_train, n_train + round(fractions[1] * len(members)))  # of train and of validation
        for position, member in enumerate(members):
            assignment[unique_groups[member]] = SPLITS[bisect.bisect_right(ends, position)]
    return [assignment[group] for group in group_of]


__all__ = [
    "SPLITS", "deduplicate_pool", "deduplicate_splits", "encode_labels", "join_kmers", "label_names",
    "normalise_label", "read_bed_sequences", "read_fasta_sequences", "read_sequence_table", "seeded_split",
    "sequence_seed", "subsample", "tf_binding_examples",
]  # fmt: skip
