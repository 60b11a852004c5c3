"""Stick-figure rendering: GIF/MP4 animations and PNG contact sheets."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irgmotion.motion.render import render_contact_sheet, render_motions
from irgmotion.motion.skeleton import HUMANML3D, KIT

PANEL_PX = (240, 256)  # 3.0 x 3.2 inches at 80 dpi


def walking_figure(skeleton=HUMANML3D, n_frames=20) -> np.ndarray:
    """Rest pose moved forward along +z with a swinging left arm; enough to draw."""
    lengths = skeleton.bone_lengths if skeleton.bone_lengths is not None else np.full(skeleton.n_joints, 0.15)
    offsets = skeleton.offsets(lengths)
    rest = np.zeros((skeleton.n_joints, 3))
    for j in range(1, skeleton.n_joints):
        rest[j] = rest[skeleton.parents[j]] + offsets[j]
    rest[:, 1] -= rest[:, 1].min()
    t = np.arange(n_frames) / skeleton.fps
    motion = np.repeat(rest[None], n_frames, axis=0)
    motion[..., 2] += 1.2 * t[:, None]
    motion[:, -2, 2] += 0.2 * np.sin(4 * t)
    return motion


def gif_frames(path: Path) -> tuple[int, tuple[int, int], list[int]]:
    with Image.open(path) as im:
        assert im.format == "GIF"
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        return im.n_frames, im.size, durations


def test_gif_single_motion(tmp_path):
    out = render_motions([walking_figure(n_frames=15)], tmp_path / "walk.gif", titles=["walk"])
    assert out == tmp_path / "walk.gif"
    n, size, durations = gif_frames(out)
    assert n == 15
    assert size == PANEL_PX
    assert set(durations) == {50}  # 20 fps
    assert list(tmp_path.iterdir()) == [out]  # the temporary file was moved, not left


def test_gif_side_by_side_different_lengths(tmp_path):
    short, long = walking_figure(n_frames=8), walking_figure(n_frames=14)
    out = render_motions([short, long], tmp_path / "cmp.gif", titles=["short", "long"],
                         fps=10, suptitle="comparison")
    n, size, durations = gif_frames(out)
    assert n == 14  # the shorter motion holds its last frame
    assert size[0] == 2 * PANEL_PX[0]
    assert set(durations) == {100}


def test_gif_kit_skeleton_inferred(tmp_path):
    out = render_motions([walking_figure(KIT, n_frames=5)], tmp_path / "kit.gif", fps=12.5)
    assert gif_frames(out)[0] == 5


def test_reference_clip_gif(tmp_path, ref_dir):
    path = ref_dir / "new_joints" / "000000.npy"
    motion = np.load(path)[:40]
    assert gif_frames(render_motions([motion], tmp_path / "ref.gif"))[0] == 40


def test_mp4(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="mp4 output needs imageio-ffmpeg")
    out = render_motions([walking_figure(n_frames=10)], tmp_path / "walk.mp4")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 10
    assert list(tmp_path.iterdir()) == [out]


def test_contact_sheet(tmp_path):
    motions = [walking_figure(n_frames=30), walking_figure(n_frames=12)]
    out = render_contact_sheet(motions, ["walk forward", "short walk"], tmp_path / "sheet.png",
                               n_frames=4)
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (4 * 160, 2 * 184)  # 2.0-inch cells plus a 0.3-inch caption, 80 dpi
        pixels = np.asarray(im.convert("RGB"))
    # Something besides background was drawn in every row.
    for row in np.split(pixels, 2, axis=0):
        assert (row.min(axis=-1) < 200).mean() > 0.005
    assert list(tmp_path.iterdir()) == [out]


def test_rejects_bad_input(tmp_path):
    motion = walking_figure(n_frames=3)
    with pytest.raises(ValueError, match=".gif or .mp4"):
        render_motions([motion], tmp_path / "x.avi")
    with pytest.raises(ValueError, match="titles"):
        render_motions([motion], tmp_path / "x.gif", titles=["a", "b"])
    with pytest.raises(ValueError, match="joint count"):
        render_motions([motion, motion[:, :21]], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="shape"):
        render_motions([motion[0]], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="23 joints"):
        render_motions([np.zeros((3, 23, 3))], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="skeleton"):
        render_motions([motion], tmp_path / "x.gif", skeleton=KIT)
    with pytest.raises(ValueError, match=".png"):
        render_contact_sheet([motion], None, tmp_path / "x.jpg")
    assert not list(tmp_path.iterdir())
