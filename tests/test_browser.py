"""The drawing page in a real browser: `digitcli serve` in its own process,
Debian's headless Chromium driven by Selenium (chromedriver from the
`chromium-driver` package; nothing is downloaded). Digits are drawn with
pointer events, by mouse and by finger, and a photo is uploaded.

Set DIGITCLI_SCREENSHOT=path.png to keep a screenshot of the page (the
README's)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason='needs the [serve] extra: pip install ".[serve]"')
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the [test] extra)")

from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_serve import start_server

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
Stroke = list[tuple[float, float]]   # points in the drawing area, 0-1 across and down


def chromium_paths() -> tuple[str, str]:
    browser = next((path for path in map(shutil.which, BROWSERS) if path), None)
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no Chromium and chromedriver on this machine: apt-get install chromium chromium-driver")
    return browser, driver


@pytest.fixture(scope="module")
def server():
    process, url = start_server()
    yield url
    process.terminate()
    process.communicate(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--force-device-scale-factor=1", "--window-size=1100,760"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def open_page(browser, url: str, width: int = 1100, height: int = 760):
    browser.set_window_size(width, height)
    browser.get(url)
    WebDriverWait(browser, 20).until(lambda b: b.find_element(By.ID, "model").text)   # the script ran
    return browser.find_element(By.ID, "pad")


def draw(browser, pad, strokes: list[Stroke], pointer: str = interaction.POINTER_MOUSE) -> None:
    """Each stroke as pointer down, moves, pointer up, in the canvas's own
    coordinates (Selenium's element offsets are from its centre)."""
    width, height = pad.size["width"], pad.size["height"]
    actions = ActionBuilder(browser, mouse=PointerInput(pointer, pointer), duration=10)
    for stroke in strokes:
        for index, (u, v) in enumerate(stroke):
            actions.pointer_action.move_to(pad, round((u - 0.5) * width), round((v - 0.5) * height))
            if index == 0:
                actions.pointer_action.pointer_down()
        actions.pointer_action.pointer_up()
    actions.perform()


def line(start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> Stroke:
    return [(start[0] + (end[0] - start[0]) * t / steps, start[1] + (end[1] - start[1]) * t / steps)
            for t in range(steps + 1)]


def ellipse(centre: tuple[float, float], across: float, down: float, steps: int = 24) -> Stroke:
    return [(centre[0] + across * math.sin(2 * math.pi * t / steps), centre[1] - down * math.cos(2 * math.pi * t / steps))
            for t in range(steps + 2)]


SEVEN = [line((0.42, 0.2), (0.58, 0.2)) + line((0.58, 0.2), (0.47, 0.82))[1:]]
ONE_SEVEN_ZERO = [line((0.3, 0.2), (0.3, 0.8)),
                  line((0.4, 0.2), (0.54, 0.2)) + line((0.54, 0.2), (0.45, 0.8))[1:],
                  ellipse((0.67, 0.5), 0.07, 0.3)]


def reading(browser, reads_before: int) -> tuple[str, str]:
    """The number the page shows once a new reading has come in, and its status."""
    number = browser.find_element(By.ID, "number")
    WebDriverWait(browser, 20).until(lambda b: int(number.get_attribute("data-reads")) > reads_before)
    return number.text, number.get_attribute("data-status")


def reads_so_far(browser) -> int:
    return int(browser.find_element(By.ID, "number").get_attribute("data-reads"))


def pad_shown(browser) -> bool:
    return browser.find_element(By.ID, "pad").is_displayed()


def test_drawn_digit_is_read(browser, server):
    pad = open_page(browser, server)
    draw(browser, pad, SEVEN)
    assert reading(browser, 0) == ("7", "ok")
    bars = browser.find_elements(By.CSS_SELECTOR, "#digits li")
    assert len(bars) == 1 and bars[0].find_element(By.CSS_SELECTOR, ".percent").text.endswith("%")
    crop = bars[0].find_element(By.TAG_NAME, "img")
    assert crop.get_attribute("src").startswith("data:image/png")   # the 28x28 the model saw
    assert browser.execute_script("return arguments[0].naturalWidth", crop) == 28


def test_drawn_number_is_read_and_clear_starts_again(browser, server):
    pad = open_page(browser, server)
    draw(browser, pad, ONE_SEVEN_ZERO)
    assert reading(browser, 0) == ("170", "ok")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#digits li")) == 3
    assert not browser.find_element(By.ID, "photo").is_displayed()
    if os.environ.get("DIGITCLI_SCREENSHOT"):
        browser.save_screenshot(os.environ["DIGITCLI_SCREENSHOT"])
    browser.find_element(By.ID, "clear").click()
    assert browser.find_element(By.ID, "number").text == "\u2013"
    assert browser.find_elements(By.CSS_SELECTOR, "#digits li") == []


def test_uploaded_photo_is_read(browser, server):
    open_page(browser, server)
    photo = ROOT / "samples" / "n17_exam_mark_red_pen.jpg"
    browser.find_element(By.ID, "file").send_keys(str(photo))
    assert reading(browser, 0) == ("17", "ok")
    assert browser.find_element(By.ID, "photo").is_displayed() and not pad_shown(browser)


def test_uploaded_non_image_shows_the_error(browser, server, tmp_path):
    open_page(browser, server)
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    browser.find_element(By.ID, "file").send_keys(str(notes))
    assert reading(browser, 0) == ("cannot read", "error")
    assert "not an image" in browser.find_element(By.ID, "status").text


def test_phone_screen_and_a_finger(browser, server):
    pad = open_page(browser, server, width=390, height=844)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert pad.size["width"] <= 390
    draw(browser, pad, SEVEN, pointer=interaction.POINTER_TOUCH)
    assert reading(browser, 0) == ("7", "ok")
