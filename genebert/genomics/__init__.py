"""The data side of GeneBERT: reading genomes, regions and motifs, and building corpora.

Nothing here is imported by the three Hub remote-code files (configuration, modeling, tokenization).
"""
