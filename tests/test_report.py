"""The report a researcher sends a colleague: `snakemake --report report.zip` of the test
configuration's run, its items, labels and captions, and what a real browser shows of it.

The browser is Chromium from Debian's packages, headless, installed when missing where
the suite runs as root with apt-get (as CI does); elsewhere that test says why it skips.
Its screenshots are kept under the test's tmp folder (the path is printed) to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from matplotlib.image import imread

from conftest import load_config, snakemake
from lxmert_lth.pruning.chain import fine_tunes

CONFIG = load_config()
RESULTS = CONFIG["results"]


@pytest.fixture(scope="module")
def report(test_run, tmp_path_factory) -> Path:
    """The report of the finished test run, unpacked: its report.html's folder."""
    out = tmp_path_factory.mktemp("report")
    snakemake(test_run, "--report", str(out / "report.zip"))
    with zipfile.ZipFile(out / "report.zip") as archive:
        archive.extractall(out)
    return out / "report"


def report_globals(html: str, name: str) -> dict:
    """One of the JSON objects the report's page script declares (var NAME = {...};)."""
    found = re.search(rf"var {name} = (\{{.*?\}});\n", html, re.S)
    assert found, f"report.html declares no {name}"
    return json.loads(found.group(1))


def test_every_network_has_its_training_curves_labelled(report):
    html = (report / "report.html").read_text()
    results = report_globals(html, "results")
    categories = report_globals(html, "categories")
    curves = categories["Training curves"]["per network"]
    networks = sorted(fine_tunes(CONFIG["study"], CONFIG["pruning"]))
    assert len(curves) == len(networks)
    for network in networks:
        item = results[f"{RESULTS}/curves/{network.folder}.png"]
        assert item["labels"] == {
            "seed": str(network.seed),
            "kind": network.kind,
            "sparsity": f"{network.sparsity:02d}",
        }
        assert (report / item["data_uri"]).stat().st_size > 10_000  # a drawn figure
        # The caption is rendered from the configuration: its seeds and its split.
        assert f"(seeds {CONFIG['study']['seeds']};" in item["caption"]
        assert "easy-VQA&#x27;s test split" in item["caption"] or (
            "easy-VQA's test split" in item["caption"]
        )
    overview = categories["Training curves"]["overview"]
    assert {results[p]["labels"]["figure"] for p in overview} == {
        "every sparsity, per kind",
        "pre-training",
    }


def test_every_table_and_figure_is_in_the_report_with_its_caption(report):
    html = (report / "report.html").read_text()
    results = report_globals(html, "results")
    seeds = str(CONFIG["study"]["seeds"])
    expected = {
        "table1.html": ("Table 1.", {"sparsity": "50", "split": "test"}),
        "figure1.png": ("Figure 1.", {"split": "test"}),
        "module_sparsity.html": ("Where the tickets prune.", {"view": "table", "sparsity": "50"}),
        "module_sparsity.png": ("Where the tickets prune.", {"view": "figure", "sparsity": "50"}),
        "benchmarks/costs.html": ("Costs.", {"table": "per rule, and the paper configuration"}),
    }
    for name, (caption, labels) in expected.items():
        item = results[f"{RESULTS}/{name}"]
        assert caption in item["caption"], name
        assert seeds in item["caption"], name
        assert item["labels"] == labels, name
    assert "test split" in results[f"{RESULTS}/table1.html"]["caption"]


def test_the_costs_table_accounts_for_every_benchmarked_job(test_run):
    costs = (test_run / RESULTS / "benchmarks" / "costs.csv").read_text().splitlines()
    rows = {line.split(",")[0]: line.split(",") for line in costs[1:]}
    networks = fine_tunes(CONFIG["study"], CONFIG["pruning"])
    assert int(rows["finetune_dense"][1]) == len(CONFIG["study"]["seeds"])
    for kind in CONFIG["study"]["kinds"]:
        assert int(rows[f"retrain {kind}"][1]) == sum(n.kind == kind for n in networks)
    assert int(rows["all benchmarked jobs"][1]) == len(networks) + 2  # features, pretrain
    md = (test_run / RESULTS / "benchmarks" / "costs.md").read_text()
    assert "| paper: fine-tunes" in md and "84 |" in md


