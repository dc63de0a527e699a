"""The photo pipeline, step by step, on images drawn by the tests."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import synthetic

from digitcli.errors import ImageError
from digitcli.reading import decode as D
from digitcli.reading import pipeline as P


def encode(image: np.ndarray, ext: str, params=None) -> bytes:
    return synthetic.encode(image, ext, params)


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    m = cv2.moments(digit)
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def test_output_follows_the_mnist_convention(digit_photo):
    prepared = P.prepare_bytes(encode(digit_photo(7, 300, seed=1), ".png"))
    digit = prepared.digit
    assert prepared.found
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert 0.0 <= digit.min() and digit.max() <= 1.0 and digit.max() > 0.9
    cx, cy = centre_of_mass(digit)
    assert abs(cx - 13.5) < 0.6 and abs(cy - 13.5) < 0.6
    ys, xs = np.nonzero(digit > 0.05)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 <= 22   # 20x20 box plus anti-aliasing
    assert np.ptp(ys) + 1 >= 18                  # a tall digit fills the box height
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # white on black, black border


def test_dark_on_light_and_light_on_dark_give_the_same_digit(digit_photo):
    dark_on_light = digit_photo(3, 240, seed=2)
    light_on_dark = 255 - dark_on_light
    a = P.prepare_bytes(encode(dark_on_light, ".png"))
    b = P.prepare_bytes(encode(light_on_dark, ".png"))
    assert a.inverted and not b.inverted
    assert np.abs(a.digit - b.digit).mean() < 0.02


@pytest.mark.parametrize("ext,params", [(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85]), (".png", None), (".bmp", None),
                                        (".tiff", None), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 90])])
def test_decodes_common_formats(digit_photo, ext, params):
    prepared = P.prepare_bytes(encode(digit_photo(5, 200, seed=3), ext, params))
    assert prepared.found and prepared.size == (200, 200)


def test_sixteen_bit_png_reads_like_eight_bit(digit_photo):
    gray = cv2.cvtColor(digit_photo(2, 200, seed=4), cv2.COLOR_BGR2GRAY)
    eight = P.prepare_bytes(encode(gray, ".png"))
    sixteen = P.prepare_bytes(encode(gray.astype(np.uint16) * 257, ".png"))
    np.testing.assert_allclose(eight.digit, sixteen.digit, atol=1e-6)


def test_transparent_canvas_is_composited_on_white():
    stroke = synthetic.draw_digit(np.zeros((200, 200, 3), np.uint8), 4, (100, 100), 140, (255, 255, 255), 12)
    bgra = np.zeros((200, 200, 4), np.uint8)   # black ink colour, shape only in alpha
    bgra[:, :, 3] = stroke[:, :, 0]
    prepared = P.prepare_bytes(encode(bgra, ".png"))
    assert prepared.found and prepared.inverted   # dark ink on white, once composited
    reference = P.prepare_bytes(encode(255 - stroke, ".png"))
    assert np.abs(prepared.digit - reference.digit).mean() < 0.02


def test_exif_orientation_is_honoured(digit_photo):
    upright = digit_photo(7, 320, seed=5)
    rotated = P.prepare_bytes(synthetic.phone_photo_rotated(upright))
    plain = P.prepare_bytes(encode(upright, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]))
    assert rotated.size == (320, 320)
    assert np.abs(rotated.digit - plain.digit).mean() < 0.03


def test_blank_and_flat_images_have_no_digit():
    for image in (np.full((300, 300), 255, np.uint8), np.zeros((300, 300), np.uint8),
                  synthetic.paper(400, 300, seed=6)):
        prepared = P.prepare_bytes(encode(image, ".png"))
        assert not prepared.found and prepared.digit is None


def test_otsu_separation_tells_two_tones_from_one():
    """A binarised cell is two tones, whichever covers more; noise is one."""
    rng = np.random.default_rng(3)
    cell = np.full((32, 32), 255, np.uint8)
    cv2.line(cell, (24, 0), (8, 31), 0, 14)   # a broad stroke covering most of it
    noise = np.clip(rng.normal(128, 20, (64, 64)), 0, 255).astype(np.uint8)
    for image, low, high in ((cell, 0.99, 1.0), (cv2.GaussianBlur(cell, (3, 3), 0), 0.85, 1.0), (noise, 0.6, 0.7)):
        otsu, _ = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        assert low <= P.otsu_separation(P.histogram(image), otsu) <= high
    assert P.otsu_separation(P.histogram(np.full((8, 8), 90, np.uint8)), 90) == 0.0


def test_a_tiny_crop_of_noise_is_blank_and_a_noisy_digit_is_not():
    """A blank form cell scanned with grey noise was read as a digit (a
    "1" at 0.99): the noise's brightest tail passed the threshold."""
    rng = np.random.default_rng(4)
    for side in (16, 28, 64):
        for level, sigma in ((230, 12), (128, 25), (40, 25)):
            noise = np.clip(rng.normal(level, sigma, (side, side)), 0, 255).astype(np.uint8)
            assert P.ink_mask(noise).mask is None, (side, level, sigma)
    cell = np.full((16, 16), 235.0)
    cell[3:13, 7:10] = 40   # a 1 in a 16x16 cell, as noisy
    noisy = np.clip(cell + rng.normal(0, 25, cell.shape), 0, 255).astype(np.uint8)
    assert P.prepare_array(noisy).found


