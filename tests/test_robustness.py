"""Hostile inputs: the pipeline returns a result or a clean ImageError for any
bytes and any array, and predict gives every bad file its own row."""

from __future__ import annotations

import json
import os

import bombs
import cv2
import numpy as np
import pytest
import synthetic
from conftest import write_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from digitcli.cli import app
from digitcli.config import SETTINGS
from digitcli.errors import ImageError
from digitcli.reading import decode as D
from digitcli.reading import pipeline as P


def prepared_or_clean_error(call, *args) -> None:
    try:
        result = call(*args)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    if result.found:
        assert result.digit.shape == (28, 28) and np.isfinite(result.digit).all()
        assert 0.0 <= result.digit.min() and result.digit.max() <= 1.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    prepared_or_clean_error(P.prepare_bytes, data)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP"]),
       st.binary(max_size=2048))
def test_arbitrary_bytes_behind_a_real_signature(magic, tail):
    prepared_or_clean_error(P.prepare_bytes, magic + tail)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_corrupted_real_images(seed, flips):
    """Real PNG and JPEG bytes with random bytes overwritten or cut off."""
    rng = np.random.default_rng(seed)
    image = synthetic.digit_on_paper(int(seed % 10), 96, seed=seed % 1000)
    for ext in (".png", ".jpg"):
        data = bytearray(synthetic.encode(image, ext))
        for _ in range(flips):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        cut = int(rng.integers(len(data) // 2, len(data) + 1))
        prepared_or_clean_error(P.prepare_bytes, bytes(data[:cut]))


@settings(max_examples=80, deadline=None)
@given(st.one_of(
    arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64))),
    arrays(np.uint8, st.tuples(st.integers(1, 48), st.integers(1, 48), st.sampled_from([1, 3, 4]))),
    arrays(np.uint16, st.tuples(st.integers(1, 48), st.integers(1, 48))),
    arrays(np.float32, st.tuples(st.integers(1, 32), st.integers(1, 32)),
           elements=st.floats(0, 1, width=32)),
))
def test_arbitrary_arrays(array):
    prepared_or_clean_error(P.prepare_array, array)


@pytest.fixture
def hostile_folder(tmp_path):
    """Every bad input the reliability issue lists, beside good ones."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    good = {d: synthetic.digit_on_paper(d, 240, seed=20 + d) for d in range(10)}
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "page.jpg").write_text("<!doctype html><html><body>404</body></html>")
    jpeg = synthetic.encode(good[0], ".jpg")
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "random.png").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    write_image(folder / "one_pixel.png", np.zeros((1, 1), np.uint8))
    write_image(folder / "all_white.png", np.full((300, 300), 255, np.uint8))
    write_image(folder / "all_black.png", np.zeros((300, 300), np.uint8))
    unreadable = write_image(folder / "no_permission.png", good[1])
    os.chmod(unreadable, 0)
    write_image(folder / "2_sixteen_bit.png", cv2.cvtColor(good[2], cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    bgra = np.zeros((240, 240, 4), np.uint8)
    bgra[:, :, 3] = 255 - cv2.cvtColor(good[3], cv2.COLOR_BGR2GRAY)
    write_image(folder / "3_transparent.png", bgra)
    write_image(folder / "4_drawing.webp", good[4], [cv2.IMWRITE_WEBP_QUALITY, 90])
    write_image(folder / "5_scan.tiff", good[5])
    (folder / "7_phone.jpg").write_bytes(synthetic.phone_photo_rotated(good[7]))
    big = cv2.resize(good[9], (9000, 9000), interpolation=cv2.INTER_LINEAR)
    write_image(folder / "9_huge.png", big, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return folder


def test_predict_over_hostile_folder(hostile_folder):
    result = CliRunner().invoke(app, ["predict", "-f", "jsonl", str(hostile_folder / "missing.jpg"),
                                      str(hostile_folder)])
    rows = {os.path.basename(r["path"]): r for r in map(json.loads, result.stdout.splitlines())}
    assert len(rows) == 15
    assert result.exit_code == 1 and "Traceback" not in result.output
    for name in ("missing.jpg", "empty.jpg", "page.jpg", "truncated.jpg", "random.png"):
        assert rows[name]["status"] == "error" and rows[name]["error"], rows[name]
    if os.geteuid() != 0:   # root reads any file
        assert rows["no_permission.png"]["error"] == "permission denied"
    for name in ("one_pixel.png", "all_white.png", "all_black.png"):
        assert rows[name]["status"] == "no digit" and rows[name]["digit"] is None, rows[name]
    for name in ("2_sixteen_bit.png", "3_transparent.png", "4_drawing.webp", "5_scan.tiff", "7_phone.jpg",
                 "9_huge.png"):
        assert rows[name]["digit"] == int(name[0]), rows[name]


def test_unreadable_file_gets_a_clear_row(tmp_path, monkeypatch):
    """Root reads any file, so the refusal is simulated where the file is opened."""
    import os

    from digitcli.reading.runner import as_item, prepare_item

    locked = tmp_path / "locked.png"
    locked.write_bytes(b"\x89PNG\r\n\x1a\n")
    opener = os.open

    def refuse(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return opener(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    row = prepare_item(as_item(locked))
    assert row.status == "error" and row.error == "permission denied"


def test_png_exif_orientation_is_honoured():
    """A PNG stored upside down with an eXIf chunk saying so reads as a 6, not a 9."""
    import struct
    import zlib

    upside_down = cv2.rotate(synthetic.digit_on_paper(6, 200, seed=3), cv2.ROTATE_180)
    png = cv2.imencode(".png", upside_down)[1].tobytes()
    tiff = (b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 3, 0)
            + struct.pack(">I", 0))
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    upright = D.decode_image(png[:33] + chunk + png[33:])[0]
    assert np.array_equal(upright, cv2.rotate(D.decode_image(png)[0], cv2.ROTATE_180))


def test_trailing_bytes_and_zero_padding_are_not_truncation():
    image = np.full((40, 40), 255, np.uint8)
    cv2.circle(image, (20, 20), 10, 0, 3)
    png = cv2.imencode(".png", image)[1].tobytes()
    jpg = cv2.imencode(".jpg", image)[1].tobytes()
    for data in (png + b"camera trailer" * 200, jpg + b"\0" * (3 * len(jpg))):
        assert D.decode_image(data)[0].shape[:2] == (40, 40)
    with pytest.raises(ImageError, match="truncated"):
        D.decode_image(png[: len(png) // 2])


def heic_bytes(image_bgr: np.ndarray) -> bytes:
    """An image encoded as HEIC (what iPhones save), by pillow-heif's libheif."""
    import io

    pillow_heif = pytest.importorskip("pillow_heif", reason='HEIC needs the [heic] extra: pip install ".[heic]"')
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    heif = pillow_heif.from_bytes(mode="RGB", size=(rgb.shape[1], rgb.shape[0]), data=rgb.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=90)
    return buffer.getvalue()


