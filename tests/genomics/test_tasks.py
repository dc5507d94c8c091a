"""Downstream task readers and builders on small generated inputs; bad rows are reported with file and line."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest

from genebert.errors import InputFileError
from genebert.genomics.shuffle import dinucleotide_counts
from genebert.genomics.splice import (
    read_gtf_transcripts,
    read_uci_splice,
    reverse_complement,
    spliceai_windows,
)
from genebert.genomics.tables import (
    join_kmers,
    label_names,
    read_sequence_table,
    seeded_split,
    tf_binding_examples,
)
from genebert.genomics.tasks import load_task
from genebert.genomics.variants import variant_windows

RNG = np.random.default_rng(11)


def random_dna(length: int) -> str:
    return "".join(RNG.choice(list("ACGT"), size=length))


def kmers(sequence: str, k: int = 6) -> str:
    return " ".join(sequence[i : i + k] for i in range(len(sequence) - k + 1))


def write_fasta(path, records: dict[str, str], width: int = 60) -> None:
    with open(path, "w") as handle:
        for name, sequence in records.items():
            handle.write(
                f">{name}\n"
                + "\n".join(sequence[i : i + width] for i in range(0, len(sequence), width))
                + "\n"
            )


# ------------------------------------------------------------------------------------------ tables


def test_gue_csv_layout(tmp_path):
    sequences = [random_dna(20) for _ in range(3)]
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(sequences)))
    records = read_sequence_table(path, labels=("0", "1"), sequence_length=20)
    assert [r["sequence"] for r in records] == sequences
    assert [r["label"] for r in records] == ["0", "1", "0"]
    assert records[0]["id"] == "train:2"


def test_dnabert_kmer_tsv_is_joined_back(tmp_path):
    sequences = [random_dna(30) for _ in range(3)]
    path = tmp_path / "dev.tsv"
    path.write_text("sequence\tlabel\n" + "".join(f"{kmers(s)}\t{i % 2}\n" for i, s in enumerate(sequences)))
    assert [r["sequence"] for r in read_sequence_table(path)] == sequences
    assert join_kmers("ACGTAC CGTACG GTACGT") == "ACGTACGT"
    assert join_kmers("ACGTAC GGGGGG") is None  # not overlapping
    assert join_kmers("ACGTACGT") is None  # plain DNA


def test_headerless_table_and_lower_case(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("acgtacgt\tpos\nTTTTAAAA\tneg\n")
    records = read_sequence_table(path)
    assert records[0]["sequence"] == "ACGTACGT" and label_names(r["label"] for r in records) == ["neg", "pos"]
    assert label_names(["10", "9", "0"]) == ["0", "9", "10"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("ACGTXCGT,1", "invalid character 'X' at position 5"),
        ("ACGTACG,1", "length 7, expected 8"),
        ("ACGTACGT,7", "unknown label '7'"),
        ("ACGTACGT,", "empty label"),
        ("ACGTAC CGTAGG,1", "not a run of overlapping k-mers"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"sequence,label\nACGTACGT,0\n{row}\n")
    with pytest.raises(InputFileError, match=message) as info:
        read_sequence_table(path, labels=("0", "1"), sequence_length=8)
    assert str(info.value).startswith(f"{path}:3:")
    assert info.value.line == 3


# ------------------------------------------------------------------------------------------ TF binding, splits


def test_tf_binding_negatives_are_seeded_dinucleotide_shuffles():
    positives = [{"id": f"p{i}", "sequence": random_dna(80)} for i in range(5)]
    examples = tf_binding_examples(positives, seed=3)
    assert [e["label"] for e in examples] == [1, 0] * 5
    for positive, negative in zip(examples[::2], examples[1::2], strict=True):
        assert dinucleotide_counts(negative["sequence"]) == dinucleotide_counts(positive["sequence"])
        assert negative["sequence"] != positive["sequence"] and negative["group"] == positive["group"]
    assert tf_binding_examples(positives, seed=3) == examples
    assert tf_binding_examples(positives, seed=4) != examples


def test_seeded_split_is_deterministic_grouped_and_stratified():
    labels = [0] * 50 + [1] * 50
    names = seeded_split(100, 1, stratify=labels)
    assert names == seeded_split(100, 1, stratify=labels)
    counts = Counter(zip(names, labels, strict=True))
    assert counts[("train", 0)] == counts[("train", 1)] == 40
    assert counts[("test", 0)] == counts[("test", 1)] == 5
    groups = [i // 2 for i in range(40)]
    grouped = seeded_split(40, 2, groups=groups)
    assert all(grouped[2 * i] == grouped[2 * i + 1] for i in range(20))


# ------------------------------------------------------------------------------------------ splice


def test_uci_splice_reader(tmp_path):
    path = tmp_path / "splice.csv"
    path.write_text(
        "label,instance_name,sequence\n"
        f"EI,    D-1,     {random_dna(60)}\n"
        f"IE,    A-1,     {random_dna(59)}N\n"
        f"N,     X-1,     {random_dna(60)}\n"
    )
    records = read_uci_splice(path)
    assert [r["label"] for r in records] == [2, 1, 0]  # donor, acceptor, neither
    assert len(read_uci_splice(path, ambiguity="drop")) == 2
    with pytest.raises(InputFileError, match=r"splice.csv:3: sequence has ambiguity"):
        read_uci_splice(path, ambiguity="error")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"EI, D-1, {random_dna(60)}\nXX, D-2, {random_dna(60)}\n")
    with pytest.raises(InputFileError, match=r"bad.csv:2: unknown label 'XX'"):
        read_uci_splice(bad)


@pytest.fixture
def splice_inputs(tmp_path):
    """chr1 (a test chromosome) with a '-' transcript and chr2 with a '+' transcript, GT-AG introns planted."""
    chr1, chr2 = list(random_dna(3000)), list(random_dna(3000))
    chr2[200:202], chr2[298:300] = "GT", "AG"  # + : exons [100,200) [300,400) -> donor 199, acceptor 300
    chr1[1198:1200], chr1[1100:1102] = (
        "AC",
        "CT",
    )  # - : exons [1000,1100) [1200,1300) -> donor 1200, acceptor 1099
    write_fasta(tmp_path / "genome.fa", {"chr1": "".join(chr1), "chr2": "".join(chr2)})
    attributes = 'gene_id "g{0}"; transcript_id "t{0}";'
    (tmp_path / "genes.gtf").write_text(
        "\n".join(
            [
                f"chr2\ttest\texon\t101\t200\t.\t+\t.\t{attributes.format(2)}",
                f"chr2\ttest\texon\t301\t400\t.\t+\t.\t{attributes.format(2)}",
                f"chr1\ttest\texon\t1001\t1100\t.\t-\t.\t{attributes.format(1)}",
                f"chr1\ttest\texon\t1201\t1300\t.\t-\t.\t{attributes.format(1)}",
                f"chr1\ttest\tgene\t1001\t1300\t.\t-\t.\t{attributes.format(1)}",
            ]
        )
        + "\n"
    )
    return tmp_path / "genome.fa", tmp_path / "genes.gtf"


def test_spliceai_windows(splice_inputs):
    genome, gtf = splice_inputs
    splits = spliceai_windows(genome, gtf, context=80, validation_fraction=0.0, seed=0)
    half = 40
    assert {r["chrom"] for r in splits["test"]} == {"chr1"} and {r["chrom"] for r in splits["train"]} == {
        "chr2"
    }
    for records in (splits["train"], splits["test"]):
        assert Counter(r["label"] for r in records) == {0: 2, 1: 1, 2: 1}
        for record in records:
            assert len(record["sequence"]) == 81
            if record["label"] == 2:  # donor: exon ends at the centre, GT follows on the transcript strand
                assert record["sequence"][half + 1 : half + 3] == "GT"
            if record["label"] == 1:  # acceptor: exon starts at the centre, AG precedes it
                assert record["sequence"][half - 2 : half] == "AG"
    donors = {r["position"] for records in splits.values() for r in records if r["label"] == 2}
    assert donors == {199, 1200}
    assert spliceai_windows(genome, gtf, context=80, validation_fraction=0.0, seed=0) == splits
    assert reverse_complement("ACGTNR") == "YNACGT"


def test_gtf_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.gtf"
    path.write_text('chr1\tx\texon\t10\t20\t.\t+\t.\ttranscript_id "t";\nchr1\tx\texon\t30\t40\t.\t?\t.\tx\n')
    with pytest.raises(InputFileError, match=r"bad.gtf:2: strand"):
        read_gtf_transcripts(path)


# ------------------------------------------------------------------------------------------ variants


@pytest.fixture
def variant_inputs(tmp_path):
    tmp_path = tmp_path / "variants"  # beside splice_inputs' genome.fa in the same test
    tmp_path.mkdir()
    chrom = random_dna(500)
    write_fasta(tmp_path / "genome.fa", {"chr1": chrom})
    snv_ref, indel_ref = chrom[99], chrom[199:201]
    other = next(b for b in "ACGT" if b != snv_ref)
    vcf = tmp_path / "variants.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t100\trs1\t{snv_ref}\t{other}\t.\tPASS\tLABEL=1\n"
        f"chr1\t200\trs2\t{indel_ref}\t{indel_ref[0]}\t.\tPASS\tLABEL=0;DP=3\n"
        f"chr1\t3\t.\t{chrom[2]}\t{other},T\t.\tPASS\tLABEL=1\n"
    )
    return tmp_path, chrom, vcf


def test_variant_windows(variant_inputs):
    root, chrom, vcf = variant_inputs
    records = variant_windows(vcf, root / "genome.fa", window=20, label_info_key="LABEL")
    snv, deletion = records[0], records[1]
    assert snv["ref_sequence"] == chrom[89:110] and snv["ref_sequence"][10] == snv["ref"]
    assert snv["alt_sequence"] == chrom[89:99] + snv["alt"] + chrom[100:110]
    assert (
        deletion["ref_sequence"] == chrom[189:211]
        and deletion["alt_sequence"] == chrom[189:200] + chrom[201:211]
    )
    assert [r["label"] for r in records] == ["1", "0", "1", "1"]
    near_start = records[2]  # padded with N before the chromosome start
    assert near_start["ref_sequence"].startswith("N" * 8) and len(near_start["ref_sequence"]) == 21
    table = root / "labels.tsv"
    table.write_text(
        "id\tchrom\tpos\tref\talt\tlabel\nrs1\t.\t.\t.\t.\tcase\nrs2\t.\t.\t.\t.\tcontrol\n"
        + "".join(f".\tchr1\t3\t{chrom[2]}\t{alt}\tcase\n" for alt in (records[2]["alt"], "T"))
    )
    labelled = variant_windows(vcf, root / "genome.fa", window=20, label_table=table)
    assert [r["label"] for r in labelled] == ["case", "control", "case", "case"]


def test_variant_ref_mismatch_is_an_error_listing_the_variant(variant_inputs):
    root, chrom, vcf = variant_inputs
    wrong = next(b for b in "ACGT" if b != chrom[299])
    bad = root / "bad.vcf"
    bad.write_text(vcf.read_text() + f"chr1\t300\trs9\t{wrong}\tA\t.\tPASS\tLABEL=1\n")
    with pytest.raises(
        InputFileError, match=rf"bad.vcf:6: variant chr1:300:{wrong}: REF {wrong} does not match"
    ):
        variant_windows(bad, root / "genome.fa", label_info_key="LABEL")
    with pytest.raises(InputFileError, match=r"variants.vcf:3: variant chr1:100:.*unknown label '1'"):
        variant_windows(vcf, root / "genome.fa", label_info_key="LABEL", labels=("case",))


# ------------------------------------------------------------------------------------------ builders


def _build(builder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder.download_and_prepare()
        return builder.as_dataset()


def test_sequence_classification_builder_gue_and_dnabert_layouts(tmp_path):
    from dataset_scripts.promoter import SequenceClassification, split_files

    sequences = {split: [random_dna(30) for _ in range(4)] for split in ("train", "dev", "test")}
    gue, dnabert = tmp_path / "gue", tmp_path / "dnabert"
    gue.mkdir()
    dnabert.mkdir()
    for split, values in sequences.items():
        (gue / f"{split}.csv").write_text(
            "sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(values))
        )
        (dnabert / f"{split}.tsv").write_text(
            "sequence\tlabel\n" + "".join(f"{kmers(s)}\t{i % 2}\n" for i, s in enumerate(values))
        )
    assert set(split_files(gue)) == {"train", "validation", "test"}
    datasets_ = [
        _build(SequenceClassification(data_dir=str(d), cache_dir=str(tmp_path / "cache")))
        for d in (gue, dnabert)
    ]
    for dataset in datasets_:
        assert dataset["validation"]["sequence"] == sequences["dev"]
        assert dataset["train"]["label"] == [0, 1, 0, 1]
        assert dataset["train"].features["label"].names == ["0", "1"]
    builder = SequenceClassification(data_dir=str(gue), cache_dir=str(tmp_path / "cache"))
    out = builder.export_parquet(tmp_path / "parquet")
    assert (out / "train.parquet").is_file() and "config_name: default" in (out / "README.md").read_text()


def test_tf_binding_builder_from_fasta_and_from_bed(tmp_path):
    from dataset_scripts.tf_binding import TfBinding

    chrom = random_dna(2000)
    write_fasta(tmp_path / "genome.fa", {"chr1": chrom})
    write_fasta(tmp_path / "peaks.fa", {f"p{i}": random_dna(50) for i in range(20)})
    (tmp_path / "peaks.bed").write_text("".join(f"chr1\t{100 * i}\t{100 * i + 40}\n" for i in range(1, 11)))
    from_fasta = _build(TfBinding(positives_fasta=str(tmp_path / "peaks.fa"), cache_dir=str(tmp_path / "c1")))
    assert sum(len(split) for split in from_fasta.values()) == 40
    for split in from_fasta.values():  # each shuffle sits in its peak's split
        assert Counter(split["label"])[0] == Counter(split["label"])[1]
    from_bed = _build(
        TfBinding(
            bed=str(tmp_path / "peaks.bed"),
            genome=str(tmp_path / "genome.fa"),
            width=60,
            cache_dir=str(tmp_path / "c2"),
        )
    )
    positives = [r for split in from_bed.values() for r in split if r["label"] == 1]
    assert len(positives) == 10 and all(len(r["sequence"]) == 60 for r in positives)
    assert chrom[90:150] in {r["sequence"] for r in positives}  # peak [100, 140) centred to 60 bp


def test_splice_and_variant_builders(tmp_path, splice_inputs, variant_inputs):
    from dataset_scripts.splice import Splice
    from dataset_scripts.variants import Variants

    genome, gtf = splice_inputs
    windows = _build(
        Splice(config_name="spliceai_80", genome=str(genome), gtf=str(gtf), cache_dir=str(tmp_path / "c3"))
    )
    assert len(windows["test"][0]["sequence"]) == 81 and windows["test"].features["label"].names[2] == "donor"
    uci = tmp_path / "splice.csv"
    uci.write_text(
        "".join(f"{label}, X-{i}, {random_dna(60)}\n" for i, label in enumerate(["EI", "IE", "N"] * 10))
    )
    uci_data = _build(Splice(config_name="uci", data_files=str(uci), cache_dir=str(tmp_path / "c4")))
    assert sum(len(split) for split in uci_data.values()) == 30
    root, _, vcf = variant_inputs
    variants = _build(
        Variants(
            vcf=str(vcf),
            genome=str(root / "genome.fa"),
            label_info_key="LABEL",
            cache_dir=str(tmp_path / "c5"),
        )
    )
    assert len(variants["train"]) == 4 and variants["train"][0]["label"] == "1"


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.shared_data
def test_built_in_tasks_on_real_data(shared_data):
    sizes = {
        "gue_tf0": (32378, 999, 1000),  # 1 dev sequence also in train is removed
        "oct4_vs_mafk": (7017, 780, 200),
        "ctcf_vs_shuffled": (800, 100, 100),
        "uci_splice": (2403, 300, 301),  # 184 repeats and 2 conflicting sequences left out of the pool
    }
    for name, expected in sizes.items():
        task = load_task(name, shared_data)
        assert tuple(len(task.splits[s]) for s in ("train", "validation", "test")) == expected
    dnabert = read_sequence_table(shared_data / "dnabert_sample" / "dev.tsv", sequence_length=101)
    assert len(dnabert) == 1000
    with pytest.raises(ValueError, match="unknown task"):
        load_task("nope", shared_data)


def test_splits_share_no_sequence_and_conflicts_are_reported():
    from genebert.genomics.tables import deduplicate_pool, deduplicate_splits

    splits = {
        "train": [{"id": "a", "sequence": "ACGT", "label": 1}, {"id": "b", "sequence": "TTTT", "label": 0}],
        "validation": [{"id": "c", "sequence": "ACGT", "label": 1}, {"id": "d", "sequence": "GGGG", "label": 0}],
        "test": [{"id": "e", "sequence": "TTTT", "label": 1}, {"id": "f", "sequence": "GGGG", "label": 0},
                 {"id": "g", "sequence": "CCCC", "label": 0}],
    }  # fmt: skip
    cleaned, report = deduplicate_splits(splits)
    assert [r["id"] for r in cleaned["validation"]] == ["d"]
    assert [r["id"] for r in cleaned["test"]] == ["g"]
    assert report == {"removed": {"train": 0, "validation": 1, "test": 2}, "conflicting_labels": 1}
    pool = [*splits["train"], *splits["test"], {"id": "h", "sequence": "ACGT", "label": 1}]
    kept, pooled = deduplicate_pool(pool)
    assert [r["id"] for r in kept] == ["a", "f", "g"]  # TTTT has labels 0 and 1: left out
    assert pooled == {"repeats_removed": 1, "conflicting_sequences": ["b", "e"]}


@pytest.mark.shared_data
def test_built_in_tasks_share_no_sequence_between_splits(shared_data):
    from genebert.genomics.tasks import TASKS

    for name in TASKS:
        task = load_task(name, shared_data)
        seen: set[str] = set()
        for split in ("train", "validation", "test"):
            sequences = {r["sequence"] for r in task.splits[split]}
            assert not sequences & seen, (name, split)
            seen |= sequences
        if name == "uci_splice":
            assert task.notes["pool"]["conflicting_sequences"]  # UCI has a sequence with two labels
