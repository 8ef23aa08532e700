"""Every exercise checker passes on its solution, so a broken exercise fails CI."""
import importlib
import pkgutil

import pytest

import llmlib.exercises
from llmlib.data import repo_root


def _pairs():
    pairs = []
    for mod in sorted(p.stem for p in (repo_root() / "solutions").glob("nb*.py")):
        solutions = importlib.import_module(f"solutions.{mod}")
        checkers = importlib.import_module(f"llmlib.exercises.{mod}")
        for name in sorted(n for n in dir(checkers) if n.startswith("check_exercise_")):
            pairs.append(pytest.param(checkers, solutions, name, id=f"{mod}.{name}"))
    return pairs


def test_every_checker_has_a_solution_and_every_solution_a_checker():
    checker_modules = {m.name for m in pkgutil.iter_modules(llmlib.exercises.__path__)}
    solution_modules = {p.stem for p in (repo_root() / "solutions").glob("nb*.py")}
    assert checker_modules == solution_modules
    for mod in solution_modules:
        solutions = importlib.import_module(f"solutions.{mod}")
        checkers = importlib.import_module(f"llmlib.exercises.{mod}")
        sols = {n.removeprefix("exercise_") for n in dir(solutions) if n.startswith("exercise_")}
        chks = {n.removeprefix("check_exercise_") for n in dir(checkers) if n.startswith("check_exercise_")}
        assert sols == chks, f"{mod}: solutions {sorted(sols)} vs checkers {sorted(chks)}"


@pytest.mark.parametrize("checkers,solutions,name", _pairs())
def test_checker_accepts_solution(checkers, solutions, name):
    check = getattr(checkers, name)
    check(getattr(solutions, name.removeprefix("check_")))


def test_run_check_reports_an_unattempted_stub(capsys):
    def check_exercise_0_0(fn):
        fn()

    def stub():
        raise NotImplementedError

    assert llmlib.exercises.run_check(check_exercise_0_0, stub) is False
    assert "not attempted yet" in capsys.readouterr().out
