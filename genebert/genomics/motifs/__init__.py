"""Transcription-factor motifs: loading position frequency matrices and scanning DNA for best hits.

The paper's region features (section 3.1) are, for every accessible region, the best log-odds score of
each of the 579 JASPAR 2018 CORE vertebrate motifs over the whole region, both strands. This module
provides the two halves:

* :func:`load_motifs` reads matrices from pyjaspar (``"JASPAR2018"``) or from a JASPAR, MEME or plain
  PFM file and turns them into log-odds PWMs (:class:`MotifSet`);
* :func:`scan_max` returns the ``(n_sequences, n_motifs)`` matrix of best scores. The CPU path is a
  numba kernel built on per-motif lookup tables; a torch path (``conv1d``) runs on GPUs unchanged.
  :func:`scan_max_reference` is the float64 brute force both are tested against.

PWM math (see docs/motifs.md): ``pwm[p, b] = log2(((n[p, b] + s * q[b]) / (N[p] + s)) / q[b])`` with
``n`` the counts, ``N[p]`` the total of position ``p``, ``s`` the pseudocount (0.8 by default, split by
the background ``q``; TFBSTools ``toPWM`` and chromVAR/motifmatchr use the same rule, MOODS'
``tools.log_odds`` splits its ``ps`` the same way) and scores in bits (log2, as Biopython's
``log_odds``). Columns are always A, C, G, T.

Ambiguous bases (N and the IUPAC codes) score, at each motif position, the minimum of the log-odds of
the bases they stand for, so a window containing them is a lower bound of every real sequence it could
be and never outscores a real hit. A sequence shorter than a motif scores the motif's minimum possible
score (the score of an all-N window), which is finite.
"""

from .motif_set import MotifSet, base_composition, load_motifs, pfm_to_pwm
from .scanners import scan_max, scan_max_reference

__all__ = [
    "MotifSet", "base_composition", "load_motifs", "pfm_to_pwm", "scan_max", "scan_max_reference"
]  # fmt: skip
