"""Write samples/: images that show what `digitcli predict` handles.

Every sample is drawn here, as pen strokes of our own on synthetic paper; nothing is copied from any data set. The file
name starts with the true digit, with n and the digits of a number (a dash where the image holds two numbers),
or with x for something that is not a digit (predict should flag it as low confidence). Run from the repository root:

    python scripts/make_samples.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import (
    NON_DIGITS,
    add_shadow,
    add_vignette,
    digit_on_paper,
    draw_digit,
    draw_number,
    draw_strokes,
    encode,
    paper,
    phone_photo_rotated,
    rule_lines,
)

OUT = Path(__file__).resolve().parent.parent / "samples"


def samples() -> dict[str, bytes]:
    jpg = [cv2.IMWRITE_JPEG_QUALITY, 88]
    out: dict[str, bytes] = {}

    out["0_black_marker.jpg"] = encode(add_vignette(digit_on_paper(0, 480, seed=1, thickness=14)), ".jpg", jpg)
    out["1_blue_ballpoint.jpg"] = encode(
        digit_on_paper(1, 400, seed=2, ink=(140, 60, 20), thickness=6), ".jpg", jpg)

    shadowed = draw_digit(paper(600, 600, seed=3), 2, (300, 300), 330, (40, 40, 50), 16)
    out["2_shadow_across.jpg"] = encode(add_shadow(shadowed, 0.4), ".jpg", jpg)

    ruled = rule_lines(paper(700, 900, (225, 240, 245), seed=4), 48, margin_x=120)
    out["3_ruled_notebook.jpg"] = encode(draw_digit(ruled, 3, (460, 360), 200, (120, 40, 20), 9), ".jpg", jpg)

    page = add_vignette(paper(1500, 2000, seed=5), 0.25)
    out["4_small_on_page.jpg"] = encode(draw_digit(page, 4, (1200, 700), 160, (20, 20, 20), 10, seed=5),
                                        ".jpg", jpg)

    board = paper(360, 360, (50, 70, 40), seed=6, grain=6)
    out["5_chalk_on_board.png"] = encode(draw_digit(board, 5, (180, 180), 220, (225, 230, 230), 14), ".png")

    canvas = np.zeros((280, 280, 4), np.uint8)   # a transparent canvas drawing: ink only in alpha
    stroke = draw_digit(np.zeros((280, 280, 3), np.uint8), 6, (140, 140), 200, (255, 255, 255), 18, seed=6)
    canvas[:, :, 3] = stroke[:, :, 0]
    out["6_transparent_canvas.png"] = encode(canvas, ".png")

    out["7_red_ink_green_paper.jpg"] = encode(
        digit_on_paper(7, 360, seed=7, ink=(50, 40, 200), paper_colour=(150, 205, 160),
                       thickness=12), ".jpg", jpg)

    pencil = digit_on_paper(8, 500, seed=8, ink=(150, 150, 150), thickness=5)
    out["8_faint_pencil.png"] = encode(cv2.cvtColor(pencil, cv2.COLOR_BGR2GRAY), ".png")

    out["9_phone_exif_rotated.jpg"] = phone_photo_rotated(
        add_shadow(digit_on_paper(9, 640, seed=9, ink=(35, 35, 35), thickness=18), 0.3, 2.2))

    gray16 = cv2.cvtColor(digit_on_paper(2, 256, seed=10, thickness=12), cv2.COLOR_BGR2GRAY)
    out["2_sixteen_bit.png"] = encode(gray16.astype(np.uint16) * 257, ".png")

    mnist_like = draw_digit(np.zeros((28, 28, 3), np.uint8), 3, (14, 14), 20, (255, 255, 255), 2, seed=13)
    out["3_mnist_style_28px.png"] = encode(cv2.cvtColor(mnist_like, cv2.COLOR_BGR2GRAY), ".png")

    out["4_webp_drawing.webp"] = encode(digit_on_paper(4, 300, seed=11, thickness=10), ".webp",
                                        [cv2.IMWRITE_WEBP_QUALITY, 90])
    out["5_scan.tiff"] = encode(digit_on_paper(5, 300, seed=12, thickness=10,
                                               paper_colour=(250, 250, 250)), ".tiff")

    letter = draw_strokes(paper(400, 400, seed=14), NON_DIGITS["letter_A"], (200, 200), 260, (30, 30, 40), 12)
    out["x_letter_A.jpg"] = encode(letter, ".jpg", jpg)
    smiley = draw_strokes(np.full((280, 280, 3), 255, np.uint8), NON_DIGITS["smiley"], (140, 140), 220,
                          (0, 0, 0), 10, slant=0.0)
    out["x_smiley_drawing.png"] = encode(smiley, ".png")
    meter = add_shadow(paper(300, 640, (228, 232, 236), seed=15), 0.35, 0.3)
    out["n0472_meter_reading_photo.jpg"] = encode(
        draw_number(meter, "0472", (140, 150), 150, (35, 35, 45), 10, seed=15, advance=0.75), ".jpg", jpg)
    cheque = paper(160, 520, (215, 225, 228), seed=16)
    yy, xx = np.mgrid[0:160, 0:520]
    cheque[(np.sin(xx / 9.0 + 3 * np.sin(yy / 23.0)) > 0.93)] = (175, 190, 195)   # a security pattern
    out["n1480_cheque_amount_touching.png"] = encode(
        draw_number(cheque, "1.480,-", (70, 80), 100, (60, 30, 25), 7, seed=16, advance=0.52), ".png")
    mark = paper(320, 360, (240, 242, 244), seed=17)
    out["n17_exam_mark_red_pen.jpg"] = encode(
        draw_number(mark, "17", (120, 160), 170, (40, 40, 200), 9, seed=17, advance=0.7), ".jpg", jpg)
    board = np.zeros((220, 700, 3), np.uint8)
    out["n2026_drawn_on_screen.png"] = encode(
        draw_number(board, "2026", (120, 110), 140, (255, 255, 255), 12, seed=18, advance=0.8, slant=0.05), ".png")
    form = paper(260, 760, seed=19)
    out["n12-345_two_numbers_on_a_form.jpg"] = encode(
        draw_number(form, "12 345", (90, 130), 110, (25, 25, 25), 7, seed=19, advance=0.72), ".jpg", jpg)
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, data in samples().items():
        (OUT / name).write_bytes(data)
        print(OUT / name)


if __name__ == "__main__":
    main()
