"""Variant tasks (disease risk, variant effect): VCF + genome -> reference and alternative windows.

For a variant at 1-based ``POS`` with alleles ``REF`` / ``ALT`` and ``flank = window // 2``:

* ``ref_sequence`` = ``flank`` nt left of the variant + ``REF`` + ``flank`` nt right of it;
* ``alt_sequence`` = the same flanks around ``ALT``.

So an SNV gives two windows of ``2 * flank + 1`` nt with the variant base at the centre; an indel gives
windows of ``2 * flank + len(allele)`` nt that share their flanks. Past a
chromosome end the flanks are padded with ``N``. ``REF`` must match the genome (case-insensitive): a mismatch
usually means the VCF and the genome are different builds, so it is an error naming the variant and the line.

Labels come from an ``INFO`` key (``label_info_key="LABEL"`` reads ``LABEL=1``) or a table (TSV/CSV with a
header holding ``label`` and either ``id`` or ``chrom``, ``pos``, ``ref``, ``alt``). A multi-allelic record gives
one example per ``ALT`` allele. Symbolic alleles (``<DEL>``, ``*``, breakends) are errors: they have no sequence.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..errors import InputFileError, undecodable_file_error
from .io import numbered_lines
from .sequences import Genome, fetch_padded

_ALLELE = re.compile(r"[ACGTNacgtn]+")
_POSITION = re.compile(r"-?[0-9]{1,18}")  # plain decimal digits, within int64


def read_label_table(path: str | Path) -> dict[str, str]:
    """Labels keyed by variant id and by ``chrom:pos:ref:alt`` from a CSV/TSV with a ``label`` column."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise undecodable_file_error(path, error) from error
    with io.StringIO(text, newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter="\t" if "\t" in first else ",")
        fields = {name.strip().lower() for name in reader.fieldnames or []}
        by_key = {"chrom", "pos", "ref", "alt"} <= fields
        if "label" not in fields or not ("id" in fields or by_key):
            raise InputFileError(path, "need a header with 'label' and 'id' or 'chrom,pos,ref,alt'", 1)
        table: dict[str, str] = {}
        shared_ids: set[str] = set()  # ids given two labels on rows that also name the allele
        for row in reader:
            row = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
            label = row.get("label")
            if not label:
                raise InputFileError(path, "empty label", reader.line_num)
            if by_key and all(row[name] not in ("", ".") for name in ("chrom", "pos", "ref", "alt")):
                key = f"{row['chrom']}:{row['pos']}:{row['ref'].upper()}:{row['alt'].upper()}"
                if table.setdefault(key, label) != label:  # the last one silently won before
                    raise InputFileError(
                        path, f"variant {key} has two labels, {table[key]!r} and {label!r}", reader.line_num
                    )
            else:
                key = None
            variant_id = row.get("id", "")
            if variant_id in ("", ".") or variant_id in shared_ids:
                continue
            if table.setdefault(variant_id, label) != label:
                if key is None:
                    raise InputFileError(
                        path,
                        f"variant id {variant_id!r} has two labels, {table[variant_id]!r} and {label!r}",
                        reader.line_num,
                    )
                # one id for alleles labelled differently (rs123 A>G, A>T): the alleles' own keys decide
                shared_ids.add(variant_id)
                del table[variant_id]
    return table


