"""Real motion capture as HumanML3D motion: BVH of any rig -> (T, 22, 3) joints and (T, 263) features.

    clip = read_bvh(path)                      # hierarchy, channels, motion block
    positions = forward_kinematics(clip)       # (T, J, 3) world positions, file units
    clip = import_bvh_clip(path, rig="auto")   # ImportedClip: joints, features, rig, source fps

Steps, in order:
1. Forward kinematics of the whole rig (any channel order; joints with or without position channels).
2. Joint mapping by name onto the 22 HumanML3D joints: a built-in map per rig (RIG_MAPS) or a YAML
   file `target: source`. Names are compared lower-case, without namespaces ("mixamorig:") and
   without "_", "-", " ". Missing spine1/spine2/spine3 are placed along the pelvis..neck chain and
   missing collars between spine3 and the shoulder, at HumanML3D's own bone-length proportions
   (so a rig with one spine joint gets a straight spine). A mapped joint sitting on its HumanML3D
   parent (CMU's zero-length LeftShoulder) counts as missing too.
3. Up axis to +Y (auto: the axis from the feet to the head; a rotation, so left stays left), and a
   mirrored (left-handed) file is mirrored back: over the clip, the left hip must lie to the left of
   the feet's forward direction (ankle -> toe).
4. Resampled to 20 fps by linear interpolation of positions.
5. Retargeted with `uniform_skeleton`: every bone keeps its source direction and gets HumanML3D's
   length; the root path is scaled by the lower-leg ratio, so units (cm, m, inches) need no flag.
6. The dataset's normalisation (`normalise_joints`: lowest joint of the clip at y=0, first root at
   the XZ origin, first frame facing +Z) and `joints_to_features`.

Every problem with an input file raises BVHImportError with one line naming the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..motion.skeleton import HUMANML3D
from ..motion.timing import resample

TARGET_FPS = HUMANML3D.fps
J = HUMANML3D.joint_names


class BVHImportError(ValueError):
    """A BVH file that cannot be imported; the message is one line naming the file."""


# Built-in rigs: HumanML3D joint -> source joint name. Targets left out are placed by interpolation.
def _sides(left: dict[str, str], right_of=lambda s: s) -> dict[str, str]:
    out = {}
    for target, source in left.items():
        out[target] = source
        if target.startswith("left_"):
            out["right_" + target[5:]] = right_of(source)
    return out


RIG_MAPS: dict[str, dict[str, str]] = {
    # Bandai-Namco dataset 2: Hips-Spine-Chest-Neck-Head; its Shoulder_* joints are the collars. Chest sits
    # at 60% of the hips-neck distance, as SMPL's spine3 does; spine2 is placed between Spine and Chest.
    "bandai": _sides({"pelvis": "Hips", "spine1": "Spine", "spine3": "Chest", "neck": "Neck", "head": "Head",
                      "left_hip": "UpperLeg_L", "left_knee": "LowerLeg_L", "left_ankle": "Foot_L",
                      "left_foot": "Toes_L", "left_collar": "Shoulder_L", "left_shoulder": "UpperArm_L",
                      "left_elbow": "LowerArm_L", "left_wrist": "Hand_L"}, lambda s: s[:-2] + "_R"),
    # CMU (cgspeed conversion): LeftShoulder and Neck sit on Spine1 (zero offsets), so collars are
    # interpolated and the neck is Neck1.
    "cmu": _sides({"pelvis": "Hips", "spine1": "Spine", "spine3": "Spine1", "neck": "Neck1", "head": "Head",
                   "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
                   "left_foot": "LeftToeBase", "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm",
                   "left_wrist": "LeftHand"}, lambda s: s.replace("Left", "Right")),
    "mixamo": _sides({"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
                      "head": "Head", "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
                      "left_foot": "LeftToeBase", "left_collar": "LeftShoulder", "left_shoulder": "LeftArm",
                      "left_elbow": "LeftForeArm", "left_wrist": "LeftHand"}, lambda s: s.replace("Left", "Right")),
    "smpl": {name: name for name in J},
}
# SMPL files often write "L_Hip" / "Pelvis": accepted as aliases of the HumanML3D names.
_SMPL_ALIASES = {n: ("l_" + n[5:] if n.startswith("left_") else "r_" + n[6:] if n.startswith("right_") else n)
                 for n in J}

# Targets a rig may lack; `_fill_missing` places them.
_SPINE = ("pelvis", "spine1", "spine2", "spine3", "neck")
_INTERPOLATED = {"spine1", "spine2", "spine3", "left_collar", "right_collar"}


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


# --------------------------------------------------------------------------- reading

@dataclass
class BVHClip:
    """A parsed BVH: joints in file order (parents before children), channels, motion (T, C)."""

    path: Path
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3)
    channels: list[list[str]]
    motion: np.ndarray  # (T, sum of channel counts)
    frame_time: float

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time


_CHANNELS = {"Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation"}


def read_bvh(path: str | Path) -> BVHClip:
    """Parse a BVH file. The hierarchy is read by bvhio; the MOTION block by numpy here, because bvhio
    loops forever on a file that ends early, does not check the number of values per frame, and builds one
    Python object per joint and frame (slow for thousands of clips)."""
    import bvhio

    path = Path(path)
    if not path.is_file():
        raise BVHImportError(f"{path}: no such file; expected a .bvh file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BVHImportError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    lines = text.splitlines()
    header_end = _motion_header(path, lines)  # index of the first frame line
    try:  # safe now: the header is complete, so bvhio meets MOTION/Frames/Frame Time before the end
        bvh = bvhio.readAsBvh(str(path), loadKeyFrames=False)
    except SyntaxError as exc:
        # (bvhio's line numbers restart in every joint, so they are left out)
        raise BVHImportError(f"{path}: HIERARCHY block: {exc.msg}") from None
    except (IndexError, ValueError) as exc:
        raise BVHImportError(f"{path}: malformed HIERARCHY block ({exc})") from None

    names, parents, offsets, channels = [], [], [], []

    def walk(joint, parent: int) -> None:
        index = len(names)
        names.append(joint.Name)
        parents.append(parent)
        offsets.append(tuple(joint.Offset))
        bad = [c for c in joint.Channels if c not in _CHANNELS]
        if bad:
            raise BVHImportError(f"{path}: joint {joint.Name} has unknown channel {bad[0]!r}; expected "
                                 "X/Y/Z position and rotation channels")
        channels.append(list(joint.Channels))
        for child in joint.Children:
            walk(child, index)

    walk(bvh.Root, -1)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise BVHImportError(f"{path}: joint name {dup!r} appears twice; expected unique joint names")
    width = sum(len(c) for c in channels)
    n_frames = int(bvh.FrameCount)
    if n_frames < 1:
        raise BVHImportError(f"{path}: MOTION block has Frames: {n_frames}; expected at least 1 frame")
    if not (bvh.FrameTime > 0 and np.isfinite(bvh.FrameTime)):
        raise BVHImportError(f"{path}: Frame Time {bvh.FrameTime}; expected a positive number of seconds")
    rows = [line.split() for line in lines[header_end:] if line.strip()]
    if len(rows) < n_frames:
        raise BVHImportError(f"{path}: MOTION block ends after {len(rows)} frame line(s); the header says "
                             f"Frames: {n_frames} (truncated file?)")
    if len(rows) > n_frames:
        raise BVHImportError(f"{path}: MOTION block has {len(rows)} frame lines; the header says Frames: {n_frames}")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise BVHImportError(f"{path}: frame {i + 1} has {len(row)} values; expected {width} "
                                 f"(the CHANNELS of {len(names)} joints)")
    try:
        motion = np.array(rows, dtype=np.float64).reshape(n_frames, width)
    except ValueError:
        raise BVHImportError(f"{path}: MOTION block holds a value that is not a number") from None
    if not np.isfinite(motion).all():
        frame = int(np.argmax(~np.isfinite(motion).all(axis=1)))
        raise BVHImportError(f"{path}: frame {frame + 1} holds NaN or inf; expected finite numbers")
    return BVHClip(path, names, parents, np.array(offsets, dtype=np.float64), channels, motion,
                   float(bvh.FrameTime))


def _motion_header(path: Path, lines: list[str]) -> int:
    """Index of the first frame line; checks HIERARCHY, MOTION, Frames and Frame Time are there."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first != "HIERARCHY":
        raise BVHImportError(f"{path}: starts with {first[:40]!r}; expected a BVH file starting with HIERARCHY")
    try:
        m = next(i for i, line in enumerate(lines) if line.strip() == "MOTION")
    except StopIteration:
        raise BVHImportError(f"{path}: no MOTION line; expected HIERARCHY, then MOTION, Frames and Frame Time "
                             "(truncated file?)") from None
    rest = [(i, line.split()) for i, line in enumerate(lines[m + 1:], m + 1) if line.strip()]
    if len(rest) < 2 or rest[0][1][:1] != ["Frames:"] or rest[1][1][:2] != ["Frame", "Time:"]:
        raise BVHImportError(f"{path}: MOTION must be followed by 'Frames: N' and 'Frame Time: S' lines "
                             "(truncated file?)")
    if len(rest[0][1]) != 2 or not rest[0][1][1].isdigit():
        raise BVHImportError(f"{path}: 'Frames:' must give a whole number, got {' '.join(rest[0][1][1:])!r}")
    return rest[1][0] + 1


