"""The documentation holds together: every relative link in README.md and docs/*.md reaches a file
(and its `#anchor` a heading of that file), and the README stays a short front door."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 160
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`[^`]*`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto: ...


def prose_lines(text: str):
    """(line number, line) outside fenced code blocks: a link or heading inside ``` is an example."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def heading_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: link text kept, formatting and punctuation dropped,
    lower case, spaces to hyphens."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title.strip())
    title = re.sub(r"[^\w\- ]", "", title.lower())
    return title.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = heading_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")  # GitHub numbers repeated headings
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Every relative link of a markdown file that reaches no file, or no heading of its file."""
    problems = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if EXTERNAL.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.name}:{number}: ({target})"
            if not linked.is_file():
                shown = linked.relative_to(root) if linked.is_relative_to(root) else linked
                problems.append(f"{where} no file {shown}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{where} no heading '#{anchor}' in {linked.name}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    problems = broken_links(path)
    assert not problems, "broken links (fix the path, or the heading the anchor names):\n" + "\n".join(problems)


DOC_MENTION = re.compile(r"docs/[\w.-]+\.md(?:#[\w-]+)?")


def test_docs_named_in_code_and_data_exist():
    """Code comments, messages and planner/reference_costs.json cite docs pages (and their sections by
    anchor): a renamed page or heading must not leave them pointing nowhere."""
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    problems = []
    for name in tracked.splitlines():
        path = ROOT / name
        if path.suffix == ".md" or path == Path(__file__).resolve() or not path.is_file():
            continue  # markdown is checked link by link above; this file names broken links on purpose
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for mention in DOC_MENTION.findall(line):
                page, _, anchor = mention.partition("#")
                if not (ROOT / page).is_file():
                    problems.append(f"{name}:{number}: {mention}: no file {page}")
                elif anchor and anchor not in anchors(ROOT / page):
                    problems.append(f"{name}:{number}: {mention}: no heading '#{anchor}' in {page}")
    assert not problems, "docs cited where they are not:\n" + "\n".join(problems)


def test_readme_stays_a_short_front_door():
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines (at most {README_MAX_LINES}): move the detail "
                                       f"to a page under docs/ and link it from the README's table")


def test_a_broken_link_or_anchor_is_caught(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Run `it` twice, then (again)\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[fine](docs/page.md) [fine too](docs/page.md#run-it-twice-then-again) [web](https://example.org)\n"
        "`[not a link](nowhere.md)`\n```\n[an example](nowhere.md)\n```\n"
        "[gone](docs/missing.md)\n[no such heading](docs/page.md#run-it-once)\n[here](#nothing-here)\n",
        encoding="utf-8")
    assert broken_links(readme, root=tmp_path) == [
        "README.md:6: (docs/missing.md) no file docs/missing.md",
        "README.md:7: (docs/page.md#run-it-once) no heading '#run-it-once' in page.md",
        "README.md:8: (#nothing-here) no heading '#nothing-here' in README.md",
    ]