def variant_windows(
    vcf: str | Path,
    genome: str | Path,
    window: int = 200,
    label_info_key: str | None = None,
    label_table: str | Path | None = None,
    labels: tuple[str, ...] | None = None,
) -> list[dict]:
    """Reference and alternative windows of every variant of ``vcf`` (see the module doc).

    Args:
        window: twice the flank length (the windows are ``window + 1`` nt for an SNV).
        label_info_key / label_table: where labels come from (at most one); with neither, labels are ``None``.
        labels: when given, the allowed label values (text); others raise.

    Returns:
        ``[{"id", "chrom", "pos" (1-based), "ref", "alt", "ref_sequence", "alt_sequence", "label"}, ...]``.

    Raises:
        InputFileError: with the VCF line, for fewer than 5 columns, a non-integer POS, an unknown chromosome,
            a symbolic or non-DNA allele, a REF that differs from the genome, or a missing / unknown label.
    """
    if label_info_key and label_table:
        raise ValueError("give label_info_key or label_table, not both")
    vcf = Path(vcf)
    if not vcf.is_file():
        raise InputFileError(vcf, "file not found")
    table = read_label_table(label_table) if label_table else None
    flank = window // 2
    records = []
    with Genome(genome) as reference:
        for line_number, line in numbered_lines(vcf):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                raise InputFileError(
                    vcf, f"expected at least 5 tab-separated columns, got {len(fields)}", line_number
                )
            chrom, raw_pos, variant_id, ref = fields[0], fields[1], fields[2], fields[3].upper()
            # int() alone would read "1_000", "+5", " 7", non-ASCII digits
            if not _POSITION.fullmatch(raw_pos):
                raise InputFileError(vcf, f"POS must be an integer, got {raw_pos!r}", line_number)
            pos = int(raw_pos)
            name = f"{chrom}:{pos}:{ref}"
            if chrom not in reference.sizes:
                raise InputFileError(
                    vcf, f"variant {name}: chromosome {chrom!r} is not in the genome", line_number
                )
            if not _ALLELE.fullmatch(ref):
                raise InputFileError(vcf, f"variant {name}: REF {ref!r} is not DNA", line_number)
            start = pos - 1
            if start < 0 or start + len(ref) > reference.sizes[chrom]:
                raise InputFileError(vcf, f"variant {name}: outside {chrom}", line_number)
            found = reference.fetch(chrom, start, start + len(ref)).upper()
            if found != ref:
                raise InputFileError(
                    vcf,
                    f"variant {name}: REF {ref} does not match the genome ({found} at {chrom}:{pos}); "
                    "are the VCF and the genome the same build?",
                    line_number,
                )
            info = fields[7] if len(fields) > 7 else "."
            left = fetch_padded(reference, chrom, start - flank, start).upper()
            right = fetch_padded(reference, chrom, start + len(ref), start + len(ref) + flank).upper()
            for alt in fields[4].split(","):
                alt = alt.upper()
                if not _ALLELE.fullmatch(alt):
                    raise InputFileError(
                        vcf,
                        f"variant {name}>{alt}: ALT is symbolic or not DNA (no sequence to build)",
                        line_number,
                    )
                key = f"{chrom}:{pos}:{ref}:{alt}"
                label = _label_of(info, variant_id, key, label_info_key, table, vcf, line_number)
                if labels is not None and label is not None and label not in labels:
                    raise InputFileError(
                        vcf,
                        f"variant {key}: unknown label {label!r} (expected one of {list(labels)})",
                        line_number,
                    )
                records.append(
                    {
                        "id": variant_id
                        if variant_id not in (".", "") and len(fields[4].split(",")) == 1
                        else key,
                        "chrom": chrom,
                        "pos": pos,
                        "ref": ref,
                        "alt": alt,
                        "ref_sequence": left + ref + right,
                        "alt_sequence": left + alt + right,
                        "label": label,
                    }
                )
    if not records:
        raise InputFileError(vcf, "no variant records")
    return records


def _label_of(
    info: str,
    variant_id: str,
    key: str,
    info_key: str | None,
    table: dict[str, str] | None,
    path: Path,
    line: int,
) -> str | None:
    if info_key:
        for item in info.split(";"):
            name, _, value = item.partition("=")
            if name == info_key and value:
                return value
        raise InputFileError(path, f"variant {key}: no {info_key}= in INFO", line)
    if table is not None:
        if variant_id in table:
            return table[variant_id]
        if key in table:
            return table[key]
        raise InputFileError(path, f"variant {key} (id {variant_id!r}) is not in the label table", line)
    return None


__all__ = ["read_label_table", "variant_windows"]
