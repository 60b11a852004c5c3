"""The studio's page in a real browser: headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright against
uvicorn serving the embedded bundle on a free port. Two goals are submitted; the rounds' 3-D players must draw a
figure that moves while playing and holds still when paused; the timeline plays both answers in turn; the user's own
refinement adds a round; downloads arrive; nothing is loaded from anywhere but the studio.

Screenshots are test artefacts: under pytest's tmp dir, and in $IRGMOTION_ARTIFACTS when set. Without Chromium or
Playwright the test is skipped, except under CI (CI=true, as .ci/run sets), where it fails: CI must run it."""
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from irgmotion.reason.bundle import EMBEDDED

CHROMIUM = Path(os.environ.get("IRGMOTION_CHROMIUM", "/usr/bin/chromium"))
# root needs --no-sandbox; WebGL in headless Chromium runs on SwiftShader (software), which must be allowed;
# containers often have a small /dev/shm
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage"]
GOAL = "a person jumps twice"
SECOND = "a person walks forward"
TIMEOUT_MS = 180_000  # a busy 2-core machine: loading, the first generation, rendering in software


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs chromium, the test extra playwright)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def studio_url():
    if not (EMBEDDED / "manifest.json").is_file():
        pytest.skip("no embedded bundle")
    from irgmotion.app import MissingExtras, require_extras
    try:
        require_extras()
    except MissingExtras as exc:
        _unavailable(str(exc))
    from irgmotion import MotionReasoner
    from irgmotion.app import BackgroundServer, create_app
    app = create_app(MotionReasoner.from_pretrained(max_rounds=2))
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright; its own browser download is not needed)")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artefacts(tmp_path):
    """Where screenshots go: the test's tmp dir, copied to $IRGMOTION_ARTIFACTS when set."""
    saved = []
    yield tmp_path, saved
    target = os.environ.get("IRGMOTION_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for path in saved:
            shutil.copy2(path, Path(target) / path.name)


# A canvas's pixels: their count, distinct colours, the share that differs from the background, pixels of the
# skeleton's left (blue) and right (red) sides, and a hash of them all (to see two frames differ).
PIXELS = """(canvas) => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let hash = 2166136261, blue = 0, red = 0, other = 0;
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i], g = d[i + 1], b = d[i + 2];
    colours.add((r >> 3) << 10 | (g >> 3) << 5 | (b >> 3));
    if (b > r + 50 && b > g + 15) blue++;
    if (r > g + 60 && r > b + 60) red++;
    if (Math.abs(r - 0xf4) + Math.abs(g - 0xf4) + Math.abs(b - 0xf1) > 24) other++;
    hash = Math.imul(hash ^ (r | g << 8 | b << 16), 16777619) >>> 0;
  }
  return {pixels: d.length / 4, colours: colours.size, drawn: other / (d.length / 4), blue, red, hash};
}"""


def test_the_page_plays_steers_and_downloads(studio_url, browser, artefacts):
    folder, saved = artefacts
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)

    page.goto(studio_url)
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#goals", "x" * 3000)  # refused by the server: its error is shown, and the goal can be removed
    page.click("#generate")
    page.wait_for_selector("#status.error")
    assert page.inner_text("#status") == "goal: the goal text has 3000 characters; keep it under 2000"
    page.locator("#timeline li.error button").click()
    assert page.locator("#timeline li").count() == 0
    assert all("status of 400" in problem for problem in problems), problems  # Chromium logs the refused request
    problems.clear()
    page.fill("#goals", f"{GOAL}\n{SECOND}")  # two goals: both join the timeline
    page.fill("#max-rounds", "2")
    page.click("#generate")
    page.wait_for_function("() => document.querySelectorAll('#timeline li.done').length === 2")
    assert page.locator("#timeline li .goal").all_inner_texts() == [GOAL, SECOND]
    page.locator("#timeline li", has_text=GOAL).click()
    page.wait_for_selector(".round canvas")
    assert page.inner_text("#result-goal") == GOAL
    result_id = page.get_attribute(".round .downloads a", "href").split("/")[3]
    result = page.evaluate("(id) => fetch(`/api/results/${id}`).then((r) => r.json())", result_id)
    assert page.locator(".round").count() == len(result["rounds"])
    assert page.locator(".round canvas").count() == sum(r["joints"] is not None for r in result["rounds"])

    # the first round's player draws a figure and it moves
    canvas = page.locator(".round canvas").first
    # read in the same call that sees the figure: the cards may be rebuilt (a new, still blank canvas) meanwhile
    first = page.wait_for_function(
        "() => { const c = document.querySelector('.round canvas'); const p = c && (" + PIXELS + ")(c); "
        "return p && p.drawn > 0.01 && p.colours > 20 ? p : null; }").json_value()
    assert first["pixels"] > 10_000 and first["colours"] > 20, first  # not uniform
    assert first["blue"] > 20 and first["red"] > 20, first  # both sides of the skeleton are on screen
    page.wait_for_function(f"([c, h]) => ({PIXELS})(c).hash !== h", arg=[canvas.element_handle(), first["hash"]])
    # paused, it holds still
    card = page.locator(".round").first
    card.locator("button.play").click()
    assert card.locator("button.play").inner_text() == "Play"
    page.wait_for_timeout(300)
    held = canvas.evaluate(PIXELS)["hash"]
    page.wait_for_timeout(600)
    assert canvas.evaluate(PIXELS)["hash"] == held
    # the timeline plays the two answers one after the other
    timeline = page.locator("#timeline-player canvas")
    assert timeline.count() == 1 and timeline.evaluate(PIXELS)["colours"] > 20
    caption = "(start) => document.querySelector('#timeline-player .caption').textContent.startsWith(start)"
    page.wait_for_function(caption, arg=f"1. {GOAL}")  # the page's CSP allows functions, not eval of expressions
    page.wait_for_function(caption, arg=f"2. {SECOND}")
    assert "playing" in page.locator("#timeline li", has_text=SECOND).get_attribute("class")
    page.screenshot(path=folder / "studio.png")
    saved.append(folder / "studio.png")

    # the user's own refinement becomes a further round, assessed
    page.fill("#instruction", "jump higher")
    page.click("#steer")
    page.wait_for_selector(".round.user")
    user_card = page.locator(".round.user")
    assert "jump higher" in user_card.inner_text() and "Assessment" in user_card.inner_text()
    assert page.locator(".round").count() == len(result["rounds"]) + 1

    # downloads
    with page.expect_download() as info:
        page.locator(".round .downloads a", has_text="BVH").first.click()
    bvh = Path(info.value.path()).read_text()
    assert bvh.startswith("HIERARCHY") and info.value.suggested_filename == f"irgmotion_{result_id}_round1.bvh"
    with page.expect_download() as info:
        page.locator(".round .downloads a", has_text="NPY").first.click()
    joints = np.load(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert joints.shape == (result["rounds"][0]["frames"], 22, 3)

    page.screenshot(path=folder / "studio_full.png", full_page=True)
    saved.append(folder / "studio_full.png")
    assert not problems, problems
    assert requests and all(url.startswith(studio_url) for url in requests), [u for u in requests
                                                                            if not u.startswith(studio_url)]
    context.close()