def test_a_binarised_crop_is_told_from_a_grey_one():
    cell = np.full((16, 16), 255, np.uint8)
    cv2.line(cell, (10, 1), (5, 14), 0, 4)
    grey = cv2.GaussianBlur(cell, (5, 5), 0)   # a scan's soft edges
    assert P.is_binarised(cell) and P.is_binarised(255 - cell)
    assert not P.is_binarised(grey)


def test_small_digit_on_a_big_uneven_page_is_found():
    page = synthetic.add_vignette(synthetic.paper(1500, 2000, seed=7), 0.3)
    page = synthetic.draw_digit(page, 4, (1400, 500), 150, (25, 25, 25), 9, seed=7)
    prepared = P.prepare_bytes(encode(page, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]))
    x, y, w, h = prepared.box
    assert prepared.found
    assert 1330 < x + w / 2 < 1470 and 430 < y + h / 2 < 570


def test_a_black_margin_down_one_side_is_not_what_the_border_says_paper_is():
    """A narrow scan: a black margin down the long left side and a column
    rule, broken into dashes, on the right: most of the border's pixels are
    dark, but three of its four sides show light paper."""
    scan = np.full((400, 60), 235, np.uint8)
    scan[:, :29] = 15
    for y in range(8, 392, 16):
        scan[y:y + 5, -2:] = 40
    assert P._border_says_dark_ink(scan)
    assert not P._border_says_dark_ink(255 - scan)   # the same, light on dark


def test_a_black_margin_half_the_crop_wide_is_taken_off_before_the_border_decides():
    """A register's crop: a black margin down the left, nearly half the
    width, and a dark rule along part of the bottom. Two sides look dark,
    two light, and most of the border is dark; beyond the margin, the
    border is light paper."""
    scan = np.full((160, 140), 235, np.uint8)
    scan[:, :64] = 10
    scan[-7:, 64:100] = 30
    assert P._border_says_dark_ink(scan)


def test_ruled_lines_and_margin_are_not_the_digit():
    page = synthetic.rule_lines(synthetic.paper(600, 800, seed=8), 40, margin_x=100)
    page = synthetic.draw_digit(page, 1, (420, 300), 180, (120, 40, 20), 8, seed=8)
    prepared = P.prepare_bytes(encode(page, ".png"))
    _, _, w, h = prepared.box
    assert w < 150 and 150 <= h < 260, prepared.box


