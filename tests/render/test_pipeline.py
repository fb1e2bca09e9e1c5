"""FramePipeline on a real EGL context (Mesa llvmpipe here): display, letterbox, feedback, pixel sort, HUD."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.render.offscreen import Offscreen
from instrument.render.pipeline import FramePipeline, letterbox

OFF = {"fx.feedback.amount": 0.0, "fx.pixelsort.amount": 0.0, "hud.visible": 0.0}
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def quadrants(w: int, h: int) -> np.ndarray:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    frame = np.empty((h, w, 3), np.uint8)
    frame[: h // 2, : w // 2], frame[: h // 2, w // 2:] = RED, GREEN
    frame[h // 2:, : w // 2], frame[h // 2:, w // 2:] = BLUE, WHITE
    return frame


def luma(frame: np.ndarray) -> np.ndarray:
    return (frame.astype(np.float32) / 255.0) @ LUMA


def draw(off: Offscreen, pipe: FramePipeline, frame: np.ndarray | None, **fx: float) -> np.ndarray:
    """Upload (when given) and render one frame with `fx` over all-off settings; return what was drawn."""
    if frame is not None:
        pipe.upload(frame)
    pipe.render(off.fbo, off.size, {**OFF, **{k.replace("_", "."): v for k, v in fx.items()}}, 1 / 60)
    return off.read()


@pytest.fixture
def rig(request):
    """(Offscreen, FramePipeline) pairs of a given size; released after the test."""
    made = []

    def make(view_size, frame_size=None):
        off = Offscreen(view_size)
        pipe = FramePipeline(off.ctx, frame_size or view_size)
        made.append((off, pipe))
        return off, pipe

    yield make
    for off, pipe in made:
        pipe.release()
        off.release()


def test_fx_off_reproduces_the_frame_top_left_at_top_left(rig):
    off, pipe = rig((64, 48))
    frame = quadrants(64, 48)
    out = draw(off, pipe, frame)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - frame).max() <= 1
    assert tuple(out[0, 0]) == RED


def test_letterbox_geometry():
    assert letterbox((64, 48), (64, 48)) == (0, 0, 64, 48)
    assert letterbox((64, 48), (160, 48)) == (48, 0, 64, 48)       # pillarbox
    assert letterbox((64, 48), (64, 100)) == (0, 26, 64, 48)       # letterbox
    assert letterbox((512, 512), (1280, 720)) == (280, 0, 720, 720)


def test_wider_viewport_gets_black_bars_and_centred_image(rig):
    off, pipe = rig((160, 48), (64, 48))
    frame = quadrants(64, 48)
    out = draw(off, pipe, frame)
    assert not out[:, :48].any() and not out[:, 112:].any()
    assert np.abs(out[:, 48:112].astype(int) - frame).max() <= 1


def test_taller_viewport_scaled_image_keeps_orientation(rig):
    off, pipe = rig((100, 200), (64, 48))
    out = draw(off, pipe, quadrants(64, 48))
    x, y, w, h = letterbox((64, 48), (100, 200))
    assert not out[: y - 1].any() and not out[y + h + 1:].any()
    centre = lambda fx, fy: tuple(out[y + int(fy * h), x + int(fx * w)])  # noqa: E731
    assert centre(0.25, 0.25) == RED and centre(0.75, 0.25) == GREEN
    assert centre(0.25, 0.75) == BLUE and centre(0.75, 0.75) == WHITE


def test_feedback_blends_with_previous_output(rig):
    off, pipe = rig((32, 32))
    red, blue = np.full((32, 32, 3), RED, np.uint8), np.full((32, 32, 3), BLUE, np.uint8)
    fx = dict(fx_feedback_amount=0.5, fx_feedback_zoom=1.0, fx_feedback_rotate=0.0)
    assert np.all(draw(off, pipe, red, **fx) == RED)   # first frame: no history yet
    once = draw(off, pipe, blue, **fx)
    assert np.abs(once.astype(int) - (128, 0, 128)).max() <= 2
    twice = draw(off, pipe, blue, **fx)
    assert np.abs(twice.astype(int) - (64, 0, 191)).max() <= 2


def test_feedback_amount_zero_is_exact_pass_through(rig):
    off, pipe = rig((40, 30))
    rng = np.random.default_rng(3)
    draw(off, pipe, rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), fx_feedback_amount=0.9)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    assert np.array_equal(draw(off, pipe, frame, fx_feedback_amount=0.0), frame)


def test_feedback_zoom_and_rotation_keep_the_centre(rig):
    off, pipe = rig((33, 33))
    frame = np.zeros((33, 33, 3), np.uint8)
    frame[16, 16] = WHITE
    draw(off, pipe, frame, fx_feedback_amount=0.5)
    out = draw(off, pipe, np.zeros_like(frame), fx_feedback_amount=0.5, fx_feedback_zoom=1.2, fx_feedback_rotate=7)
    assert out[16, 16].min() > 40 and out[0].max() == 0


def test_feedback_rotation_is_counter_clockwise_and_zoom_grows(rig):
    off, pipe = rig((65, 65))
    bar = np.zeros((65, 65, 3), np.uint8)
    bar[31:34, 32:] = WHITE                      # centre to the right edge
    draw(off, pipe, bar, fx_feedback_amount=0.5)
    out = draw(off, pipe, np.zeros_like(bar), fx_feedback_amount=0.5, fx_feedback_zoom=1.0, fx_feedback_rotate=30)
    assert out[32 - 12, 32 + 21, 0] > 100 and out[32 + 12, 32 + 21, 0] == 0   # now points up-right on screen
    square = np.zeros((65, 65, 3), np.uint8)
    square[27:38, 27:38] = WHITE
    draw(off, pipe, square, fx_feedback_amount=0.0)
    draw(off, pipe, square, fx_feedback_amount=0.5)
    out = draw(off, pipe, np.zeros_like(square), fx_feedback_amount=0.5, fx_feedback_zoom=2.0, fx_feedback_rotate=0)
    assert out[32, 32 + 9, 0] > 100 and out[32, 32 + 13, 0] == 0


def runs_of(mask_row: np.ndarray) -> list[tuple[int, int]]:
    """Maximal [start, stop) stretches of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask_row.astype(np.int8), [0]))))
    return list(zip(edges[::2], edges[1::2]))


