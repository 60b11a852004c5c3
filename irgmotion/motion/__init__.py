"""Motion representation: skeletons, rotations, HumanML3D/KIT features, quality metrics, rendering, export."""
from .features import features_to_joints, joints_to_features, uniform_skeleton
from .io import Motion, MotionFileError, detect_kind, load_motion, validate_motion
from .normalize import Normalizer
from .quality import bone_length_variation, foot_skating, ground_penetration, jitter, quality_report
from .skeleton import HUMANML3D, KIT, SkeletonSpec, get_skeleton

__all__ = [
    "features_to_joints", "joints_to_features", "uniform_skeleton", "Motion", "MotionFileError",
    "detect_kind", "load_motion", "validate_motion", "Normalizer", "bone_length_variation",
    "foot_skating", "ground_penetration", "jitter", "quality_report", "HUMANML3D", "KIT",
    "SkeletonSpec", "get_skeleton",
]