def test_a_box_drawn_round_a_digit_is_a_frame_not_the_digit():
    """A form's box (or a register's cell) round a small digit is one thin
    outline holding ink clear of it: paper, so the digit is what is read."""
    page = synthetic.paper(400, 300, seed=12)
    cv2.rectangle(page, (60, 40), (340, 260), (30, 30, 30), 2)
    page = synthetic.draw_digit(page, 4, (200, 150), 80, (30, 30, 30), 5, seed=12)
    prepared = P.prepare_bytes(encode(page, ".png"))
    x, y, w, h = prepared.box
    assert 140 < x + w / 2 < 260 and 90 < y + h / 2 < 210 and h < 120, prepared.box


def test_a_six_whose_loop_broke_off_is_not_a_frame():
    """A 0 or a 6 is hollow too, but what it holds is its own stroke,
    close to it, not ink clear of its outline."""
    mask = np.zeros((200, 200), np.uint8)
    cv2.ellipse(mask, (100, 100), (60, 90), 0, 0, 360, 255, 3)       # a thin hollow shape
    inner_far = mask.copy()
    cv2.circle(inner_far, (100, 100), 12, 255, 3)                     # ink well clear of it
    inner_near = mask.copy()
    cv2.ellipse(inner_near, (100, 150), (45, 30), 0, 180, 360, 255, 3)  # a loop beside its stroke
    for holds, expect in ((inner_far, True), (inner_near, False)):
        paper = {box: flag for _, box, _, flag in P.ink_components(holds).found}
        outline = max(paper, key=lambda box: box[2] * box[3])
        assert paper[outline] is expect


def test_a_faint_stroke_joined_to_a_firm_one_is_kept_faint_specks_are_not():
    """Hysteresis: the threshold keeps its distance from the paper's noise
    for the ink it starts from, and follows faint ink only where it joins
    firm ink (a pen running dry, a light scan), not faint specks alone."""
    ink = np.zeros((200, 200), np.uint8)           # ink bright on dark, as threshold_ink takes it
    cv2.line(ink, (60, 40), (60, 160), 200, 6)      # a firm stroke
    cv2.line(ink, (60, 153), (140, 153), 75, 5)     # its faint foot
    cv2.line(ink, (153, 40), (153, 60), 75, 5)      # faint ink on its own
    ink = cv2.GaussianBlur(ink, (0, 0), 2)
    ink = cv2.add(ink, np.random.default_rng(0).integers(0, 4, ink.shape, dtype=np.uint8))
    plain = P.threshold_ink(ink)
    followed = P.threshold_ink(ink, follow_faint=True)
    assert plain[153, 100] == 0 and followed[153, 100] == 255
    assert plain[100, 60] == followed[100, 60] == 255
    assert followed[50, 153] == 0


def test_shadow_across_the_page_is_not_ink():
    page = synthetic.draw_digit(synthetic.paper(500, 500, seed=9), 2, (250, 250), 280, (40, 40, 40), 14, seed=9)
    prepared = P.prepare_bytes(encode(synthetic.add_shadow(page, 0.4), ".jpg"))
    _, _, w, h = prepared.box
    assert w < 260 and h < 330


def test_a_shadow_over_half_the_border_does_not_turn_dark_ink_light():
    """A phone's shadow darkens two sides of a number's border: taken as it
    was, the border looked like a dark ground, and the ink light."""
    page = synthetic.draw_number(synthetic.paper(180, 400, seed=4), "7203", (90, 90), 90, (30, 30, 30), 7, seed=4)
    gray = P.to_working_size(P.ink_channel(synthetic.cast_shadow(page, 0.55, 1.2, -0.1, softness=0)))
    assert P.ink_is_dark(gray)
    assert not P.ink_is_dark(gray, shaded=False)   # the border as it is


def test_paper_partly_in_shadow_is_shadowed_but_a_scanners_margin_is_not():
    light = np.full((16, 48), 230, np.uint8)   # the paper's estimate, as remove_background has it (inverted)
    assert not P.is_shadowed(255 - light)
    shadow, margin = light.copy(), light.copy()
    shadow[:, 30:] = 120
    margin[:, :8] = 20
    assert P.is_shadowed(255 - shadow)
    assert not P.is_shadowed(255 - margin)