def along(frame: np.ndarray, direction: int) -> np.ndarray:
    """View with the sort direction along axis 1, increasing index = the direction pixels move."""
    view = frame if direction < 2 else frame.transpose(1, 0, *range(2, frame.ndim))
    return view[:, ::-1] if direction in (1, 3) else view


@pytest.mark.parametrize("direction", [0, 1, 2, 3])
def test_pixelsort_full_amount_sorts_every_run(rig, direction):
    off, pipe = rig((61, 47))
    frame = np.random.default_rng(direction).integers(0, 256, (47, 61, 3), dtype=np.uint8)
    threshold = 0.4
    frame[np.abs(luma(frame) - threshold) < 1e-4] = 0   # no pixel sits on the threshold
    lum = luma(frame)
    out = draw(off, pipe, frame, fx_pixelsort_amount=1.0, fx_pixelsort_threshold=threshold,
               fx_pixelsort_direction=direction)
    below = lum <= threshold
    assert np.array_equal(out[below], frame[below])
    src, dst = along(frame, direction), along(out, direction)
    dst_luma, member = along(luma(out), direction), along(~below, direction)
    sorted_runs = 0
    for row in range(src.shape[0]):
        for a, b in runs_of(member[row]):
            assert np.all(np.diff(dst_luma[row, a:b]) >= -1e-6), (row, a, b)
            same = np.lexsort(src[row, a:b].T), np.lexsort(dst[row, a:b].T)
            assert np.array_equal(src[row, a:b][same[0]], dst[row, a:b][same[1]])
            sorted_runs += b - a > 1
    assert sorted_runs > 50


def odd_even_reference(frame: np.ndarray, passes: int, threshold: float, direction: int) -> np.ndarray:
    """The CPU version of the pass network: pairs alternate parity in image coordinates along the axis."""
    img = frame if direction < 2 else frame.transpose(1, 0, 2)
    img, n = img.copy(), img.shape[1]
    descending = direction in (1, 3)
    for k in range(passes):
        lum, out = luma(img), img.copy()
        for a in range(k & 1, n - 1, 2):
            b = a + 1
            swap = (lum[:, a] > threshold) & (lum[:, b] > threshold)
            swap &= lum[:, a] < lum[:, b] if descending else lum[:, a] > lum[:, b]
            out[swap, a], out[swap, b] = img[swap, b], img[swap, a]
        img = out
    return img if direction < 2 else np.ascontiguousarray(img.transpose(1, 0, 2))


