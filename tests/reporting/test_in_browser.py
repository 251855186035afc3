"""The HTML report opened in a real browser: headless Chromium (Debian's `chromium` package) driven
by Playwright, pointed at that executable (no `playwright install`, no download). Skipped where no
browser is installed; `.ci/run` installs one, so CI runs it."""
import shutil

import pytest

CHROMIUM = shutil.which("chromium")
# No network, no sync, no updater: the page is a single file and must load with nothing else.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Everything the page shows, as the browser laid it out.
PAGE_CONTENTS = """() => ({
  title: document.title,
  figures: [...document.querySelectorAll("img, svg")].map(e => e.tagName === "IMG"
      ? {what: e.alt || e.src.slice(0, 60), width: e.naturalWidth, height: e.naturalHeight}
      : {what: "svg", width: e.getBoundingClientRect().width, height: e.getBoundingClientRect().height}),
  tables: [...document.querySelectorAll("table")].map(t => ({
      rows: [...t.tBodies].reduce((n, b) => n + b.rows.length, 0)})),
})"""
# The sources of the images that finished loading with nothing to show (missing or undecodable).
UNSHOWN_IMAGES = """() => [...document.images].filter(i => i.complete && i.naturalWidth === 0)
    .map(i => i.src)"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium with a fresh user-data folder for the module's tests."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: `apt-get install -y chromium` (Debian; .ci/run does it) to open the "
                    "report in a browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                                   "pip install -r requirements.txt")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS)
        yield context
        context.close()


def short(url: str) -> str:
    """A URL cut for a message: a data URL's start, a file's end (its name; a pytest-xdist tmp path
    is long enough to push the name past a cut from the start)."""
    if len(url) <= 100:
        return url
    return url[:60] + "..." if url.startswith("data:") else "..." + url[-80:]


def open_page(browser, path):
    """Load `path` and return what the page holds, with the console errors, uncaught script
    errors and failed requests seen while it loaded."""
    page = browser.new_page()
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request {short(r.url)}: {r.failure}"))
    response = page.goto(path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    contents = page.evaluate(PAGE_CONTENTS)
    # Images that did not show, read from the page itself: a corrupt inline image fails no request.
    problems += [f"image not shown: {short(src)}" for src in page.evaluate(UNSHOWN_IMAGES)]
    page.close()
    return response, contents, problems


def test_the_report_renders_in_chromium(browser, fake_run):
    response, contents, problems = open_page(browser, fake_run["index"])
    assert response is not None and response.ok
    assert problems == []
    assert "report" in contents["title"].lower()
    html = fake_run["html"]
    # Every figure the HTML holds was decoded: the leaderboard, per model a confusion matrix and F1
    # bars, the careful model's training curves, and the error galleries' product photos.
    assert len(contents["figures"]) == html.count("<img ") >= 6
    empty = [f for f in contents["figures"] if not (f["width"] > 0 and f["height"] > 0)]
    assert empty == []
    # The leaderboard and each model's classification report, each with rows.
    assert len(contents["tables"]) == 3
    assert [t["rows"] for t in contents["tables"]] == [2, 6, 6]


def test_a_broken_page_is_caught(browser, tmp_path):
    """The same checks on a page with what they look for: they are not blind."""
    broken = tmp_path / "broken.html"
    broken.write_text('<title>broken</title><img src="missing.png" alt="missing">'
                      '<img src="data:image/png;base64,AAAA" alt="corrupt">'
                      "<table><thead><tr><th>x</th></tr></thead><tbody></tbody></table>"
                      '<script>console.error("boom")</script>')
    _, contents, problems = open_page(browser, broken)
    assert any("missing.png" in p for p in problems), (problems, contents)
    assert any(p.startswith("image not shown: data:image/png") for p in problems)
    assert "console error: boom" in problems
    assert [(f["what"], f["width"]) for f in contents["figures"]] == [("missing", 0), ("corrupt", 0)]
    assert contents["tables"][0]["rows"] == 0