def test_heic_photo_is_read(tmp_path):
    data = heic_bytes(synthetic.digit_on_paper(6, 240, seed=4))
    assert D.sniff_format(data) == "HEIC"
    (tmp_path / "IMG_0001.HEIC").write_bytes(data)
    result = CliRunner().invoke(app, ["predict", str(tmp_path)])   # a folder walk finds .HEIC files too
    row = json.loads(result.stdout)
    assert result.exit_code == 0 and row["digit"] == 6 and row["status"] == "ok", result.output


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_behind_a_heic_header(tail):
    pytest.importorskip("pillow_heif")
    prepared_or_clean_error(P.prepare_bytes, b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + tail)


def test_heic_without_the_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pillow_heif", None)   # as if not installed
    with pytest.raises(ImageError, match=r'pip install "digitcli\[heic\]"'):
        D.decode_image(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)


BOMB_BUILDERS = {"PNG": lambda w, h: bombs.png(w, h, idat=b""), "JPEG": bombs.jpeg_with_fill_bytes, "GIF": bombs.gif,
                 "BMP": bombs.bmp, "WebP": bombs.webp, "TIFF": bombs.tiff}
MAX_SIDE = {"WebP": 16384}


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(BOMB_BUILDERS)), st.integers(1, 65535), st.integers(1, 65535))
def test_every_format_header_is_read_and_a_huge_claim_refused_before_decoding(fmt, width, height):
    width, height = min(width, MAX_SIDE.get(fmt, width)), min(height, MAX_SIDE.get(fmt, height))
    data = BOMB_BUILDERS[fmt](width, height)
    assert D.sniff_format(data) == fmt and D.image_dimensions(data) == (width, height)
    if width * height > SETTINGS.pipeline.max_pixels:
        with pytest.raises(ImageError, match="too large"):
            D.decode_image(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20000), st.integers(1, 20000), st.sampled_from([(8, 0), (8, 2), (8, 6), (16, 0), (16, 2), (16, 6)]))
def test_a_png_too_large_decoded_is_refused_by_its_bytes(width, height, depth_and_colour):
    depth, colour = depth_and_colour
    data = bombs.png(width, height, depth, colour, idat=b"")
    needed = width * height * {0: 1, 2: 3, 6: 4}[colour] * depth // 8
    if needed > SETTINGS.pipeline.max_decoded_bytes or width * height > SETTINGS.pipeline.max_pixels:
        with pytest.raises(ImageError, match="too large"):
            D.decode_image(data)


