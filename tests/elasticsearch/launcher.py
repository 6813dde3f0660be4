"""A real single-node Elasticsearch for tests: fetched once from Maven Central, started on loopback.

The server is Elastic's own minimal distribution ``org.elasticsearch.distribution.integ-test-zip``
(no bundled JDK, modules ``transport-netty4``, ``x-pack-core``, ``x-pack-security``, ``apm``; no ILM,
ingest, painless or data streams, and ``GET /`` answers 405: check readiness on ``/_cluster/health``).

Cache layout: ``$PYJAEGER_ES_CACHE`` if set, else ``<repo>/.cache/elasticsearch`` (``.cache/`` is
git-ignored), holding ``elasticsearch-<version>/`` unzipped. ``mvn dependency:copy`` fetches the zip
(checksums verified) into a scratch folder that is deleted once unzipped. The unzip runs under an
exclusive ``fcntl`` lock on ``elasticsearch-<version>.lock`` and the marker file is written last, so
parallel callers wait for one fetcher and a half-unzipped folder is rebuilt. The distribution is only
read at run time: each server gets its own run folder (``tempfile.mkdtemp``: ``config/``, ``logs/``,
``tmp/``, ``data/``, ``console.log``), so several can run at once.

Elasticsearch refuses to run as root. As root, the server runs as the system user
``$PYJAEGER_ES_USER`` (default ``pyjaeger-es``, created with ``useradd`` when missing) and the run
and data folders are chowned to it; otherwise it runs as the current user.

JDK: ``$PYJAEGER_ES_JAVA_HOME`` or ``$ES_JAVA_HOME`` when set; else the newest JDK between
``java_range()`` among ``$JAVA_HOME``, the ``java`` on ``PATH`` and ``/usr/lib/jvm/*``,
``/usr/java/*``, ``/opt/java/*`` (version read from each JDK's ``release`` file).

Import it by path under one module name, ``MODULE_NAME``, so that every conftest shares one module
object (see ``load_es_launcher`` in tests/conftest.py)::

    spec = importlib.util.spec_from_file_location("pyjaeger_tests_es_launcher", path_to_this_file)

A secured node (``start(secure=True)``) has ``xpack.security`` on: HTTPS only, with a CA and
certificates that the distribution's own ``bin/elasticsearch-certutil`` makes in PEM form inside
the run folder's ``config/certs/`` (a server certificate for 127.0.0.1, ::1 and localhost; a
client certificate, accepted but not required), and the superuser ``SECURE_USER`` /
``SECURE_PASSWORD`` made with ``bin/elasticsearch-users`` in the file realm. The tools add a few
seconds to the first start only; ``restart`` reuses the files.

Also a script: ``python tests/elasticsearch/launcher.py fetch|start|stop|status`` (``start
[--port N] [--data-dir DIR] [--secure]`` leaves the server running and records it in
``<cache>/server.json``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "ES_VERSION",
    "MODULE_NAME",
    "SECURE_PASSWORD",
    "SECURE_USER",
    "EsServer",
    "cache_root",
    "ensure_distribution",
    "find_java_home",
    "java_range",
    "start",
]

MODULE_NAME = "pyjaeger_tests_es_launcher"
REPO_ROOT = Path(__file__).resolve().parents[2]
ES_VERSION = os.environ.get("PYJAEGER_ES_VERSION", "8.19.21")
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE_ENV = "PYJAEGER_ES_CACHE"
USER_ENV = "PYJAEGER_ES_USER"
DEFAULT_USER = "pyjaeger-es"
MARKER = ".pyjaeger-ready"
HOST = "127.0.0.1"
CLUSTER_NAME = "pyjaeger-test"
HEAP = "512m"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
MVN_TIMEOUT_S = 900
JDK_DIRS = ("/usr/lib/jvm", "/usr/java", "/opt/java")
TOOL_TIMEOUT_S = 120.0
SECURE_USER = "pyjaeger"
SECURE_PASSWORD = "pyjaeger-test-password"
# Paths relative to the config folder: the node may read files only below it.
SECURE_SETTINGS: dict[str, object] = {
    "xpack.security.enabled": True,
    "xpack.security.http.ssl.enabled": True,
    "xpack.security.http.ssl.key": "certs/node/node.key",
    "xpack.security.http.ssl.certificate": "certs/node/node.crt",
    "xpack.security.http.ssl.certificate_authorities": ["certs/ca/ca.crt"],
    "xpack.security.http.ssl.client_authentication": "optional",
}
CERT_INSTANCES = """instances:
  - name: node
    ip: ["127.0.0.1", "::1"]
    dns: ["localhost"]
  - name: client
