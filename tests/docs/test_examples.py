"""Every ``python`` code block in README.md and docs/ runs, so the documentation cannot rot.

The blocks of one page run in order in one namespace (a page reads like a notebook), in a fresh,
empty temporary folder: nothing but the installed package is there, so every example creates or
loads the data it uses — the bundled Adult data (``fairwatch.datasets.load_adult``), or a file an
earlier block of the same page wrote. A new user copying the page into an empty folder runs what
the test suite ran.

A block that cannot run here (it needs a server, a cluster, or the peers of the migration page) is
marked on the line just before its fence::

    <!-- skip-example: why it cannot run in the test suite -->

Skips need a reason and are kept few (``MAX_SKIPS``). In shell blocks, the offline commands
(``fairwatch audit``, ``audit-model``, ``compare`` and ``impact-ratio``: ``RUNNABLE_COMMANDS``) run
too, after the page's python blocks and in the same folder, so the files they read must be written
by the page; they must exit 0 (or 1, the CI gate, when they have ``--fail-if``). A shell block that
cannot run here takes the same marker. Every other ``fairwatch <command> --option`` must name a real
command and options, so a renamed flag breaks the build.
"""

from __future__ import annotations

import re
import shlex
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
SKIP = re.compile(r"^<!--\s*skip-example:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[A-Za-z0-9_+-]*)[^\n]*$")
#: Upper bound on skipped blocks over README and docs: a skip is an exception, not a habit.
MAX_SKIPS = 8
#: Upper bound on skipped shell blocks holding runnable commands.
MAX_SHELL_SKIPS = 3
#: Seconds one page's examples may take (the whole runner's budget is 60 s).
PAGE_BUDGET = 30.0
SHELL = ("bash", "sh", "shell", "console")
#: ``fairwatch`` commands of shell blocks that work offline on local files: the test runs them.
RUNNABLE_COMMANDS = frozenset({"audit", "audit-model", "compare", "impact-ratio"})


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    """The fenced code blocks of a markdown file, with their skip markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, lang, start = match.group("indent"), match.group("lang").lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skip = SKIP.match(previous.strip())
        yield Block(path, start + 1, lang, "\n".join(body) + "\n", skip.group("reason") if skip else None)
        i += 1


def python_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.lang in ("python", "py", "python3")]


def _shell_commands(block: Block) -> Iterator[list[str]]:
    """``fairwatch ...`` invocations of a shell block (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", block.code)
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
            try:
                tokens = shlex.split(part)
            except ValueError:
                tokens = part.split()
            while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):  # environment assignments
                tokens = tokens[1:]
            if tokens and tokens[0] == "fairwatch":
                yield tokens[1:]


def shell_commands(path: Path, *, skipped: bool = False) -> list[tuple[Block, list[str]]]:
    """The runnable ``fairwatch`` commands of a page's shell blocks (those of skipped blocks when
    ``skipped``), in page order."""
    found = []
    for block in blocks(path):
        if block.lang in SHELL and (block.skip_reason is not None) == skipped:
            found += [(block, args) for args in _shell_commands(block) if args and args[0] in RUNNABLE_COMMANDS]
    return found


PAGES_WITH_CODE = [page for page in PAGES if python_blocks(page) or shell_commands(page)]


@pytest.fixture
def isolated_registry() -> Iterator[None]:
    """Pages may register metrics (the guide shows how); the rest of the suite must not see them."""
    from fairwatch.metrics import _registry

    metrics, aliases = dict(_registry._REGISTRY), dict(_registry._ALIASES)
    yield
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(metrics)
    _registry._ALIASES.clear()
    _registry._ALIASES.update(aliases)


@pytest.mark.usefixtures("isolated_registry")
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    monkeypatch.chdir(folder)  # an empty folder: the page must create or load what it reads
    monkeypatch.setenv("FAIRWATCH_API_KEY", "docs-example-key")
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    started = time.perf_counter()
    for block in python_blocks(page):
        if block.skip_reason is not None:
            continue
        try:
            # padded so that tracebacks show the line numbers of the markdown file
            code = compile("\n" * block.line + block.code, str(block.path), "exec")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # examples may show warnings to the reader; failures are errors
                exec(code, namespace)
        except Exception as exc:
            raise AssertionError(
                f"the example at {block.where} failed: {type(exc).__name__}: {exc}. Examples run in order, one "
                f"namespace per page, in a fresh empty folder: create or load the data the page uses (e.g. "
                f"fairwatch.datasets.load_adult()), or put <!-- skip-example: why --> on the line before its fence "
                f"if it cannot run here"
            ) from exc
    for block, args in shell_commands(page):
        code, err = _run_command(args, capsys)
        allowed = {0, 1} if "--fail-if" in args else {0}
        assert code in allowed, (
            f"`fairwatch {shlex.join(args)}` at {block.where} exited {code}: {err.strip()}. Shell examples run "
            f"after the page's python blocks, in the same fresh folder: write the files they read in a python block"
        )
    elapsed = time.perf_counter() - started
    assert elapsed < PAGE_BUDGET, f"{page.relative_to(ROOT)}'s examples took {elapsed:.1f} s; keep them quick"


