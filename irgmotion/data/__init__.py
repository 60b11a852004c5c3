"""Datasets in HumanML3D layout, caption lines, the procedural corpus."""
from .humanml3d import Clip, DatasetError, MotionTextDataset, collate, read_split
from .texts import TextEntry, parse_text_line, read_text_file

__all__ = ["Clip", "DatasetError", "MotionTextDataset", "collate", "read_split", "TextEntry",
           "parse_text_line", "read_text_file"]