def test_a_16_bit_rgba_png_under_the_pixel_limit_is_still_refused():
    with pytest.raises(ImageError, match=r"14142x14142 pixels would take 1,526 MB"):
        D.decode_image(bombs.png(14142, 14142, depth=16, color_type=6, idat=b""))


@pytest.mark.parametrize("kind", synthetic.BLANK_PAGES)
def test_a_blank_page_is_no_digit(kind):
    from digitcli import Reader

    reader = Reader()
    for seed in range(4):
        page = synthetic.blank_page(kind, seed)
        for image in (page, synthetic.encode(page, ".jpg")):   # a JPEG's ringing greys a line's edges
            result = reader.read(image, f"{kind} {seed}")
            assert result.status.value == "no digit", (seed, result.number, result.confidence)


@pytest.mark.parametrize("kind", ["grid paper", "form box", "punched holes", "dark table"])
def test_a_digit_on_squared_paper_in_a_form_box_beside_holes_or_on_a_table_is_read(kind):
    from digitcli import Reader

    reader = Reader()
    for seed in range(4):
        page = synthetic.blank_page(kind, seed)
        height, width = page.shape[:2]
        page = synthetic.draw_digit(page, seed + 3, (width // 2, height // 2), int(min(height, width) * 0.3), seed=seed)
        result = reader.read(page)
        assert (result.number, result.status.value) == (str(seed + 3), "ok")


def test_a_digit_written_across_ruled_lines_stays_whole():
    """Removing a ruling keeps the ink where a stroke crosses a line."""
    page = synthetic.rule_lines(synthetic.paper(600, 500, seed=1), 30)
    page = synthetic.draw_digit(page, 8, (250, 300), 260, seed=1)
    with_ruling = P.prepare_array(page, config=P.variant(remove_ruling=False))
    without = P.prepare_array(page)
    assert without.found and with_ruling.found
    assert np.abs(without.digit - with_ruling.digit).mean() < 0.05


def test_a_tightly_cropped_one_touching_the_frame_is_still_read():
    from digitcli import Reader

    page = synthetic.digit_on_paper(1, 200, seed=2)
    rows, columns = np.nonzero(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) < 128)
    result = Reader().read(page[rows.min():rows.max() + 1, columns.min():columns.max() + 1])
    assert result.number == "1" and result.status.value == "ok"


def test_a_damaged_jpeg_is_read_but_never_ok(tmp_path):
    """libjpeg's "Corrupt JPEG data" warning reaches the row: the damaged
    image is read, its status is at most low confidence, and `error` says why."""
    jpeg = bytearray(synthetic.encode(synthetic.digit_on_paper(3, 200, seed=1), ".jpg"))
    scan = jpeg.find(b"\xff\xda")
    rng = np.random.default_rng(0)
    for position in rng.integers(scan + 40, len(jpeg) - 4, 6):
        jpeg[int(position)] ^= 0x5A
    assert D.decode_image(bytes(jpeg)).damage.startswith("damaged JPEG data (")
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(jpeg))
    record = json.loads(CliRunner().invoke(app, ["predict", str(path), "-f", "jsonl"]).stdout)
    assert record["status"] != "ok" and record["error"].startswith("damaged JPEG data")


def test_a_clean_jpeg_decodes_as_opencv_does_at_every_reduction():
    """libjpeg-turbo through simplejpeg: the same pixels as OpenCV's decoder."""
    image = synthetic.digit_on_paper(5, 900, seed=4)
    jpeg = synthetic.encode(image, ".jpg")
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
             8: cv2.IMREAD_REDUCED_COLOR_8}
    for factor, flag in flags.items():
        ours, damage = D.decode_jpeg(jpeg, (900, 900), factor)
        assert damage is None
        assert np.array_equal(ours, cv2.imdecode(np.frombuffer(jpeg, np.uint8), flag))


def test_a_jpeg_turned_by_exif_reports_its_upright_size():
    stored = synthetic.digit_on_paper(7, 200, seed=2)[:, :150]    # 150 wide, 200 tall
    decoded = D.decode_image(synthetic.with_exif_orientation(synthetic.encode(stored, ".jpg"), 6))
    assert decoded.image.shape[:2] == (150, 200) and decoded.size == (200, 150)


def _digit_ink(size: int = 120) -> np.ndarray:
    """A 4's ink as 0/1, anti-aliasing left out."""
    page = cv2.cvtColor(synthetic.digit_on_paper(4, size, seed=5), cv2.COLOR_BGR2GRAY)
    return (page < 128).astype(np.float32)


