"""The chat UI driven in a real browser: Debian's headless Chromium through Playwright.

Starts the Gradio app (real models, bundled article) on a free local port in a background
thread, asks a question about the article, uploads a document with a made-up fact and asks
about it. ``make test`` installs Chromium when it can (``tests/system_setup.sh``); without it these
tests are skipped with the reason and the command that fixes it, except where ``ZHQA_REQUIRE_SYSTEM_TESTS=1``
(CI sets it), where they fail, so CI cannot silently lose them. ``ZHQA_CHROMIUM`` overrides the path.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.filterwarnings("ignore:::gradio")]

CHROMIUM = os.environ.get("ZHQA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT_MS = 120_000  # the first question on a cold, busy CPU can take a while
FACT = "星河公司是一家虚构的航天材料企业。星河公司的创始人是李明远。公司成立于2016年，总部设在青岛。"


_served_bot: list = []  # the bot app_url serves, reused by guarded_url


@pytest.fixture(scope="module")
def app_url():
    from qa.config import Config
    from conftest import served_ui
    from ui import build_bot

    bot = build_bot(config=Config.from_env())
    _served_bot[:] = [bot]
    with served_ui(bot) as url:
        yield url


def browser_missing(reason: str) -> None:
    """Skip with ``reason`` and its fix, or fail where the browser tests are required (CI)."""
    if os.environ.get("ZHQA_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(reason + " (ZHQA_REQUIRE_SYSTEM_TESTS=1: the browser tests must run here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        browser_missing(f"Chromium not found at {CHROMIUM}: install it with 'apt-get install -y chromium' "
                        "(or point ZHQA_CHROMIUM at a Chromium binary), then rerun make test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_missing("playwright is not installed: pip install 'zhqa[test]' (or pip install playwright)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(app_url)
    pg.wait_for_selector("#zhqa-question textarea")
    yield pg
    context.close()


def _bot_messages(page):
    return page.locator('#zhqa-chat [data-testid="bot"]')


def ask(page, question: str) -> tuple[str, str]:
    """Type a question, press Enter, wait for the new answer; returns (bold answer span, whole message)."""
    before = _bot_messages(page).count()
    box = page.locator("#zhqa-question textarea")
    box.fill(question)
    box.press("Enter")
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    while _bot_messages(page).count() <= before:
        assert time.monotonic() < deadline, f"no answer to {question!r} within {ANSWER_TIMEOUT_MS / 1000:.0f} s"
        page.wait_for_timeout(200)
    message = _bot_messages(page).last
    strong = message.locator("strong").first
    return strong.inner_text().strip(), message.inner_text()


def test_ask_about_the_bundled_article(page):
    span, message = ask(page, "2023财年阿里活跃的公益幸福团有多少个？")
    assert "110" in span, f"expected 110 in the answer span, got {span!r}; full message: {message!r}"
    # the question stays visible, the supporting passage and the sources panel are filled in
    assert "2023财年阿里活跃的公益幸福团有多少个？" in page.locator('#zhqa-chat [data-testid="user"]').last.inner_text()
    assert page.locator("#zhqa-chat mark").count() >= 1
    assert page.locator("#zhqa-sources .zhqa-source").count() >= 1


def test_upload_a_document_then_ask_about_it(page, tmp_path):
    doc = tmp_path / "xinghe.txt"
    doc.write_text(FACT + "\n", encoding="utf-8")
    page.get_by_role("tab", name="文档 · Documents").click()
    page.locator("#zhqa-upload input[type=file]").set_input_files(str(doc))
    page.wait_for_selector('#zhqa-upload [aria-label="xinghe.txt"]')
    page.locator("#zhqa-add").click()
    page.wait_for_selector("#zhqa-doc-status >> text=已添加", timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#zhqa-docs >> text=xinghe").count() >= 1  # listed with its id
    page.get_by_role("tab", name="问答 · Chat").click()
    span, message = ask(page, "星河公司的创始人是谁？")
    assert "李明远" in span, f"expected 李明远 in the answer span, got {span!r}; full message: {message!r}"


# ---------------------------------------------------------------- a login, and a read-only server
@pytest.fixture(scope="module")
def guarded_url(app_url):
    """The same bot served again, read-only and behind a login (app_url built the bot)."""
    from conftest import served_ui

    with served_ui(_served_bot[0], read_only=True, auth=[("alice", "s3cret")]) as url:
        yield url


def test_log_in_ask_and_find_no_upload_or_remove(browser, guarded_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        pg.goto(guarded_url)
        pg.locator('input[data-testid="textbox"]').fill("alice")
        pg.locator('input[data-testid="password"]').fill("wrong")
        pg.get_by_role("button").first.click()
        pg.wait_for_timeout(1500)
        assert pg.locator("#zhqa-question textarea").count() == 0      # a wrong password gets nothing
        assert "凭据不正确" in pg.inner_text("body")                       # "Incorrect Credentials", zh-CN
        pg.locator('input[data-testid="textbox"]').fill("alice")               # the form was reset
        pg.locator('input[data-testid="password"]').fill("s3cret")
        pg.get_by_role("button").first.click()
        pg.wait_for_selector("#zhqa-question textarea")
        span, message = ask(pg, "2023财年阿里活跃的公益幸福团有多少个？")
        assert "110" in span, message
        pg.get_by_role("tab", name="文档 · Documents").click()
        pg.wait_for_selector("#zhqa-read-only")
        assert pg.locator("#zhqa-docs").count() == 1                   # the documents are listed
        for absent in ("#zhqa-upload", "#zhqa-add", "#zhqa-remove"):
            assert pg.locator(absent).count() == 0, absent
    finally:
        context.close()