# --------------------------------------------------------------------------- kinematics

def forward_kinematics(clip: BVHClip) -> np.ndarray:
    """World positions (T, J, 3) in file units.

    Rotation channels compose in the order listed (intrinsic: "Zrotation Xrotation Yrotation" is
    Rz @ Rx @ Ry). Position channels replace the OFFSET (bvhio's reading, and what the Bandai files
    hold: their per-joint positions equal the offsets).
    """
    from scipy.spatial.transform import Rotation

    T = len(clip.motion)
    n = len(clip.names)
    local_t = np.broadcast_to(clip.offsets, (T, n, 3)).copy()
    local_r = np.broadcast_to(np.eye(3), (T, n, 3, 3)).copy()
    groups: dict[str, tuple[list[int], list[np.ndarray]]] = {}  # rotation order -> joints, angles
    col = 0
    for j, chans in enumerate(clip.channels):
        values = clip.motion[:, col:col + len(chans)]
        col += len(chans)
        axes = "".join(c[0] for c in chans if c.endswith("rotation"))
        for k, c in enumerate(chans):
            if c.endswith("position"):
                local_t[:, j, "XYZ".index(c[0])] = values[:, k]
        if axes:
            rot_cols = [k for k, c in enumerate(chans) if c.endswith("rotation")]
            groups.setdefault(axes, ([], []))[0].append(j)
            groups[axes][1].append(values[:, rot_cols])
    for axes, (joints, angles) in groups.items():  # one scipy call per rotation order
        mats = Rotation.from_euler(axes, np.concatenate(angles), degrees=True).as_matrix()
        local_r[:, joints] = mats.reshape(len(joints), T, 3, 3).transpose(1, 0, 2, 3)
    glob_r = np.empty_like(local_r)
    pos = np.empty((T, n, 3))
    for j, p in enumerate(clip.parents):  # parents come before children in file order
        if p < 0:
            glob_r[:, j], pos[:, j] = local_r[:, j], local_t[:, j]
        else:
            glob_r[:, j] = glob_r[:, p] @ local_r[:, j]
            pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", glob_r[:, p], local_t[:, j])
    return pos


