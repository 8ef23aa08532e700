"""Keep environment.yml (conda, Binder) in step with pyproject.toml (pip)."""
import re
import tomllib

from llmlib.data import repo_root

# conda-forge names a few packages differently from PyPI.
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name_and_spec(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _environment_yml_packages() -> dict[str, str]:
    """Read the conda dependency list without a YAML library: one `- name spec` per line."""
    text = (repo_root() / "environment.yml").read_text()
    block = text.split("dependencies:", 1)[1]
    packages = {}
    for line in block.splitlines():
        m = re.match(r"^  - ([^:]+)$", line)  # top-level items only, not the pip: list
        if not m:
            continue
        name, spec = _name_and_spec(m.group(1))
        if name in ("python", "pip"):
            continue
        packages[CONDA_TO_PYPI.get(name, name)] = spec
    return packages


def _pyproject_packages() -> dict[str, str]:
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    return dict(_name_and_spec(r) for r in project["dependencies"])


def test_environment_yml_matches_pyproject():
    conda, pip = _environment_yml_packages(), _pyproject_packages()
    assert conda == pip, (
        "environment.yml and pyproject.toml list different runtime packages or ranges; "
        f"only in environment.yml: {sorted(set(conda.items()) - set(pip.items()))}, "
        f"only in pyproject.toml: {sorted(set(pip.items()) - set(conda.items()))}"
    )


def test_environment_yml_pins_python_and_installs_the_project():
    text = (repo_root() / "environment.yml").read_text()
    assert "python=3.11" in text
    assert "conda-forge" in text
    assert "- -e ." in text, "Binder must install llmlib itself through pip"


def test_torch_range_admits_the_ci_wheel():
    spec = _pyproject_packages()["torch"]
    lower = re.search(r">=([\d.]+)", spec)
    upper = re.search(r"<([\d.]+)", spec)
    v = (2, 13, 0)
    as_tuple = lambda s: tuple(int(x) for x in s.split("."))
    assert lower is None or as_tuple(lower.group(1)) <= v
    assert upper is None or v < as_tuple(upper.group(1))


def test_ci_runs_the_readme_test_command():
    ci = (repo_root() / ".ci" / "run").read_text().strip().splitlines()
    command = ci[-1].strip()
    assert command.startswith("python3 -m pip install -e"), f".ci/run must end with the README's test command, got {command!r}"
    assert command in (repo_root() / "README.md").read_text(), "README.md and .ci/run disagree on the test command"


def test_llmlib_never_imports_the_reference_packages():
    references = ("tiktoken", "tokenizers", "rustbpe", "transformers")
    for path in (repo_root() / "llmlib").rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.strip().split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                top = words[1].split(".")[0]
                assert top not in references, f"{path.name} imports {top}: reference packages are for tests and bench only"