@pytest.mark.parametrize("direction,amount", [(0, 0.1), (1, 0.3), (2, 0.05), (3, 0.5)])
def test_pixelsort_partial_amount_runs_that_many_passes(rig, direction, amount):
    off, pipe = rig((45, 37))
    frame = np.random.default_rng(10 + direction).integers(0, 256, (37, 45, 3), dtype=np.uint8)
    passes = int(np.ceil(amount * (45 if direction < 2 else 37)))
    out = draw(off, pipe, frame, fx_pixelsort_amount=amount, fx_pixelsort_threshold=0.3,
               fx_pixelsort_direction=direction)
    assert pipe.sort_passes == passes
    assert np.array_equal(out, odd_even_reference(frame, passes, 0.3, direction))


def test_pixelsort_reuses_the_result_until_frame_or_settings_change_and_honours_the_limit(rig):
    off, pipe = rig((30, 20))
    frame = np.random.default_rng(6).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    fx = dict(fx_pixelsort_amount=1.0, fx_pixelsort_threshold=0.3, fx_pixelsort_direction=0)
    first = draw(off, pipe, frame, **fx)
    assert pipe.sort_passes == 30
    assert np.array_equal(draw(off, pipe, None, **fx), first) and pipe.sort_passes == 0
    draw(off, pipe, frame, **fx)
    assert pipe.sort_passes == 30
    pipe.sort_pass_limit = 4
    out = draw(off, pipe, None, **fx)
    assert pipe.sort_passes == 4 and np.array_equal(out, odd_even_reference(frame, 4, 0.3, 0))


def test_pixelsort_amount_zero_skips(rig):
    off, pipe = rig((20, 20))
    frame = np.random.default_rng(5).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert np.array_equal(draw(off, pipe, frame, fx_pixelsort_amount=0.0, fx_pixelsort_threshold=0.0), frame)
    assert pipe.sort_passes == 0


def test_hud_draws_top_left_only_when_visible(rig):
    off, pipe = rig((320, 240), (64, 48))
    frame = np.full((48, 64, 3), 90, np.uint8)
    plain = draw(off, pipe, frame)
    pipe.set_hud(["display 60.0 fps", "generator 12.3 fps"])
    assert np.array_equal(draw(off, pipe, None, hud_visible=0.0), plain)
    shown = draw(off, pipe, None, hud_visible=1.0)
    rows, cols = np.nonzero((shown != plain).any(axis=2))
    assert rows.size > 100
    assert rows.min() >= 8 and cols.min() >= 8 and rows.max() < 120 and cols.max() < 240
    assert shown[rows.min() + 1, cols.min() + 1].max() < 90   # the translucent box darkens the image


def test_hud_texture_is_rendered_only_when_text_changes(rig):
    off, pipe = rig((64, 64))
    pipe.set_hud(["a", "b"])
    texture = pipe._hud.texture
    pipe.set_hud(["a", "b"])
    assert pipe._hud.texture is texture
    pipe.set_hud([])
    assert pipe._hud.texture is None


@pytest.mark.parametrize("size", [(127, 65), (1, 1), (3, 200)])
def test_odd_frame_sizes_upload_and_display(rig, size):
    off, pipe = rig(size)
    frame = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert np.array_equal(draw(off, pipe, frame), frame)
    for direction in range(4):   # sorting with nothing above the threshold leaves every pixel in place
        out = draw(off, pipe, None, fx_pixelsort_amount=1.0, fx_pixelsort_threshold=1.0,
                   fx_pixelsort_direction=direction)
        assert np.array_equal(out, frame)


def test_reupload_same_size_in_place_and_new_size_reallocates(rig):
    off, pipe = rig((64, 48), (64, 48))
    draw(off, pipe, quadrants(64, 48))
    texture = pipe._source
    draw(off, pipe, quadrants(64, 48)[::-1].copy())
    assert pipe._source is texture
    small = quadrants(33, 17)
    out = draw(off, pipe, small)
    assert pipe.frame_size == (33, 17) and pipe._source is not texture
    x, y, w, h = letterbox((33, 17), (64, 48))
    assert tuple(out[y + h // 4, x + w // 4]) == RED and tuple(out[y + 3 * h // 4, x + 3 * w // 4]) == WHITE


def test_non_contiguous_frame_is_accepted_and_bad_frames_rejected(rig):
    off, pipe = rig((32, 16))
    frame = quadrants(64, 16)[:, ::2]
    assert np.array_equal(draw(off, pipe, frame), frame)
    with pytest.raises(ValueError):
        pipe.upload(np.zeros((16, 32, 4), np.uint8))
    with pytest.raises(ValueError):
        pipe.upload(np.zeros((16, 32, 3), np.float32))


def test_render_before_any_upload_is_black(rig):
    off, pipe = rig((40, 20))
    assert not draw(off, pipe, None).any()