# --------------------------------------------------------------------------- joint mapping

def load_rig_map(path: str | Path) -> dict[str, str]:
    """A YAML file `humanml3d_joint: source_joint` (targets left out are interpolated where possible)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BVHImportError(f"--rig {path}: no such rig map; expected auto, {', '.join(RIG_MAPS)} or a YAML file "
                             "'humanml3d_joint: source_joint'")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BVHImportError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data:
        raise BVHImportError(f"{path}: expected a mapping 'humanml3d_joint: source_joint', got {type(data).__name__}")
    for target, source in data.items():
        if target not in J:
            raise BVHImportError(f"{path}: {target!r} is not a HumanML3D joint; expected one of {', '.join(J)}")
        if not isinstance(source, str) or not source.strip():
            raise BVHImportError(f"{path}: {target}: expected a source joint name, got {source!r}")
    return {str(k): str(v) for k, v in data.items()}


def _lookup(names: list[str]) -> dict[str, int]:
    return {normalise_name(n): i for i, n in enumerate(names)}


def _find(rig_map: dict[str, str], names: list[str], rig: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Target -> source index for the names found, and the (target, source) pairs not found."""
    index = _lookup(names)
    found, missing = {}, []
    for target, source in rig_map.items():
        key = normalise_name(source)
        if key not in index and rig == "smpl":
            key = normalise_name(_SMPL_ALIASES[target])
        if key in index:
            found[target] = index[key]
        else:
            missing.append((target, source))
    return found, missing