def test_specks_are_dropped_and_strokes_of_one_digit_kept_together():
    page = synthetic.paper(300, 300, seed=10)
    page = synthetic.draw_digit(page, 5, (150, 150), 200, (20, 20, 20), 10, seed=10)  # 5: two strokes
    cv2.circle(page, (20, 280), 2, (20, 20, 20), -1)
    prepared = P.prepare_bytes(encode(page, ".png"))
    x, y, _, h = prepared.box
    assert x > 30 and y + h < 275 and h > 180   # the speck is out, the flag is in


def test_thin_strokes_are_thickened_to_mnist_pen_width():
    page = synthetic.draw_digit(synthetic.paper(800, 800, seed=11), 7, (400, 400), 600, (30, 30, 30), 3, seed=11)
    digit = P.prepare_bytes(encode(page, ".png")).digit
    assert (digit > 0.5).sum() > 40   # a hair line would leave a faint trace


def test_tiny_inputs_such_as_usps_16px_are_read():
    small = cv2.resize(255 - synthetic.draw_digit(np.zeros((64, 64, 3), np.uint8), 0, (32, 32), 60,
                                                  (255, 255, 255), 8)[:, :, 0], (16, 16), interpolation=cv2.INTER_AREA)
    prepared = P.prepare_bytes(encode(small, ".png"))
    assert prepared.found and prepared.size == (16, 16)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"<html><body>not a picture</body></html>", "not an image"),
    (bytes(range(256)) * 10, "not an image"),
])
def test_undecodable_bytes_raise_image_error(data, message):
    with pytest.raises(ImageError, match=message):
        P.prepare_bytes(data)