def _run_command(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``fairwatch <args>`` in this process; its exit code and stderr."""
    from fairwatch.cli import main

    with pytest.raises(SystemExit) as exit_info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(args)
    _, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), err


def test_skips_are_few_and_explained() -> None:
    skipped = [b for page in PAGES for b in python_blocks(page) if b.skip_reason is not None]
    for block in skipped:
        assert len(block.skip_reason or "") >= 10, f"{block.where}: say why the example cannot run"
    assert len(skipped) <= MAX_SKIPS, [b.where for b in skipped]
    shell = {b for page in PAGES for b, _ in shell_commands(page, skipped=True)}
    for block in shell:
        assert len(block.skip_reason or "") >= 10, f"{block.where}: say why the example cannot run"
    assert len(shell) <= MAX_SHELL_SKIPS, [b.where for b in shell]


def test_skip_markers_sit_right_before_a_python_block() -> None:
    """A marker that no longer precedes a python block (the block moved) would silently do nothing."""
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if SKIP.match(line.strip()):
                following = next((candidate for candidate in lines[number:] if candidate.strip()), "")
                assert re.match(r"^\s*```(python|py|python3|bash|sh|shell|console)\b", following), (
                    f"{page.name}:{number}"
                )


# -- shell blocks: commands and options that exist ----------------------------------------------------------
def _cli() -> Any:
    import typer.main

    from fairwatch.cli import app

    return typer.main.get_command(app)


def _options(command: Any) -> set[str]:
    opts: set[str] = {"--help"}
    for param in command.params:
        opts.update(getattr(param, "opts", ()))
        opts.update(getattr(param, "secondary_opts", ()))
    return opts


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_examples_name_real_commands_and_options(page: Path) -> None:
    root = _cli()
    for block in blocks(page):
        if block.lang not in SHELL:
            continue
        for args in _shell_commands(block):
            command, path, rest = root, ["fairwatch"], list(args)
            # descend through command groups (e.g. `fairwatch keys create`)
            while rest and hasattr(command, "commands") and not rest[0].startswith("-"):
                assert rest[0] in command.commands, (
                    f"{block.where}: `{' '.join(path)} {rest[0]}` is not a command ({sorted(command.commands)})"
                )
                command = command.commands[rest[0]]
                path.append(rest.pop(0))
            known = _options(command) | ({"--version"} if command is root else set())
            for token in rest:
                if token.startswith("--"):
                    option = token.split("=", 1)[0]
                    assert option in known, f"{block.where}: `{' '.join(path)}` has no option {option}"


def test_runner_finds_the_pages() -> None:
    assert ROOT / "README.md" in PAGES_WITH_CODE
    assert any(page.parent.name == "guides" for page in PAGES_WITH_CODE)


#: What an example may import beyond the standard library: fairwatch, its dependencies and its extras
#: (``pip install 'fairwatch[...]'``) — never a test-only package such as the fairlearn or AIF360 oracles.
PACKAGE_IMPORTS = {
    "fairwatch",
    "numpy",
    "scipy",
    "narwhals",
    "pandas",
    "pyarrow",
    "typer",
    "rich",
    "sklearn",
    "joblib",  # scikit-learn's own dependency, its documented way to save a model
    "polars",
    "fastapi",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
    "duckdb",
    "psycopg",
    "prometheus_client",
    "httpx",
    "jinja2",
    "plotly",
    "shap",
    "mlflow",
    "nats",
    "torch",
    "pyspark",
}


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_need_only_the_package_and_its_extras(page: Path) -> None:
    """The examples that run here would run for a user who installed fairwatch (with its extras) and
    nothing else: they import no test dependency."""
    import ast
    import sys

    for block in python_blocks(page):
        if block.skip_reason is not None:
            continue
        for node in ast.walk(ast.parse(block.code)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in PACKAGE_IMPORTS or top in sys.stdlib_module_names, (
                    f"the example at {block.where} imports {name!r}, which a user installing fairwatch does not "
                    f"get; use fairwatch or one of its extras, or skip the example with the reason"
                )