"""


def cache_root() -> Path:
    """The folder that holds the unzipped distributions."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).resolve() if configured else REPO_ROOT / ".cache" / "elasticsearch"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` for the duration of a ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield  # closing the file drops the lock


def _run(cmd: list[str], what: str, timeout: float) -> None:
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}")


def _run_together(cmds: list[list[str]], what: str, env: dict[str, str], timeout: float) -> None:
    """Run ``cmds`` at once (each a JVM start: together they take the time of one)."""
    procs = [
        subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
        for cmd in cmds
    ]
    failures = []
    for cmd, proc in zip(cmds, procs, strict=True):
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if proc.returncode != 0:
            text = output.decode(errors="replace")
            failures.append(f"{' '.join(cmd)} (exit {proc.returncode})\n{text}")
    if failures:
        raise RuntimeError(f"{what} failed: " + "\n".join(failures))


def _unzip(archive: Path, target: Path) -> None:
    """Unzip keeping each entry's Unix mode (``zipfile`` alone drops the executable bits)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            path.chmod(0o755 if info.is_dir() else (mode or 0o644) | 0o444)
    for folder in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)  # folders zipfile made on the way, under the caller's umask


def _fetch(home: Path) -> None:
    if home.exists():
        shutil.rmtree(home)  # left by a fetch that died before writing the marker
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn is not on PATH (Debian: apt-get install maven)")
    for stale in home.parent.glob(f".fetch-{ES_VERSION}-*"):
        shutil.rmtree(stale)  # scratch of a fetch that died (we hold this version's lock)
    with tempfile.TemporaryDirectory(prefix=f".fetch-{ES_VERSION}-", dir=home.parent) as scratch:
        download = Path(scratch) / "download"
        cmd = [
            mvn,
            "-B",
            "-q",
            "--strict-checksums",
            f"{DEPENDENCY_PLUGIN}:copy",
            f"-Dartifact={ARTIFACT.format(version=ES_VERSION)}",
            f"-DoutputDirectory={download}",
        ]
        _run(cmd, f"fetching Elasticsearch {ES_VERSION}", MVN_TIMEOUT_S)
        archive = download / f"elasticsearch-{ES_VERSION}.zip"
        unzipped = Path(scratch) / "unzipped"
        _unzip(archive, unzipped)
        (unzipped / f"elasticsearch-{ES_VERSION}").rename(home)
    (home / MARKER).write_text(ARTIFACT.format(version=ES_VERSION) + "\n")


def ensure_distribution() -> Path:
    """Return the unzipped distribution of ``ES_VERSION``, fetching it with Maven the first time.

    Safe to call from several processes at once. Raises ``RuntimeError`` with Maven's output when
    the fetch fails.
    """
    home = cache_root() / f"elasticsearch-{ES_VERSION}"
    if (home / MARKER).is_file():
        return home
    with _locked(home.with_name(home.name + ".lock")):
        if not (home / MARKER).is_file():
            _fetch(home)
    return home


def java_range(version: str = ES_VERSION) -> tuple[int, int]:
    """The JDK majors to pick from for ``version``: the minimum it needs, the newest run with it."""
    return (21, 25) if int(version.split(".")[0]) >= 9 else (17, 25)


def _java_major(java_home: Path) -> int | None:
    if not os.access(java_home / "bin" / "java", os.X_OK):
        return None
    try:
        release = (java_home / "release").read_text()
    except OSError:
        return None
    for line in release.splitlines():
        if line.startswith("JAVA_VERSION="):
            parts = line.split("=", 1)[1].strip('"').split(".")
            return int(parts[1] if parts[0] == "1" else parts[0])
    return None


def _jdk_candidates() -> list[Path]:
    found = [os.environ.get("JAVA_HOME", "")]
    java = shutil.which("java")
    if java:
        found.append(str(Path(java).resolve().parents[1]))
    for folder in JDK_DIRS:
        if os.path.isdir(folder):
            found.extend(str(p) for p in sorted(Path(folder).iterdir()))
    unique: dict[Path, None] = {}
    for item in found:
        if item:
            unique.setdefault(Path(item).resolve(), None)
    return list(unique)


def find_java_home(version: str = ES_VERSION) -> Path:
    """The JDK to run ``version`` with (see the module docstring for the search order)."""
    low, high = java_range(version)
    for var in ("PYJAEGER_ES_JAVA_HOME", "ES_JAVA_HOME"):
        if os.environ.get(var):
            home = Path(os.environ[var])
            major = _java_major(home)
            if major is None or major < low:
                raise RuntimeError(f"${var}={home} is not a JDK {low} or newer")
            return home
    majors = {home: _java_major(home) for home in _jdk_candidates()}
    usable = {home: m for home, m in majors.items() if m is not None and m >= low}
    tested = {home: m for home, m in usable.items() if m <= high} or usable
    if not tested:
        raise RuntimeError(
            f"no JDK {low} or newer found (looked at $JAVA_HOME, java on PATH and {', '.join(JDK_DIRS)}); "
            "set $PYJAEGER_ES_JAVA_HOME"
        )
    return max(tested, key=lambda home: tested[home])


def _es_user() -> tuple[int, int] | None:
    """``(uid, gid)`` to run the server as, creating the user if needed; None: the current user."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(USER_ENV, DEFAULT_USER)
    with _locked(cache_root() / "useradd.lock"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            cmd = ["useradd", "--system", "--user-group", "--no-create-home"]
            cmd += ["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
            _run(cmd, f"creating user {name}", 60)
            entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _user_can(user: tuple[int, int] | None, *test_args: str) -> bool:
    """Whether ``test ARGS`` holds for ``user`` (e.g. ``-r FILE``): permissions along the path."""
    uid, gid, groups = _identity(user)
    proc = subprocess.run(["test", *test_args], user=uid, group=gid, extra_groups=groups, check=False)
    return proc.returncode == 0


def _identity(user: tuple[int, int] | None) -> tuple[int | None, int | None, list[int] | None]:
    """``subprocess`` ``user``/``group``/``extra_groups`` that run a child as ``user``."""
    return (None, None, None) if user is None else (user[0], user[1], [])


def _chown_tree(path: Path, user: tuple[int, int]) -> None:
    os.chown(path, *user)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), *user)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _reachable_home(home: Path, run_dir: Path, user: tuple[int, int] | None) -> Path:
    """``home``, or a hard-linked mirror of it in ``run_dir`` when the user cannot reach the cache
    (a clone under a folder such as ``/root`` that other users cannot enter)."""
    if _user_can(user, "-x", str(home / "bin" / "elasticsearch")):
        return home
    mirror = run_dir / "home"
    if not mirror.is_dir():
        shutil.copytree(home, mirror, symlinks=True, copy_function=_link_or_copy)
    return mirror