@pytest.mark.parametrize("maxval,dtype", [(15, np.uint8), (100, np.uint8), (1023, np.uint16), (4095, np.uint16)])
def test_a_pgm_whose_maxval_is_not_255_is_scaled(maxval, dtype):
    ink = _digit_ink()
    samples = np.round((1 - 0.85 * ink) * maxval).astype(dtype)
    header = f"P5\n{samples.shape[1]} {samples.shape[0]}\n# a comment\n{maxval}\n".encode()
    data = header + samples.astype(samples.dtype.newbyteorder(">")).tobytes()
    decoded = D.decode_image(data).image
    assert decoded.max() >= 250 and decoded.min() <= 45
    assert P.prepare_bytes(data).found


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (0.0, 255.0), (0.0, 65535.0), (-1.0, 1.0), (0.0, 1.0000001)])
def test_a_float_tiff_is_read_whatever_its_range(low, high):
    ink = _digit_ink()
    image = (low + (high - low) * (1 - ink)).astype(np.float32)
    image[0, 0] = np.nan
    data = cv2.imencode(".tiff", image)[1].tobytes()
    decoded = D.decode_image(data).image
    assert decoded.dtype == np.uint8 and decoded[60:].max() >= 250 and decoded.min() <= 5
    assert P.prepare_bytes(data).found


@pytest.mark.parametrize("background", [0, 255])
def test_white_ink_on_a_transparent_canvas_is_read(background):
    """A drawing app's PNG: white strokes, transparent elsewhere (the hidden
    colour black or white). Dark ink keeps going on white."""
    from digitcli import Reader

    alpha = (_digit_ink(200) * 255).astype(np.uint8)
    canvas = np.dstack([np.full((200, 200, 3), background, np.uint8), alpha])
    canvas[alpha > 0, :3] = 255
    white = Reader().read(synthetic.encode(canvas, ".png"))
    canvas[alpha > 0, :3] = 20
    dark = Reader().read(synthetic.encode(canvas, ".png"))
    assert white.number == dark.number == "4"


def test_a_folder_without_images_gets_its_own_row(tmp_path):
    """An empty folder named like an image, and a folder holding only
    sub-folders given without -r, do not silently drop out."""
    (tmp_path / "x.png").mkdir()
    (tmp_path / "outer" / "inner").mkdir(parents=True)
    write_image(tmp_path / "outer" / "inner" / "a.png", synthetic.digit_on_paper(2, 120, seed=1))
    good = write_image(tmp_path / "good.png", synthetic.digit_on_paper(3, 120, seed=2))
    result = CliRunner().invoke(app, ["predict", "-f", "jsonl", str(tmp_path / "x.png"), str(tmp_path / "outer"),
                                      str(good)])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1
    assert [(row["status"], row["error"]) for row in rows[:2]] == [
        ("error", "a folder with no images in it"),
        ("error", "a folder with no images directly in it, but sub-folders: pass -r (--recursive) to read them")]
    assert rows[2]["number"] == "3"


def test_a_scanners_black_margin_is_not_a_confident_one():
    """A small scan of a register row: a solid black strip down one side
    (top to bottom) is the scanner's margin, not a 1; the number is read."""
    from digitcli import Reader

    reader = Reader()
    for seed in range(3):
        page = synthetic.paper(190, 110, seed=seed)
        page[:, :24] = 12
        page = synthetic.draw_number(page, "26", (55, 40), 18, seed=seed)
        result = reader.read(page)
        assert (result.number, result.status.value) == ("26", "ok")


def test_faint_writing_beside_a_scanners_black_margin_is_read():
    """The margin is the brightest ink of all: thresholded with it, faint
    writing falls below the threshold. Taken out, the writing is read."""
    from digitcli import Reader

    reader = Reader()
    for seed in range(3):
        page = synthetic.paper(200, 110, seed=seed)
        page[:, :30] = 12
        page = synthetic.draw_number(page, "45", (60, 100), 20, ink=(160, 160, 160), seed=seed)
        result = reader.read(page)
        assert (result.number, result.status.value) == ("45", "ok")


def test_digits_written_on_a_fields_line_come_apart():
    """A cheque's or form's line across a wide crop, touching every digit,
    is taken out where no stroke crosses it: the number is read."""
    from digitcli import Reader

    reader = Reader()
    for seed in range(3):
        page = synthetic.paper(70, 150, seed=seed)
        cv2.line(page, (0, 58), (150, 58), (40, 40, 40), 2)
        page = synthetic.draw_number(page, "109", (30, 34), 46, seed=seed, advance=0.75)
        result = reader.read(page)
        assert (result.number, result.status.value) == ("109", "ok")


def test_a_large_round_digit_on_a_page_is_not_a_sheet():
    """Four corners describe a sheet closely from any starting point; a
    large 5 or 0 only loosely, so it stays ink."""
    from digitcli import Reader

    reader = Reader()
    for digit in (0, 5, 2, 7, 4):
        for seed in range(3):
            page = synthetic.paper(480, 460, seed=seed)
            page = synthetic.draw_digit(page, digit, (230, 240), 300, thickness=6, seed=seed, slant=0.0)
            assert reader.read(page).number == str(digit)
