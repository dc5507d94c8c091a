"""From a corpus to model inputs: masking and collation."""

from .collator import REGION_PAIRINGS, DataCollatorForGenomeModeling, RegionStore, permuted_pairing
from .masking import mask_regions

__all__ = [
    "REGION_PAIRINGS",
    "DataCollatorForGenomeModeling",
    "RegionStore",
    "mask_regions",
    "permuted_pairing",
]