def _pid_alive(pid: int) -> bool:
    """Running and not a zombie (reaped or not, an exited process is gone for our purposes)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)  # no /proc (macOS)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _read_int(path: Path, pick: Callable[[str], str]) -> int | None:
    """The number ``pick`` finds in a file the node writes; None while it is missing or partial."""
    try:
        return int(pick(path.read_text()))
    except (OSError, ValueError, IndexError):
        return None


def _read_from(path: Path, offset: int = 0) -> list[str]:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace").splitlines()
    except OSError:
        return [f"({path} is missing)"]


def _highlights(lines: list[str], limit: int = 12) -> str:
    """The lines that say what went wrong, which a stack trace otherwise buries."""
    marks = ("][ERROR]", "][FATAL]", "ERROR: ", "Caused by: ", "Exception in thread")
    return "\n".join([line[:300] for line in lines if any(m in line for m in marks)][:limit])


class EsServer:
    """One Elasticsearch node: its URL, folders and process; ``stop``/``kill``/``restart`` it.

    ``restart`` brings the node back on the same port with the same data folder, after ``stop`` or
    ``kill`` or while running (then it stops it first). A context manager: ``__exit__`` stops the
    node and deletes the run folder (not a ``data_dir`` the caller passed).
    """

    def __init__(
        self,
        home: Path,
        run_dir: Path,
        data_dir: Path,
        java_home: Path,
        port: int = 0,
        user: tuple[int, int] | None = None,
        heap: str = HEAP,
        secure: bool = False,
    ) -> None:
        self.home = home
        self.run_dir = run_dir
        self.data_dir = data_dir
        self.java_home = java_home
        self.port = port
        self.user = user
        self.heap = heap
        self.secure = secure
        self.username = SECURE_USER if secure else ""
        self.password = SECURE_PASSWORD if secure else ""
        self.pid: int | None = None
        self._cli: subprocess.Popen[bytes] | None = None
        self._console_offset = 0  # where the current launch's output starts in console.log

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{HOST}:{self.port}"

    @property
    def certs_dir(self) -> Path:
        return self.run_dir / "config" / "certs"

    @property
    def ca_path(self) -> Path:
        """The CA (PEM) that signed the node's and the client's certificates (secured node)."""
        return self.certs_dir / "ca" / "ca.crt"

    @property
    def client_cert_path(self) -> Path:
        return self.certs_dir / "client" / "client.crt"

    @property
    def client_key_path(self) -> Path:
        return self.certs_dir / "client" / "client.key"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "logs" / f"{CLUSTER_NAME}.log"

    @property
    def console_path(self) -> Path:
        return self.run_dir / "console.log"

    @property
    def running(self) -> bool:
        return self.pid is not None and _pid_alive(self.pid)

    def __repr__(self) -> str:
        return f"EsServer({self.url}, pid={self.pid}, run_dir={self.run_dir})"

    def __enter__(self) -> EsServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.remove()

    def _write_config(self) -> Path:
        config = self.run_dir / "config"
        if not config.is_dir():
            shutil.copytree(self.home / "config", config)
        settings = {
            "cluster.name": CLUSTER_NAME,
            "node.name": "pyjaeger-test-node",
            "discovery.type": "single-node",
            "network.host": HOST,
            "http.port": self.port,  # 0: any free port, read back from logs/http.ports
            "transport.port": 0,
            "node.portsfile": True,
            "path.data": str(self.data_dir),
            "path.logs": str(self.run_dir / "logs"),
            "xpack.security.enabled": False,
            **(SECURE_SETTINGS if self.secure else {}),
            # A nearly full disk must not turn indices read-only in the middle of a test run.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            # Tests delete indices by pattern (jaeger-*).
            "action.destructive_requires_name": False,
        }
        if self.secure and not (self.certs_dir / "node" / "node.crt").is_file():
            self._make_security_files(config)
        text = "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
        (config / "elasticsearch.yml").write_text(text)
        return config

    def _make_security_files(self, config: Path) -> None:
        """CA, certificates and the superuser (see the module docstring), written before the
        run folder is handed to the node's user; certutil refuses to sign without a CA file."""
        env = self._environment(config)
        scratch = Path(tempfile.mkdtemp(prefix="security-", dir=self.run_dir / "tmp"))
        try:
            certutil = str(self.home / "bin" / "elasticsearch-certutil")
            users = str(self.home / "bin" / "elasticsearch-users")
            ca_zip, certs_zip, instances = scratch / "ca.zip", scratch / "certs.zip", scratch / "certs.yml"
            instances.write_text(CERT_INSTANCES)
            useradd = [users, "useradd", SECURE_USER, "-p", SECURE_PASSWORD, "-r", "superuser"]
            make_ca = [certutil, "ca", "--pem", "--silent", "--out", str(ca_zip)]
            _run_together([make_ca, useradd], "making a CA and a user", env, TOOL_TIMEOUT_S)
            _unzip(ca_zip, self.certs_dir)
            ca_files = ["--ca-cert", str(self.ca_path), "--ca-key", str(self.certs_dir / "ca" / "ca.key")]
            sign = [certutil, "cert", "--pem", "--silent", *ca_files, "--in", str(instances)]
            _run_together([[*sign, "--out", str(certs_zip)]], "making certificates", env, TOOL_TIMEOUT_S)
            _unzip(certs_zip, self.certs_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _environment(self, config: Path) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.run_dir),
            "LANG": "C.UTF-8",
            "ES_JAVA_HOME": str(self.java_home),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(self.run_dir / "tmp"),
        }

    def _launch(self, timeout: float) -> None:
        for folder in ("logs", "tmp"):
            (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports_file = self.run_dir / "logs" / "http.ports"
        pid_file = self.run_dir / "es.pid"
        self.pid = None
        for stale in (ports_file, pid_file):
            stale.unlink(missing_ok=True)
        config = self._write_config()
        if self.user is not None:
            _chown_tree(self.run_dir, self.user)
            _chown_tree(self.data_dir, self.user)
            if not _user_can(self.user, "-w", str(self.data_dir), "-a", "-x", str(self.data_dir)):
                raise RuntimeError(
                    f"uid {self.user[0]} cannot write {self.data_dir}: a parent folder bars it"
                )
        cmd = [str(self.home / "bin" / "elasticsearch"), "-p", str(pid_file)]
        uid, gid, groups = _identity(self.user)
        with self.console_path.open("ab") as console:
            self._console_offset = console.tell()
            self._cli = subprocess.Popen(
                cmd,
                cwd=self.run_dir,
                env=self._environment(config),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        try:
            self._wait_ready(ports_file, pid_file, time.monotonic() + timeout)
        except BaseException:
            self._terminate(signal.SIGKILL, 10.0)
            raise

    def _wait_ready(self, ports_file: Path, pid_file: Path, deadline: float) -> None:
        """Until ``deadline``: this node wrote its pid and bound port files (so a foreign server on
        the same port is never taken for it), and its cluster is yellow or green."""
        assert self._cli is not None
        problem = "not ready"
        while time.monotonic() < deadline:
            if self._cli.poll() is not None:
                self._fail(f"exited with status {self._cli.returncode} while starting")
            if self.pid is None:
                self.pid = _read_int(pid_file, lambda text: text)
            bound = _read_int(ports_file, lambda text: text.split()[0].rsplit(":", 1)[1])
            if bound is not None and self.pid is not None:
                if self.port not in (0, bound):
                    self._fail(f"bound port {bound}, not {self.port}")
                self.port = bound
                try:
                    health = self.health(wait_for="yellow", timeout=1.0)
                    if health.get("timed_out") is False:
                        return
                    problem = f"cluster health {health.get('status')}"
                except (OSError, ValueError) as exc:
                    problem = str(exc)
            time.sleep(0.2)
        self._fail(f"was not yellow within the timeout ({problem})")

    def _fail(self, what: str) -> None:
        console = _read_from(self.console_path, self._console_offset)
        tail = "\n".join(console[-30:])
        raise RuntimeError(
            f"Elasticsearch {ES_VERSION} ({self.home}, JDK {self.java_home}) {what}\n"
            f"--- errors in {self.console_path}\n{_highlights(console)}\n"
            f"--- tail of {self.console_path}\n{tail}\n"
            f"--- tail of {self.log_path}\n" + "\n".join(_read_from(self.log_path)[-15:])
        )

    def health(self, wait_for: str | None = None, timeout: float = 5.0) -> dict[str, object]:
        """``GET /_cluster/health`` (optionally ``wait_for_status``); raises ``OSError`` when down."""
        query = f"?wait_for_status={wait_for}&timeout={max(1, int(timeout))}s" if wait_for else ""
        request = urllib.request.Request(self.url + "/_cluster/health" + query)
        context = None
        if self.secure:
            context = ssl.create_default_context(cafile=str(self.ca_path))
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout + 5, context=context) as response:
                body: dict[str, object] = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 408 when wait_for_status timed out
            body = json.loads(exc.read())
            exc.close()
        return body

    def _terminate(self, sig: signal.Signals, timeout: float) -> bool:
        """Send ``sig`` to the node, wait up to ``timeout`` for it to go; True if it went."""
        if self.pid is not None and _pid_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
        elif self._cli is not None and self._cli.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._cli.pid, sig)  # still starting: no pid file yet
        deadline = time.monotonic() + timeout
        while self.pid is not None and _pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        gone = self.pid is None or not _pid_alive(self.pid)
        if self._cli is not None:
            try:
                self._cli.wait(timeout=max(1.0, deadline - time.monotonic()) if gone else 0.1)
            except subprocess.TimeoutExpired:
                gone = False
        return gone

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if the node is still there after ``timeout``. Safe to repeat."""
        if not self._terminate(signal.SIGTERM, timeout):
            self._terminate(signal.SIGKILL, 10.0)
            if self._cli is not None and self._cli.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._cli.pid, signal.SIGKILL)
                self._cli.wait(timeout=10.0)
        self._cli = None

    def kill(self) -> None:
        """SIGKILL the node (a crash: no flush beyond what each request already made durable)."""
        self._terminate(signal.SIGKILL, 10.0)
        self._cli = None

    def restart(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Stop the node if it runs, then start it again on the same port and data folder."""
        self.stop()
        self._launch(timeout)

    def remove(self) -> None:
        """Delete the run folder (config, logs, and data unless ``data_dir`` lives elsewhere)."""
        if self.running:
            raise RuntimeError(f"{self} is still running")
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def to_json(self) -> dict[str, object]:
        keys = ("home", "run_dir", "data_dir", "java_home", "port", "user", "heap", "secure", "pid")
        return {key: str(v) if isinstance(v := getattr(self, key), Path) else v for key in keys}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EsServer:
        home, run_dir, data_dir, java_home = (
            Path(data[k]) for k in ("home", "run_dir", "data_dir", "java_home")
        )
        user = (data["user"][0], data["user"][1]) if data["user"] else None
        secure = bool(data.get("secure", False))
        server = cls(home, run_dir, data_dir, java_home, data["port"], user, data["heap"], secure)
        server.pid = data["pid"]
        return server


