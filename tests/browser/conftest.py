"""Fixtures for the browser tests: JupyterLab and Voila on 127.0.0.1, headless Debian Chromium.

Nothing here touches the user's Jupyter setup: every config, data, runtime, settings and
workspace folder is a temporary one, and the servers are stopped in the fixtures' teardown.
overrides.json (beside this file) switches off JupyterLab's news and update checks and its
autosave (the tests must never write to the notebooks), and starts the kernel without asking.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]  # the checkout (not llmlib.data.repo_root(), which follows LLMLIB_DATA)
ARTIFACTS = REPO / "artifacts" / "browser"
LOCAL_HOSTS = {"127.0.0.1"}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real browser (headless Chromium) against a local server")


def _missing(reason: str):
    if os.environ.get("LLMLIB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; install Debian's chromium package (apt-get install chromium) "
                    "and the playwright Python package (never `playwright install`)", pytrace=False)
    pytest.skip(f"{reason} (set LLMLIB_REQUIRE_BROWSER=1 to make this a failure)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian's package, driven by Playwright for Python."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory):
    """Environment for the servers: every Jupyter folder a temporary one, the user's left alone."""
    tmp = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")):
        (tmp / sub).mkdir()
        env[var] = str(tmp / sub)
    app_settings = tmp / "app-settings"
    app_settings.mkdir()
    shutil.copy(HERE / "overrides.json", app_settings / "overrides.json")
    env["LLMLIB_APP_SETTINGS"] = str(app_settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server:
    """A server process in its own process group, with its log in a file."""

    def __init__(self, cmd: list[str], env: dict, url: str, ready_url: str, log: Path):
        self.url, self.log = url, log
        self._log = open(log, "w")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.tail()
                self.stop()
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{log}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        log = self.tail()
        self.stop()
        raise RuntimeError(f"server did not answer {ready_url} within 90 s:\n{log}")

    def tail(self, n: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        """SIGTERM lets Jupyter shut its kernels down; SIGKILL the group if it does not stop."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def jupyter_lab(jupyter_env, tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}",
           f"--LabApp.app_settings_dir={jupyter_env['LLMLIB_APP_SETTINGS']}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
           "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:  # CI and containers run as root; Jupyter refuses that unless told
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    server = Server(cmd, jupyter_env, base, f"{base}/api/status?token={token}", tmp_path_factory.mktemp("lab") / "lab.log")
    server.token = token
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def voila_server(jupyter_env, tmp_path_factory):
    """Voila serving notebook 08 as an app (code hidden, which is Voila's default).

    Voila's "lab" page links FontAwesome's stylesheets from a CDN; the "offline" template
    beside this file is that page without them (found through JUPYTER_PATH).
    """
    port = free_port()
    env = dict(jupyter_env, JUPYTER_PATH=str(HERE))
    cmd = [sys.executable, "-m", "voila", "notebooks/08_attention_lab.ipynb", "--no-browser", "--Voila.ip=127.0.0.1",
           f"--Voila.port={port}", "--Voila.port_retries=0", "--template=offline"]
    base = f"http://127.0.0.1:{port}"
    server = Server(cmd, env, base, f"{base}/voila/static/require.min.js", tmp_path_factory.mktemp("voila") / "voila.log")
    try:
        yield server
    finally:
        server.stop()


class PageLog:
    """Every request, websocket and console error of one page."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def external(self) -> list[str]:
        """Requests that left 127.0.0.1 (data: and blob: URLs never touch the network)."""
        out = []
        for url in self.requests:
            u = urlparse(url)
            if u.scheme in ("data", "blob", "about"):
                continue
            if u.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps({"requests": self.requests, "errors": self.errors}, indent=1))


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.log = PageLog(pg)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield pg
    finally:
        pg.log.dump(ARTIFACTS / f"{request.node.name}.log.json")
        try:  # the last state of the page, most useful when the test failed
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.final.png"), timeout=10_000)
        except Exception:  # noqa: BLE001 - a failed screenshot must not hide the test's own error
            pass
        context.close()