def detect_rig(names: list[str]) -> str | None:
    """The first built-in rig whose every mapped joint name occurs in `names` (CMU and Mixamo share
    most names; CMU's Neck1 and Mixamo's Spine2 tell them apart)."""
    for rig, rig_map in RIG_MAPS.items():
        if not _find(rig_map, names, rig)[1]:
            return rig
    return None


def map_joints(positions: np.ndarray, names: list[str], rig: str | dict[str, str] = "auto",
               where: str = "") -> tuple[np.ndarray, str]:
    """(T, J_src, 3) -> (T, 22, 3) HumanML3D joints, and the rig name used."""
    if isinstance(rig, dict):
        rig_name, rig_map = "map", rig
    elif rig == "auto":
        rig_name = detect_rig(names)
        if rig_name is None:
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise BVHImportError(f"{where}: joint names match no built-in rig ({', '.join(RIG_MAPS)}): found {shown}; "
                                 "pass --rig MAP.yaml mapping HumanML3D joints to these names")
        rig_map = RIG_MAPS[rig_name]
    elif rig in RIG_MAPS:
        rig_name, rig_map = rig, RIG_MAPS[rig]
    else:
        raise BVHImportError(f"unknown rig {rig!r}; expected auto, {', '.join(RIG_MAPS)} or a YAML map")
    found, missing = _find(rig_map, names, rig_name)
    if missing:
        target, source = missing[0]
        raise BVHImportError(f"{where}: rig {rig_name}: no joint named {source!r} (for {target}); "
                             f"the file has {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}")
    T = len(positions)
    out = np.full((T, len(J), 3), np.nan)
    for target, i in found.items():
        out[:, J.index(target)] = positions[:, i]
    # A mapped joint on top of its HumanML3D parent carries no direction: place it like a missing one.
    size = np.ptp(positions[0], axis=0).max() + 1e-12
    for c, p in enumerate(HUMANML3D.parents):
        if p >= 0 and J[c] in _INTERPOLATED and np.linalg.norm(out[0, c] - out[0, p]) < 1e-4 * size:
            out[:, c] = np.nan  # (a NaN distance, from an unmapped parent, compares False)
    _fill_missing(out, where, rig_name)
    return out, rig_name


def _fill_missing(out: np.ndarray, where: str, rig_name: str) -> None:
    missing = [J[i] for i in range(len(J)) if not np.isfinite(out[0, i]).all()]
    required = [m for m in missing if m not in _INTERPOLATED]
    if required:
        raise BVHImportError(f"{where}: rig {rig_name} maps no source joint to {', '.join(required)}; "
                             "add them to the --rig MAP.yaml")
    lengths = HUMANML3D.bone_lengths
    # Spine: each missing joint goes between its nearest mapped neighbours on pelvis..neck, at the
    # distance fraction HumanML3D's bone lengths give.
    idx = [J.index(n) for n in _SPINE]
    for k in range(1, len(idx) - 1):
        if np.isfinite(out[0, idx[k]]).all():
            continue
        lo = max(i for i in range(k) if np.isfinite(out[0, idx[i]]).all())
        hi = min(i for i in range(k + 1, len(idx)) if np.isfinite(out[0, idx[i]]).all())
        span = lengths[idx[lo + 1:hi + 1]].sum()
        w = lengths[idx[lo + 1:k + 1]].sum() / span
        out[:, idx[k]] = (1 - w) * out[:, idx[lo]] + w * out[:, idx[hi]]
    for side in ("left", "right"):  # collar: between spine3 and the shoulder
        c, s = J.index(f"{side}_collar"), J.index(f"{side}_shoulder")
        if not np.isfinite(out[0, c]).all():
            w = lengths[c] / (lengths[c] + lengths[s])
            out[:, c] = (1 - w) * out[:, J.index("spine3")] + w * out[:, s]