def start(
    port: int = 0,
    data_dir: Path | None = None,
    *,
    timeout: float = READY_TIMEOUT_S,
    heap: str = HEAP,
    secure: bool = False,
) -> EsServer:
    """Start a node on ``127.0.0.1:port`` (0: a free port) and wait until the cluster is yellow.

    ``secure``: HTTPS and basic auth (see the module docstring); ``server.url`` is then https and
    ``server.ca_path``, ``server.username`` and ``server.password`` are what a client needs.

    ``data_dir`` defaults to ``data/`` inside a fresh run folder, which ``restart`` keeps. As root,
    a ``data_dir`` must be reachable by the server's user: pytest's ``tmp_path`` is not (its
    ``/tmp/pytest-of-root`` is 0700). Raises ``RuntimeError`` with the errors and tail of the node's
    output when it exits or is not ready within ``timeout`` seconds.
    """
    home, java_home, user = ensure_distribution(), find_java_home(), _es_user()
    run_dir = Path(tempfile.mkdtemp(prefix="pyjaeger-es-"))
    data = Path(data_dir).resolve() if data_dir is not None else run_dir / "data"
    try:
        if user is not None:
            os.chown(run_dir, *user)
        reachable = _reachable_home(home, run_dir, user)
        server = EsServer(reachable, run_dir, data, java_home, port, user, heap, secure)
        server._launch(timeout)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return server


