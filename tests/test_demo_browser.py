"""``rnn-mnist demo`` end to end: a real headless Chromium uploads a digit and reads the answer.

Skips where Chromium, chromedriver, selenium or gradio is missing, and fails under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from synthetic_mnist import synthetic_digits

from lightning_module.demo.reader import DigitReader

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_S = 180  # gradio's import and the first model load, on a busy CI machine
ANSWER_S = 60
ANSWERS = ("Prediction:", "Could not read the picture:", "No digit found:")  # reader's messages


def browser_or_skip() -> tuple[str, str]:
    """(chromium, chromedriver) paths; a skip locally, a failure under CI, when one is missing."""
    chromium = next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = shutil.which("chromedriver")
    missing = [
        what
        for what, found in (
            ("chromium", chromium),
            ("chromedriver", driver),
            ("selenium", importlib.util.find_spec("selenium")),
            ("gradio", importlib.util.find_spec("gradio")),
        )
        if not found
    ]
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                message + "; CI must install them (apt-get install chromium chromium-driver)"
            )
        pytest.skip(message)
    return chromium, driver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_server(tmp_path):
    """The URL of ``rnn-mnist demo`` running in a subprocess on a free localhost port."""
    port = free_port()
    log = open(tmp_path / "server.log", "w+")  # noqa: SIM115 - read back on failure
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lightning_module.cli",
            "demo",
            "--port",
            str(port),
            "--model",
            "lstm",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"the demo exited with {server.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(
                    f"the demo did not answer on {url} in {SERVER_START_S} s:\n{log.read()}"
                )
            time.sleep(0.5)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def browser():
    chromium, driver_path = browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)  # no sandbox: CI runs as root
    options.add_argument("--window-size=1400,1200")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def status_after_upload(driver, path: Path, previous: str) -> str:
    """Upload ``path`` through the page's file input and return the status once it changes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, ANSWER_S)
    file_input = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#demo-upload input[type=file]"))
    )
    file_input.send_keys(str(path))

    def answer(d) -> str | bool:
        # while the server works, gradio overlays "processing | 0.5s" on the old text
        text = " ".join(d.find_element(By.ID, "demo-status").text.split())
        return text if text != previous and text.startswith(ANSWERS) else False

    return wait.until(answer)


def open_upload_tab(driver) -> str:
    """Load the page, switch to the Upload tab and return the status text shown first."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, ANSWER_S)
    status = wait.until(ec.visibility_of_element_located((By.ID, "demo-status"))).text
    status = " ".join(status.split())
    wait.until(
        ec.element_to_be_clickable((By.XPATH, "//button[@role='tab'][normalize-space()='Upload']"))
    ).click()
    return status


@pytest.mark.slow
def test_the_demo_page_classifies_an_uploaded_digit_and_survives_a_broken_file(
    browser, demo_server, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, server = demo_server
    images, _ = synthetic_digits(4, seed=1)
    digit = tmp_path / "digit.png"
    Image.fromarray(images[3]).resize((84, 84)).save(digit)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    # the page renders the status as markdown: the bold marks are not in its text
    expected = DigitReader().read(digit, "lstm").message.split(", in ")[0].replace("**", "")

    browser.get(url)
    status = status_after_upload(browser, digit, open_upload_tab(browser))
    assert status.split(", in ")[0] == expected  # "Prediction: 7 (…%) by the lstm model"
    WebDriverWait(browser, ANSWER_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#demo-readout img")
    )

    browser.get(url)  # a fresh page, so the upload box is empty again
    status = status_after_upload(browser, broken, open_upload_tab(browser))
    assert status.startswith("Could not read the picture: broken.png: ")
    assert server.poll() is None  # the server is still up