# --------------------------------------------------------------------------- axes and time

_AXES = np.eye(3)


def to_y_up(joints: np.ndarray, up: str = "auto") -> np.ndarray:
    """Rotate so the body's up axis is +Y; `up` is auto, y or z (a leading '-' for a downward axis)."""
    if up == "auto":
        feet = joints[:, [J.index("left_ankle"), J.index("right_ankle")]].mean(axis=1)
        body = np.median(joints[:, J.index("head")] - feet, axis=0)
        k = int(np.argmax(np.abs(body)))
        u = _AXES[k] * np.sign(body[k])
    else:
        sign = -1.0 if up.startswith("-") else 1.0
        u = _AXES["xyz".index(up.lstrip("+-").lower())] * sign
    y = np.array([0.0, 1.0, 0.0])
    if np.allclose(u, y):
        return joints
    if np.allclose(u, -y):
        rot = np.diag([1.0, -1.0, -1.0])  # half turn about X
    else:  # quarter turn about the axis u x y
        axis = np.cross(u, y)
        rot = np.outer(y, u) - np.outer(u, y) + np.outer(axis, axis)
    return joints @ rot.T


def fix_handedness(joints: np.ndarray) -> tuple[np.ndarray, bool]:
    """Mirror X when the file is left-handed (its left joints lie on the body's right).

    In a right-handed Y-up frame, up x forward points to the body's left; forward is each foot's
    ankle -> toe vector. Summed over the clip, so frames with a flat foot (a long horizontal foot
    vector) weigh most: a per-frame vote fails in running, where the foot points down. All 560
    Bandai clips give a clear positive sum.
    """
    left = joints[:, J.index("left_hip")] - joints[:, J.index("right_hip")]
    evidence = 0.0
    for ankle, toe in (("left_ankle", "left_foot"), ("right_ankle", "right_foot")):
        foot = joints[:, J.index(toe)] - joints[:, J.index(ankle)]
        evidence += float(np.einsum("ti,ti->", np.cross(np.array([0.0, 1.0, 0.0]), foot), left))
    if evidence >= 0:
        return joints, False
    return joints * np.array([-1.0, 1.0, 1.0]), True


# --------------------------------------------------------------------------- one clip

@dataclass
class ImportedClip:
    id: str
    joints: np.ndarray  # (T, 22, 3) float32: normalised HumanML3D joints, one row per feature row
    features: np.ndarray  # (T, 263) float32
    rig: str
    source_fps: float
    mirrored: bool


def import_bvh_clip(path: str | Path, rig: str | dict[str, str] = "auto", up: str = "auto") -> ImportedClip:
    """Read, map, retarget and encode one BVH file (see the module docstring for the steps)."""
    from ..motion.features import joints_to_features, uniform_skeleton
    from .synth.corpus import normalise_joints

    clip = read_bvh(path)
    where = str(clip.path)
    joints, rig_name = map_joints(forward_kinematics(clip), clip.names, rig, where)
    joints, mirrored = fix_handedness(to_y_up(joints, up))
    joints = resample(joints, clip.fps, TARGET_FPS)
    if len(joints) < 3:
        raise BVHImportError(f"{where}: {len(clip.motion)} frame(s) at {clip.fps:g} fps give {len(joints)} frame(s) "
                             f"at {TARGET_FPS:g} fps; expected at least 3 (0.15 s)")
    parents = HUMANML3D.parents
    bones = np.linalg.norm(joints[:, 1:] - joints[:, [parents[i] for i in range(1, len(J))]], axis=-1)
    if (bones < 1e-9).any():
        b = int(np.argmax((bones < 1e-9).any(axis=0))) + 1
        raise BVHImportError(f"{where}: mapped joints {J[parents[b]]} and {J[b]} coincide; expected a bone between "
                             "them (check the rig map)")
    joints = uniform_skeleton(joints)  # HumanML3D bone lengths, source directions; metres from here on
    features = joints_to_features(joints)
    normalised = normalise_joints(joints)[:-1]
    return ImportedClip(clip.path.stem, normalised.astype(np.float32), features.astype(np.float32),
                        rig_name, clip.fps, mirrored)