def _state_file() -> Path:
    return cache_root() / "server.json"


def _recorded() -> EsServer | None:
    try:
        return EsServer.from_json(json.loads(_state_file().read_text()))
    except FileNotFoundError:
        return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--port", type=int, default=0, help="HTTP port for start (default: a free one)")
    parser.add_argument("--data-dir", type=Path, help="data folder for start (default: a fresh one)")
    parser.add_argument("--secure", action="store_true", help="start: HTTPS and basic auth")
    args = parser.parse_args(argv)
    began = time.monotonic()
    recorded = _recorded()
    if args.command == "fetch":
        print(f"{ensure_distribution()} (JDK {find_java_home()}, {time.monotonic() - began:.1f}s)")
    elif args.command == "start":
        if recorded is not None and recorded.running:
            print(f"already running: {recorded.url} (pid {recorded.pid})", file=sys.stderr)
            return 1
        server = start(args.port, args.data_dir, secure=args.secure)
        _state_file().write_text(json.dumps(server.to_json()))
        print(f"{server.url} pid {server.pid} JDK {server.java_home} ({time.monotonic() - began:.1f}s)")
        print(f"logs: {server.log_path}")
        if server.secure:
            print(f"CA: {server.ca_path} user: {server.username} password: {server.password}")
    elif args.command == "stop":
        if recorded is None:
            print("not running (no record)")
            return 0
        recorded.stop()
        recorded.remove()
        _state_file().unlink()
        print(f"stopped {recorded.url} ({time.monotonic() - began:.1f}s)")
    else:
        if recorded is None or not recorded.running:
            print("not running")
            return 1
        print(f"{recorded.url} pid {recorded.pid}: {json.dumps(recorded.health())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
