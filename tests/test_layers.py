"""The package's architecture (docs/development.md, "Layout"): layers that import only
the layers below them, no import cycle, a torch-free core and Snakefile parse, and a
function-local import only where it keeps torch out of a module that must not load it."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lxmert_lth"
# torch and transformers: about 2 s to import; the Snakefile's parse and the data and
# report jobs never pay for them.
HEAVY = ("torch", "transformers")


def test_the_import_contracts_are_kept():
    """import-linter's contracts in pyproject.toml: the layers, no cycle at any depth, a
    core without torch."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "3 kept, 0 broken" in out.stdout


def test_the_snakefile_parse_imports_no_torch():
    """What the Snakefile and rules/common.smk import, and the registries they read."""
    code = (
        "import sys\n"
        "import lxmert_lth.workflow.rules, lxmert_lth.workflow.checks\n"
        "import lxmert_lth.pruning.kinds, lxmert_lth.models.families\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_heavy_at_top(module: str) -> bool:
    path = PACKAGE.parent / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in HEAVY for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in HEAVY:
            return True
    return False


def function_local_imports() -> list[tuple[str, str]]:
    """(importing module, imported module) of every import of the package's own modules
    made inside a function."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for func in ast.walk(ast.parse(path.read_text())):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "lxmert_lth"
                ):
                    found.append((_module(path), node.module))
    return found


def test_a_function_local_import_only_keeps_torch_out():
    """Each one defers a module that imports torch or transformers at its top, from a
    module the Snakefile's parse or a torch-free job reads; there are few."""
    found = function_local_imports()
    assert len(found) <= 20, found
    for importer, imported in found:
        assert _imports_heavy_at_top(imported), f"{importer}: {imported} can be imported at the top"


def _dataset_names_outside_data() -> list[str]:
    """Every string that names a registered dataset in the code outside ``data/``: the
    package's modules (string constants), the Snakefile, the rules and the job scripts."""
    from lxmert_lth.data.datasets import DATASETS

    names, found = set(DATASETS), []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "data") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    others = [
        ROOT / "Snakefile",
        *(ROOT / "rules").glob("*.smk"),
        *(ROOT / "workflow_scripts").glob("*.py"),
    ]
    for path in sorted(others):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {n}" for n in names if f'"{n}"' in line]
    return found


def test_no_code_branches_on_a_dataset_name():
    """A dataset is a declared object (``lxmert_lth.data.datasets``): what differs between
    datasets is read from it, and no code outside data/ names one."""
    assert _dataset_names_outside_data() == []


def test_functions_a_reader_can_hold_and_modules_under_400_lines():
    """docs/development.md, "How the code is kept": no function over 60 lines, no module
    over 400, in the package."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        name = path.relative_to(ROOT)
        if len(text.splitlines()) > 400:
            long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{name}:{node.lineno}: {node.name}, {lines} lines")
    assert long == []