def test_truncated_jpeg_is_an_error_not_a_guess(digit_photo):
    data = encode(digit_photo(8, 300, seed=12), ".jpg")
    with pytest.raises(ImageError, match="truncated"):
        P.prepare_bytes(data[: len(data) // 2])


def test_one_pixel_image_has_no_digit():
    assert P.prepare_bytes(encode(np.zeros((1, 1), np.uint8), ".png")).found is False


def test_image_dimensions_from_headers(digit_photo):
    image = digit_photo(1, 123, seed=13)[:, :100]
    assert D.image_dimensions(encode(image, ".png")) == (100, 123)
    assert D.image_dimensions(encode(image, ".jpg")) == (100, 123)
    assert D.image_dimensions(b"GIF89a") is None


def test_stroke_width_of_a_drawn_bar():
    mask = np.zeros((100, 100), np.uint8)
    mask[20:80, 45:51] = 255
    assert 5 < P.stroke_width(mask) < 7.5


def mnist_made(digit: int) -> np.ndarray:
    """A drawn digit made as MNIST's were: its ink box scaled (by area) to fit
    20x20, placed in 28x28 white on black with its centre of mass in the middle."""
    canvas = synthetic.draw_digit(np.zeros((200, 200, 3), np.uint8), digit, (100, 100), 150, (255, 255, 255), 14)
    gray = canvas[:, :, 0]
    x, y, w, h = cv2.boundingRect((gray > 0).astype(np.uint8))
    scale = 20 / max(w, h)
    small = cv2.resize(gray[y:y + h, x:x + w], (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    rows, cols = np.indices(small.shape)
    weights = small.astype(np.float64)
    centre_y, centre_x = (weights * rows).sum() / weights.sum(), (weights * cols).sum() / weights.sum()
    top, left = round(14 - centre_y), round(14 - centre_x)
    image = np.zeros((28, 28), np.uint8)
    image[top:top + small.shape[0], left:left + small.shape[1]] = small
    return image


def test_an_image_made_the_mnist_way_is_the_model_s_input_as_it_is():
    """MNIST's own PNGs and many draw-a-digit apps' files are already what
    the model reads: they are not thresholded, cropped and fitted again."""
    for digit in range(10):
        image = mnist_made(digit)
        made = P.as_mnist_made(image)
        assert made is not None and np.array_equal(made.digit, image.astype(np.float32) / 255)
        assert P.as_mnist_made(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)) is not None
        jpeg = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_GRAYSCALE)
        assert P.as_mnist_made(jpeg) is not None                                     # its ringing is paper
    image = mnist_made(5)
    assert P.as_mnist_made(np.roll(image, 4, axis=1)) is None                        # off centre
    inverted = P.as_mnist_made(255 - image)                                          # shown dark on light
    assert inverted is not None and inverted.inverted and np.array_equal(inverted.digit, image.astype(np.float32) / 255)
    assert P.as_mnist_made(255 - np.roll(image, 4, axis=1)) is None
    assert P.as_mnist_made(cv2.resize(image[4:24, 4:24], (28, 28))) is None          # fills the square
    assert P.as_mnist_made(cv2.resize(image, (56, 56))) is None                      # not 28x28
    assert P.as_mnist_made(image, P.variant(keep_mnist_format=False)) is None


def test_an_mnist_made_image_enlarged_by_whole_pixels_is_its_28x28():
    """A viewer's or a pixel-grid canvas's enlargement (each pixel a flat
    block) holds the same digit: it is read as the 28x28 it enlarges, its
    box in the enlarged image's pixels. A smooth enlargement is not."""
    image = mnist_made(4)
    small = P.as_mnist_made(image)
    for scale in (2, 4, 10):
        blocks = cv2.resize(image, (28 * scale, 28 * scale), interpolation=cv2.INTER_NEAREST)
        for enlarged in (blocks, 255 - blocks, cv2.cvtColor(blocks, cv2.COLOR_GRAY2BGR)):
            made = P.as_mnist_made(enlarged)
            assert made is not None and np.array_equal(made.digit, small.digit)
            assert made.box == tuple(scale * value for value in small.box) and made.size == (28 * scale,) * 2
        jpeg = cv2.imdecode(cv2.imencode(".jpg", blocks, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_GRAYSCALE)
        assert P.as_mnist_made(jpeg) is not None
    assert P.as_mnist_made(cv2.resize(image, (280, 280), interpolation=cv2.INTER_CUBIC)) is None
    off_centre = cv2.resize(np.roll(image, 4, axis=1), (112, 112), interpolation=cv2.INTER_NEAREST)
    assert P.as_mnist_made(off_centre) is None
    assert P.as_mnist_made(cv2.resize(image, (112, 84), interpolation=cv2.INTER_NEAREST)) is None


def test_a_bold_light_digit_on_a_dark_ground_is_light_ink():
    """The holes of a bold white 0 or 8 on black answer as dark lines; on a
    ground in the image's darkest tone, the border says which ink it is."""
    for digit, thickness in ((0, 38), (8, 30)):
        canvas = synthetic.draw_digit(np.zeros((200, 200, 3), np.uint8), digit, (100, 100), 150, (255, 255, 255),
                                      thickness)
        ground = cv2.resize(cv2.copyMakeBorder(canvas[:, :, 0], 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=0),
                            (112, 112), interpolation=cv2.INTER_AREA)
        assert not P.ink_is_dark(ground)
        assert P.ink_is_dark(255 - ground)
        assert P.ink_is_dark(ground, P.variant(dark_ground_levels=-1))   # as before: the holes took it for dark ink


def test_reader_gives_the_model_an_mnist_made_image_unchanged_and_never_cuts_it():
    from conftest import SHIPPED_MODEL

    from digitcli import Reader

    reader = Reader(SHIPPED_MODEL)
    images = [mnist_made(digit) for digit in range(10)]
    for digit, image, result, counted in zip(range(10), images, reader.read_many(images),
                                             reader.configured(digits=1).read_many(images)):
        assert np.array_equal(result.prepared.digit, image.astype(np.float32) / 255)
        assert result.number == counted.number == str(digit)
    several = reader.configured(digits=2).read(images[7])   # told it holds two: prepared and cut as any image
    assert not np.array_equal(several.prepared.digit, images[7].astype(np.float32) / 255)
