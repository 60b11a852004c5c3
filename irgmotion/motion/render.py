"""Stick-figure rendering of joint sequences (T, J, 3), metres, Y up.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot, so no
global backend switch and no figure registry to leak into). Motion
coordinates (x, y, z) are shown as plot (x, -z, y): Y becomes the vertical
axis, and the mapping is a proper rotation, so left and right are not mirrored.
The camera follows the root horizontally; the ground grid scrolls under the
figure, and the root trajectory is drawn on the ground.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mpl_toolkits.mplot3d.art3d import Line3DCollection

from ..fileio import atomic_path
from .skeleton import SkeletonSpec, skeleton_for_dim

_DPI = 80
_PANEL_INCHES = (3.0, 3.2)  # 240 x 256 px per motion: even sizes, as H.264 needs
_GRID_STEP = 0.5  # metres between ground grid lines (wider when the scene is large)
_MAX_GRID_LINES = 24  # per direction: the spacing grows with the scene, the line count does not
_ELEV, _AZIM = 20.0, -60.0  # HumanML3D clips start facing +z: this looks at the front-left

# Bones of the subject's left side blue, right side red, centre grey, so a
# left/right swap is visible at a glance.
_PALETTE = {1: ("#1f5fa8", "#5aa7e0"), -1: ("#b22222", "#f08060"), 0: ("#333333", "#777777")}


def chain_colours(skeleton: SkeletonSpec, chains=None) -> list[str]:
    """One colour per kinematic chain: the subject's left side blue, right side red, centre grey (two shades each,
    alternating), as every picture of a motion in this package draws it (the web studio too)."""
    colours, used = [], {1: 0, -1: 0, 0: 0}
    for chain in skeleton.kinematic_chains if chains is None else chains:
        side = int(np.sign(skeleton.raw_offsets[list(chain[1:]), 0].sum()))
        colours.append(_PALETTE[side][used[side] % 2])
        used[side] += 1
    return colours


def mp4_available() -> bool:
    """Whether .mp4 can be written here (ffmpeg from the imageio-ffmpeg package)."""
    try:
        import imageio_ffmpeg
        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # ImportError, or no ffmpeg binary for this platform
        return False
    return True


def render_motions(
    motions: list[np.ndarray],
    out_path: str | os.PathLike,
    titles: list[str] | None = None,
    fps: float = 20,
    skeleton: SkeletonSpec | None = None,
    suptitle: str | None = None,
) -> Path:
    """Animate motions side by side and write a .gif or .mp4 at `out_path`.

    Motions may differ in length; shorter ones hold their last frame. The
    skeleton is inferred from the joint count (22: HumanML3D, 21: KIT) unless
    given. Returns the written path.
    """
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"unsupported output {out.name!r}: use .gif or .mp4")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    motions, skeleton = _check_motions(motions, skeleton)
    titles = _check_titles(titles, len(motions))
    writer = _GifWriter(fps) if suffix == ".gif" else _mp4_writer(fps)

    w, h = _PANEL_INCHES
    fig = Figure(figsize=(w * len(motions), h + (0.3 if suptitle else 0.0)), dpi=_DPI)
    FigureCanvasAgg(fig)
    top = 1.0 - 0.35 / fig.get_figheight() if suptitle else 1.0
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=top, wspace=0.0)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    extent = _scene_extent(motions)
    scenes = []
    for i, (motion, title) in enumerate(zip(motions, titles)):
        ax = fig.add_subplot(1, len(motions), i + 1, projection="3d")
        scenes.append(_Scene(ax, motion, skeleton, extent))
        if title:
            ax.set_title(title, fontsize=9, pad=0)
    n_frames = max(len(m) for m in motions)
    # The counter also makes every frame distinct, so Pillow never merges
    # frames and the GIF keeps exactly one image per motion frame.
    counter = fig.text(0.01, 0.01, "", fontsize=7, color="#555555")

    def write(tmp: Path) -> None:
        with writer.saving(fig, str(tmp), _DPI):
            for f in range(n_frames):
                for scene in scenes:
                    scene.show(f)
                counter.set_text(f"{f + 1}/{n_frames}  {f / fps:.2f}s")
                writer.grab_frame()

    with atomic_path(out) as tmp:  # the suffix stays the real one: writers pick the format from it
        write(tmp)
    return out


def render_contact_sheet(
    motions: list[np.ndarray],
    titles: list[str] | None,
    out_png: str | os.PathLike,
    n_frames: int = 6,
    *,
    skeleton: SkeletonSpec | None = None,
    fps: float | None = None,
) -> Path:
    """Write a PNG grid: one row per motion, `n_frames` evenly spaced frames per row.

    Each row is captioned with its title; each panel with its frame index and
    time (`fps` defaults to the skeleton's). Returns the written path.
    """
    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise ValueError(f"contact sheet must be a .png, got {out.name!r}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    motions, skeleton = _check_motions(motions, skeleton)
    titles = _check_titles(titles, len(motions))
    fps = float(skeleton.fps if fps is None else fps)

    cell, caption = 2.0, 0.3  # inches
    rows = len(motions)
    fig = Figure(figsize=(cell * n_frames, (cell + caption) * rows), dpi=_DPI)
    FigureCanvasAgg(fig)
    height = fig.get_figheight()
    extent = _scene_extent(motions)
    for r, (motion, title) in enumerate(zip(motions, titles)):
        row_top = 1.0 - r * (cell + caption) / height
        fig.text(0.005, row_top - 0.04 / height, title or f"motion {r}", fontsize=10,
                 va="top", ha="left", weight="bold")
        frames = np.linspace(0, len(motion) - 1, n_frames).round().astype(int)
        for c, f in enumerate(frames):
            ax = fig.add_axes((c / n_frames, row_top - (caption + cell) / height,
                               1.0 / n_frames, cell / height), projection="3d")
            _Scene(ax, motion, skeleton, extent).show(int(f))
            ax.text2D(0.5, 0.97, f"#{f}  {f / fps:.2f}s", transform=ax.transAxes,
                      fontsize=7, ha="center", va="top", color="#555555")

    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    return out


class _Scene:
    """One 3-D axes showing one motion; `show(f)` moves every artist to frame f."""

    def __init__(self, ax, motion: np.ndarray, skeleton: SkeletonSpec, extent):
        half_width, height = extent
        self.ax = ax
        # Plot coordinates: (x, -z, y - floor), so the ground is at plot z = 0.
        floor = motion[..., 1].min()
        self.points = np.stack([motion[..., 0], -motion[..., 2], motion[..., 1] - floor], axis=-1)
        self.half = half_width
        self.chains = [list(chain) for chain in skeleton.kinematic_chains]

        ax.set_proj_type("persp", focal_length=0.4)
        ax.view_init(elev=_ELEV, azim=_AZIM)
        ax.set_box_aspect((2 * half_width, 2 * half_width, height), zoom=1.5)
        ax.set_zlim(0.0, height)
        ax.set_axis_off()

        self.step = _grid_step(half_width)
        self.n_lines = int(np.ceil(2 * half_width / self.step)) + 2
        # one collection for the whole grid: a line artist per grid line cost a third of each frame's drawing
        self.grid = Line3DCollection([], colors="#bbbbbb", linewidths=0.6)
        ax.add_collection3d(self.grid, autolim=False)
        root = self.points[:, 0]
        self.path = root[:, :2]
        self.path_full = ax.plot([], [], [], color="#e0b040", linewidth=1.0, alpha=0.5)[0]
        self.path_done = ax.plot([], [], [], color="#c08000", linewidth=1.5)[0]
        self.bones = [ax.plot([], [], [], color=colour, linewidth=2.0, marker="o", markersize=2.0,
                              solid_capstyle="round")[0] for colour in chain_colours(skeleton, self.chains)]

    def show(self, frame: int) -> None:
        f = min(frame, len(self.points) - 1)  # shorter motions hold their last frame
        pose = self.points[f]
        cx, cy = pose[0, :2]
        lo_x, hi_x, lo_y, hi_y = cx - self.half, cx + self.half, cy - self.half, cy + self.half
        self.ax.set_xlim(lo_x, hi_x)
        self.ax.set_ylim(lo_y, hi_y)

        # Grid lines at fixed world positions inside the window, so they scroll
        # as the camera follows the root.
        step = self.step
        xs = np.arange(np.ceil(lo_x / step), np.floor(hi_x / step) + 1)[: self.n_lines] * step
        ys = np.arange(np.ceil(lo_y / step), np.floor(hi_y / step) + 1)[: self.n_lines] * step
        self.grid.set_segments([[(x, lo_y, 0.0), (x, hi_y, 0.0)] for x in xs]
                               + [[(lo_x, y, 0.0), (hi_x, y, 0.0)] for y in ys])

        # 3-D axes do not clip to their limits: hide the path outside the window.
        inside = (np.abs(self.path[:, 0] - cx) <= self.half) & (np.abs(self.path[:, 1] - cy) <= self.half)
        path = np.where(inside[:, None], self.path, np.nan)
        ground = np.zeros(len(path))
        self.path_full.set_data_3d(path[:, 0], path[:, 1], ground)
        self.path_done.set_data_3d(path[: f + 1, 0], path[: f + 1, 1], ground[: f + 1])
        for line, chain in zip(self.bones, self.chains):
            line.set_data_3d(pose[chain, 0], pose[chain, 1], pose[chain, 2])


def _check_motions(motions, skeleton):
    if isinstance(motions, np.ndarray) and motions.ndim == 3:
        motions = [motions]
    motions = [np.asarray(m, dtype=np.float64) for m in motions]
    if not motions:
        raise ValueError("need at least one motion")
    for i, m in enumerate(motions):
        if m.ndim != 3 or m.shape[-1] != 3 or len(m) < 1:
            raise ValueError(f"motion {i}: expected shape (T>=1, J, 3), got {m.shape}")
        if not np.isfinite(m).all():
            raise ValueError(f"motion {i}: contains NaN or inf")
    n_joints = {m.shape[1] for m in motions}
    if len(n_joints) != 1:
        raise ValueError(f"all motions must have the same joint count, got {sorted(n_joints)}")
    j = n_joints.pop()
    if skeleton is None:
        skeleton = skeleton_for_dim(j)
        if skeleton is None:
            raise ValueError(f"no known skeleton has {j} joints; pass skeleton=")
    elif skeleton.n_joints != j:
        raise ValueError(f"skeleton {skeleton.name!r} has {skeleton.n_joints} joints, motions have {j}")
    return motions, skeleton


def _check_titles(titles, n):
    if titles is None:
        return [""] * n
    titles = list(titles)
    if len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} motions")
    return [str(t) for t in titles]


def _scene_extent(motions) -> tuple[float, float]:
    """Shared half-width of the following window and height, in metres.

    Shared across panels so that motions side by side are drawn at one scale.
    """
    reach = max(np.abs(m[..., [0, 2]] - m[:, :1, [0, 2]]).max() for m in motions)
    height = max(np.ptp(m[..., 1]) for m in motions)
    height = max(height, 0.5) * 1.05
    half = max(reach + 0.2, 0.4 * height, 0.6)
    return float(half), float(height)


def _grid_step(half_width: float) -> float:
    """Spacing of the ground grid: _GRID_STEP, or a 1-2-5 multiple of it so that at most
    _MAX_GRID_LINES lines cross the window (2 * half_width) in each direction."""
    step = _GRID_STEP
    span = 2.0 * float(half_width)
    if not np.isfinite(span):
        raise ValueError(f"scene size {half_width!r} is not finite")
    while span / step > _MAX_GRID_LINES - 2:
        for factor in (2.0, 2.5, 2.0):  # 0.5 -> 1 -> 2.5 -> 5 -> 10 -> 25 ...
            step *= factor
            if span / step <= _MAX_GRID_LINES - 2:
                break
    return step


class _GifWriter:
    """matplotlib's writer interface (`saving`, `grab_frame`) for a GIF with one palette for all frames.

    Why not matplotlib's PillowWriter: Pillow then builds an adaptive palette for every frame (median cut), a third of
    the whole rendering time. The figure's colours are few and the same in every frame, so a palette taken once from
    a few frames, and each frame mapped to it, looks the same and is smaller."""

    def __init__(self, fps: float):
        self.fps, self.frames = fps, []

    @contextmanager
    def saving(self, fig, path, dpi):
        self.fig, self.frames = fig, []
        yield self
        self._write(path)

    def grab_frame(self) -> None:
        canvas = self.fig.canvas
        canvas.draw()
        self.frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())

    def _write(self, path) -> None:
        from PIL import Image
        frames = self.frames
        picks = sorted({0, len(frames) // 2, len(frames) - 1})
        sample = Image.fromarray(np.concatenate([frames[k] for k in picks], axis=0))
        palette = sample.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
        images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=round(1000 / self.fps), disposal=1, optimize=False)


def _mp4_writer(fps: float):
    try:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # ImportError, or no binary for this platform
        raise RuntimeError(
            "writing .mp4 needs ffmpeg from the imageio-ffmpeg package "
            f"(pip install imageio-ffmpeg), which is unavailable: {exc}; write a .gif instead"
        ) from exc
    matplotlib.rcParams["animation.ffmpeg_path"] = ffmpeg
    # yuv420p keeps the file playable in browsers and common players.
    return animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
