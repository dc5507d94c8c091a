"""A synthetic pre-training data set with planted, cell-type-specific motifs.

Real demo data is small (a few hundred peaks), too small to show that pre-training learns. This module writes a
data set of known structure, so that learning can be measured against honest baselines:

* a random genome (uniform bases) of several chromosomes;
* ``n_cell_types`` cell types, each with its own ``motifs_per_cell_type`` JASPAR motifs;
* accessible regions per cell type, consecutive along the chromosomes, each carrying ``instances_per_region``
  instances of its cell type's motifs sampled from their position frequency matrices: one at the centre (so
  the sequence window the model reads contains it) and the rest elsewhere in the region.

Consequences the benchmark relies on: masked bases inside a planted instance are predictable from the motif
(MGM can beat copying neighbours); consecutive regions share a cell type while a random segment usually does not
(NGSP is learnable); the motif vector of a region reflects the motifs in its sequence (SRM is learnable).

What MGM can gain over the neighbour-copy baseline here. Background bases are uniform, so a hidden background
base is unpredictable: there the best model only matches the baseline (~25 % with k=3 and DNABERT's one-base
spans). Gains come from (i) hidden bases inside a planted instance (the 12 default motifs, 8-16 bp, have a mean
per-base maximum probability of 0.74; a 12 bp window centred on the centre instance is almost all motif, a 25 bp
one about half), and (ii) the 10 % of masked spans that the 80/10/10 rule keeps (their true k-mer is shown; the
baseline still fills their hidden bases). An oracle knowing each instance's motif, strand and offset would reach
~0.5 (25 bp windows) to ~0.7 (12 bp) masked-k-mer accuracy against ~0.25; copying plus the kept spans alone give
~0.33. The hard part for a small model is learning to copy the visible bases of a masked k-mer from its
neighbours with learned absolute positions: it takes ~1,000 steps even on short inputs, and shorter windows
(``region_window_bp``) make the inputs shorter and this easier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .motifs import MotifSet

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")


@dataclass(frozen=True)
class SyntheticSpec:
    n_cell_types: int = 3
    regions_per_cell_type: int = 600
    region_bp: int = 300
    gap_bp: int = 200
    chromosomes: int = 4
    motifs_per_cell_type: int = 4
    instances_per_region: int = 3  # the first at the centre (inside the window), the rest anywhere
    seed: int = 0


def _sample_instance(pfm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One site drawn from a (L, 4) frequency matrix (A, C, G, T columns), as ASCII codes."""
    probabilities = pfm / pfm.sum(1, keepdims=True)
    draws = rng.random(len(probabilities))[:, None] > np.cumsum(probabilities, 1)
    return _BASES[np.minimum(draws.sum(1), 3)]


def write_planted_dataset(
    out_dir: str | Path, motifs: MotifSet, spec: SyntheticSpec = SyntheticSpec()
) -> dict:
    """Write ``genome.fa``, one ``<cell type>.bed`` per cell type and ``truth.json`` into ``out_dir``.

    Args:
        motifs: the motif collection to plant from (e.g. JASPAR 2018); PWMs are turned back into frequencies.
        spec: sizes and seed.

    Returns:
        ``{"genome": path, "peaks": {cell type: path}, "planted": {cell type: [motif names]}}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    total_motifs = spec.n_cell_types * spec.motifs_per_cell_type
    if total_motifs > len(motifs):
        raise ValueError(f"need {total_motifs} motifs, the set has {len(motifs)}")
    # motifs short enough to plant several per region, chosen deterministically
    lengths = np.array([len(p) for p in motifs.pwms])
    candidates = np.flatnonzero((lengths >= 8) & (lengths <= 16))
    chosen = rng.choice(candidates, size=total_motifs, replace=False)
    # the motifs' frequency matrices, or (PWMs given directly) back from log2-odds: p proportional to b * 2**score
    if motifs.pfms is not None:
        frequencies = [np.asarray(motifs.pfms[i], dtype=np.float64) + 1e-3 for i in chosen]
    else:
        frequencies = [np.exp2(np.asarray(motifs.pwms[i], dtype=np.float64)) for i in chosen]
    cell_types = [f"celltype{c}" for c in range(spec.n_cell_types)]
    planted = {
        name: [
            motifs.names[int(i)]
            for i in chosen[c * spec.motifs_per_cell_type : (c + 1) * spec.motifs_per_cell_type]
        ]
        for c, name in enumerate(cell_types)
    }

    # regions: blocks of consecutive regions of one cell type, interleaved along the chromosomes
    n_regions = spec.n_cell_types * spec.regions_per_cell_type
    per_chrom = -(-n_regions // spec.chromosomes)
    chrom_bp = per_chrom * (spec.region_bp + spec.gap_bp) + spec.gap_bp
    block = 20  # consecutive regions of a cell type: two samples' worth
    owners = np.repeat(np.arange(spec.n_cell_types), spec.regions_per_cell_type)
    blocks = owners.reshape(-1, block) if len(owners) % block == 0 else owners[None, :]
    owners = blocks[rng.permutation(len(blocks))].reshape(-1)

    genome_path = out / "genome.fa"
    peaks: dict[str, list[str]] = {name: [] for name in cell_types}
    with open(genome_path, "wb") as handle:
        index = 0
        for chrom in range(spec.chromosomes):
            name = f"chr{chrom + 1}"
            sequence = _BASES[rng.integers(0, 4, chrom_bp)]
            for slot in range(per_chrom):
                if index >= n_regions:
                    break
                start = spec.gap_bp + slot * (spec.region_bp + spec.gap_bp)
                owner = int(owners[index])
                own = chosen[owner * spec.motifs_per_cell_type : (owner + 1) * spec.motifs_per_cell_type]
                centre = start + spec.region_bp // 2
                for instance in range(spec.instances_per_region):
                    motif = int(rng.integers(0, len(own)))
                    site = _sample_instance(frequencies[owner * spec.motifs_per_cell_type + motif], rng)
                    if rng.random() < 0.5:  # either strand: the reverse complement
                        site = np.frombuffer(site.tobytes().translate(_COMPLEMENT)[::-1], dtype=np.uint8)
                    if instance == 0:
                        position = centre - len(site) // 2
                    else:
                        position = start + int(rng.integers(0, spec.region_bp - len(site)))
                    sequence[position : position + len(site)] = site
                peaks[cell_types[owner]].append(f"{name}\t{start}\t{start + spec.region_bp}")
                index += 1
            lines = [sequence[i : i + 60].tobytes() for i in range(0, len(sequence), 60)]
            handle.write(f">{name}\n".encode() + b"\n".join(lines) + b"\n")
    peak_paths = {}
    for name, lines in peaks.items():
        path = out / f"{name}.bed"
        path.write_text("\n".join(lines) + "\n")
        peak_paths[name] = str(path)
    truth = {"genome": str(genome_path), "peaks": peak_paths, "planted": planted, "spec": spec.__dict__}
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth
