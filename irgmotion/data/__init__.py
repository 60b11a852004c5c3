"""Datasets in HumanML3D layout, caption lines, the procedural corpus."""
from ..lazy_exports import lazy_exports

# Loaded on first use: importing a submodule (e.g. the corpus's action vocabulary) does not load the dataset code.
__getattr__, __all__ = lazy_exports(__name__, {
    "Clip": "humanml3d", "DatasetError": "humanml3d", "MotionTextDataset": "humanml3d", "collate": "humanml3d",
    "read_split": "humanml3d", "TextEntry": "texts", "parse_text_line": "texts", "read_text_file": "texts",
})
