"""From a corpus to model inputs: masking and collation."""

from .collator import DataCollatorForGenomeModeling, RegionStore
from .masking import mask_regions

__all__ = ["DataCollatorForGenomeModeling", "RegionStore", "mask_regions"]
