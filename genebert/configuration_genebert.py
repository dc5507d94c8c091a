"""GeneBERT model configuration.

Hub remote code: this file imports only transformers (and, through the modeling file, torch and timm),
never ``genebert.*``, so it works when copied into a model repository.
"""

from __future__ import annotations

from transformers import PretrainedConfig

_SPECIAL_TOKEN_COUNT = 5  # [PAD] [UNK] [CLS] [SEP] [MASK]


def kmer_vocab_size(kmer: int) -> int:
    """Size of DNABERT's k-mer vocabulary: the five special tokens then every k-mer over ATCG."""
    return 4**kmer + _SPECIAL_TOKEN_COUNT


class GeneBertConfig(PretrainedConfig):
    r"""Configuration of a GeneBERT model: a BERT over overlapping DNA k-mers.

    Args:
        kmer (`int`, defaults to 6): k of the overlapping k-mer tokens (3..6). Sets `vocab_size` to 4**k + 5
            unless `vocab_size` is given explicitly.
        vocab_size (`int`, *optional*): size of the token vocabulary; must equal 4**kmer + 5.
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, hidden_act, hidden_dropout_prob,
        attention_probs_dropout_prob, max_position_embeddings, type_vocab_size, initializer_range,
        layer_norm_eps: as in [`BertConfig`].
    """

    model_type = "genebert"

    def __init__(
        self,
        kmer: int = 6,
        vocab_size: int | None = None,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int = 0,
        **kwargs,
    ):
        if not 3 <= kmer <= 6:
            raise ValueError(f"kmer must be between 3 and 6, got {kmer}")
        expected_vocab = kmer_vocab_size(kmer)
        if vocab_size is None:
            vocab_size = expected_vocab
        elif vocab_size != expected_vocab:
            raise ValueError(
                f"vocab_size {vocab_size} does not match kmer={kmer} (expected {expected_vocab})"
            )
        self.kmer = kmer
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        super().__init__(pad_token_id=pad_token_id, **kwargs)


__all__ = ["GeneBertConfig", "kmer_vocab_size"]
