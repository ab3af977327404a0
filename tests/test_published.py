"""Every number that README.md and docs/results.md publish is one today's code gives:
each generated block records the numerics it was made with (the fingerprints of its
studies' digests on the test configuration, lxmert_lth.workflow.published), and the
prose quotes only what the blocks show."""

import shutil

import pytest

from conftest import ROOT
from lxmert_lth.workflow import published
from lxmert_lth.workflow.published import BLOCKS, REGENERATE


def test_every_published_block_was_made_with_todays_numerics():
    assert not published.stale_blocks(), "\n".join(published.stale_blocks())


def test_every_decimal_in_the_prose_is_shown_by_a_block():
    assert not published.unbacked_numbers(), "\n".join(published.unbacked_numbers())


def test_every_study_a_block_rests_on_is_checked_by_a_test():
    """Each study's digests exist, and a test compares its run with them."""
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for study in sorted({s for b in BLOCKS for s in b.studies} - {"default"}):
        assert published.digests_path(study).exists(), study
        assert f'check_study_digests("{study}"' in tests or study in ("visualbert", "vilt")
    assert "check_study_digests(name, results)" in (ROOT / "tests/test_families.py").read_text()


@pytest.fixture
def pages(tmp_path):
    for page in ("README.md", "docs/results.md"):
        (tmp_path / page).parent.mkdir(exist_ok=True)
        shutil.copyfile(ROOT / page, tmp_path / page)
    return tmp_path


def test_a_block_made_with_other_numerics_is_named_with_the_command_that_regenerates_it(pages):
    page = pages / "docs/results.md"
    text = page.read_text()
    controls = f"controls={published.fingerprint('controls')}"
    assert text.count(controls) == 1
    page.write_text(text.replace(controls, "controls=000000000000"))
    assert published.stale_blocks(pages) == [
        "docs/results.md: block 'studies' was made with other numerics than today's "
        f"(controls moved since); regenerate it: {REGENERATE}"
    ]


def test_a_block_recording_no_numerics_is_stale(pages):
    readme = pages / "README.md"
    line = published.numerics_line("headline")
    readme.write_text(readme.read_text().replace(line + "\n", ""))
    assert published.stale_blocks(pages) == [
        f"README.md: block 'headline' records no numerics; regenerate it: {REGENERATE}"
    ]


def block(name: str, body: str) -> str:
    return f"<!-- {name}: written by tools/update_readme.py -->\n{body}\n<!-- end of {name} -->"


def test_prose_may_quote_a_block_to_fewer_digits_and_nothing_else(tmp_path):
    (tmp_path / "docs").mkdir()
    table = "| reinitialised | 55.47 ± 13.63 | 99.85 |"
    (tmp_path / "docs/results.md").write_text(
        "It collapses (55.5; 13.6 over seeds), 99.9 and 99.85 kept, `1.23` and [x](a/2.5.md) "
        "are code and links, 72.45 is the paper's; 55.4 is typed.\n\n" + block("results", table)
    )
    (tmp_path / "README.md").write_text("Kept 99.9, not 99.8.\n")
    assert published.unbacked_numbers(tmp_path) == [
        "README.md: 99.8 is in no block it quotes",
        "docs/results.md: 55.4 is in no block it quotes",
    ]


def test_a_run_is_todays_code_whatever_the_test_tools_but_not_the_dependencies(tmp_path):
    """tools/update_readme.py compares pyproject.toml's runtime entries: a commit that
    changes the test tools (the dev extra, pytest's options) alone is today's code, one
    that changes a pinned dependency is not."""
    import subprocess
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from update_readme import runtime_of

    def commit(text: str) -> str:
        (tmp_path / "pyproject.toml").write_text(text)
        git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "add", "pyproject.toml"], check=True)
        subprocess.run([*git, "commit", "-qm", "c"], check=True)
        head = [*git, "rev-parse", "HEAD"]
        return subprocess.run(head, capture_output=True, text=True).stdout.strip()

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    project = '[project]\nname = "x"\ndependencies = ["torch==2.1"]\n'
    first = commit(project + '[project.optional-dependencies]\ndev = ["pytest"]\n')
    tools = commit(project + '[project.optional-dependencies]\ndev = ["pytest", "x"]\n')
    pins = commit(project.replace("2.1", "2.2"))
    assert runtime_of(first, tmp_path) == runtime_of(tools, tmp_path)
    assert runtime_of(first, tmp_path) != runtime_of(pins, tmp_path)