def chromium() -> str:
    """A headless-capable Chromium, installed from Debian's packages when missing and
    the suite runs as root (as CI does)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("no Chromium, and installing one needs root and apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
        if proc.returncode != 0:
            pytest.skip(f"chromium could not be installed: {proc.stderr[-300:]}")
    return shutil.which("chromium")


# Opens one view of the report once its page has loaded, through the report app's own
# setView (what a click on the item does).
VIEW = """
<script>
window.addEventListener("load", () => setTimeout(() => {{
  const item = {item};
  const view = {{navbarMode: "subcategory", category: {category}, subcategory: {sub}}};
  if (item) Object.assign(view, {{content: item.endsWith(".html") ? "html" : "img",
                                  contentPath: results[item].data_uri, resultPath: item}});
  app.setView(view);
}}, 300));
</script>
"""


def open_view(report: Path, name: str, category: str, subcategory: str, item: str | None):
    """A copy of the report page that opens one category (and item) once loaded."""
    page = report / f"view-{name}.html"
    script = VIEW.format(
        category=json.dumps(category), sub=json.dumps(subcategory), item=json.dumps(item)
    )
    head, tail = (report / "report.html").read_text().rsplit("</body>", 1)
    page.write_text(head + script + "</body>" + tail)
    return page


def browse(page: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a page, given time to run the report app."""
    return subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=15000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_report_renders_in_a_real_browser(report, tmp_path):
    """Each view as the browser draws it: the screenshot to look at, and the page as the
    report app left it (its DOM), which must show the item opened and the labels."""
    results = report_globals((report / "report.html").read_text(), "results")
    low50 = f"{RESULTS}/curves/seed0/low50.png"
    views = {
        "curves": ("Training curves", "per network", low50),
        "figure1": ("Figure 1", "Other", f"{RESULTS}/figure1.png"),
        "costs": ("Costs", "Other", f"{RESULTS}/benchmarks/costs.html"),
        "table1": ("Table 1", "Other", f"{RESULTS}/table1.html"),
    }
    for name, (category, sub, item) in views.items():
        page = open_view(report, name, category, sub, item)
        shot = tmp_path / f"{name}.png"
        proc = browse(page, f"--screenshot={shot}")
        assert shot.exists(), proc.stderr[-2000:]
        image = imread(shot)
        assert image.shape[:2] == (1000, 1400), name
        assert (image[..., :3] < 0.9).any(axis=2).mean() > 0.02, f"{name}: a blank page"
        dom = browse(page, "--dump-dom").stdout
        assert "Snakemake" in dom and "Report" in dom, f"{name}: the report app did not run"
        if item:  # the item opened is drawn from its own file
            assert f'src="{results[item]["data_uri"]}"' in dom, name
    print(f"screenshots of the report: {tmp_path}")
    # The curves' subcategory lists every network with its labels as table columns.
    dom = browse(open_view(report, "labels", "Training curves", "per network", None),
                 "--dump-dom").stdout  # fmt: skip
    for label in ("seed", "kind", "sparsity"):
        assert f">{label}<" in dom, label


def test_markdown_tables_become_html_for_the_report():
    from lxmert_lth.reporting.report import markdown_to_html

    text = (
        "Caption with `code` & <angle>.\n\n"
        "| method   |   seeds | Overall      |\n"
        "|:---------|--------:|:-------------|\n"
        "| low      |       3 | 99.98 ± 0.01 |\n"
        "| a|b      |       2 | –            |\n"
    )
    page = markdown_to_html(text.replace("| a|b ", "| ab  "), "t")
    assert "<p>Caption with <code>code</code> &amp; &lt;angle&gt;.</p>" in page
    assert '<th class="">method</th><th class="r">seeds</th>' in page
    assert '<td class="">low</td><td class="r">3</td><td class="">99.98 ± 0.01</td>' in page
    assert page.count("<tr>") == 3 and page.startswith("<!DOCTYPE html>")


def test_the_highest_sparsity_whose_ticket_keeps_99_percent_of_dense():
    import pandas as pd

    from lxmert_lth.reporting.report import build_runs_table, highest_sparsity_kept

    rows = [("dense", 0, seed, 80.0) for seed in (0, 1)]
    # 99 % of 80 is 79.2: kept at 10 (mean 79.5) and 30 (mean 79.2), not at 20 or 40.
    for s, accs in {10: (79.0, 80.0), 20: (79.0, 79.3), 30: (79.2, 79.2), 40: (60.0, 90.0)}.items():
        rows += [("low", s, seed, acc) for seed, acc in zip((0, 1), accs, strict=True)]
    scores = pd.DataFrame(rows, columns=["kind", "sparsity", "seed", "overall"])
    scores["num_pruned"], scores["num_prunable"] = scores.sparsity, 100
    assert highest_sparsity_kept(scores) == 30
    assert highest_sparsity_kept(scores[scores.sparsity != 30]) == 10
    assert highest_sparsity_kept(scores[scores.sparsity.isin([0, 20])]) is None
    table = build_runs_table({"a": scores}, 10)
    assert table["keeps 99% of dense up to"].tolist() == ["30%"]


def test_the_costs_job_asks_for_no_dense_fine_tune_the_study_does_not_make(tmp_path):
    """With one shared dense network (study.dense_seed), the costs job reads that one's
    theta_0: the plan holds one dense fine-tune, not one more for the first seed."""
    import yaml

    from conftest import load_config

    config = load_config()
    config["study"]["dense_seed"] = 9595
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "-n", "--quiet", "rules", configfile=path).stdout
    counts = {w[0]: w[1] for w in map(str.split, out.splitlines()) if len(w) == 2}
    assert counts["finetune_dense"] == "1" and counts["job_costs"] == "1"


def test_an_empty_benchmark_file_is_named_with_what_to_do(tmp_path):
    """What a disk that fills while Snakemake writes a job's benchmark leaves behind."""
    from lxmert_lth.core.errors import InputError
    from lxmert_lth.reporting.costs import read_benchmark

    path = tmp_path / "retrain_random25.tsv"
    path.write_text("")
    with pytest.raises(InputError, match=f"{path}: an empty benchmark file .* delete it, and its"):
        read_benchmark(str(path))
