"""Shared plumbing for bench/load.py and bench/login_flood.py: start and stop the servers
under test, seed the token server's store, run wrk with the Lua scripts in bench/lua, and
account for where the CPU went during each run.

Standard library only (the FastAPI peer runs in bench/.venv; this file does not need it).
Every process started here runs in its own session and is stopped by its process group id
when the benchmark ends, normally or not.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import ClassVar
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
LUA = BENCH / "lua"
# BENCH_BIN_DIR: take rampart and resource-server from elsewhere (e.g. another checkout).
RELEASE = Path(os.environ.get("BENCH_BIN_DIR", ROOT / "target" / "release"))
PEERS = ROOT.parent / "shared" / "peers"
VENV = BENCH / ".venv"

# What the token server calls itself. Config validation wants an https URL; the server
# itself listens on plain HTTP (proxy mode), which is what a TLS-terminating proxy talks to.
PUBLIC_URL = "https://localhost:8443"
# The one password of every seeded user (they share one Argon2id hash).
SEED_PASSWORD = "lantern-quarry-velvet-42"
SEED_PREFIX = "bench-"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------
# Processes


class Proc:
    """A server started in its own session; stop() signals its whole process group."""

    running: list["Proc"] = []

    def __init__(self, name: str, cmd: list[str], env: dict | None = None, cwd: Path | None = None,
                 append: bool = False):
        OUT.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = OUT / f"{name}.log"
        self.log_file = open(self.log_path, "ab" if append else "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.popen = subprocess.Popen(
            cmd, env=full_env, cwd=cwd, stdout=self.log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.pid = self.popen.pid
        Proc.running.append(self)

    def pids(self) -> list[int]:
        """The process and everything in its group (uvicorn's workers)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == self.pid:  # pgrp
                found.append(int(entry))
        return found or [self.pid]

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / CLK_TCK

    def status_kib(self, key: str) -> int:
        """VmHWM / VmRSS of the main process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.log_file.close()
        if self in Proc.running:
            Proc.running.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in list(cls.running):
            proc.stop()


def shutdown() -> None:
    """Stops every process started here and removes the token servers' temporary stores."""
    Proc.stop_all()
    for server in list(TokenServer.live):
        server.stop()


def _on_signal(signum, _frame):
    shutdown()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def form(fields: dict) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def wait_http(url: str, proc: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited; see {proc.log_path}")
        try:
            status, _ = http("GET", url, timeout=2)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not answer {url} within {timeout}s; see {proc.log_path}")


def run(cmd: list[str], env: dict | None = None, check: bool = True) -> str:
    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


# ---------------------------------------------------------------------------------------
# The token server


@dataclass
class TokenServer:
    """`rampart serve` in proxy mode (plain HTTP on loopback, no TLS handshake cost) over
    a fresh SQLite store in a temporary data dir, or (with `postgres` set to a server URL
    such as postgres://postgres@127.0.0.1:5432) a fresh Postgres database of its own,
    created at start and dropped at stop."""

    alg: str
    seed_users: int = 0
    flags: list[str] = field(default_factory=list)
    # Extra environment of `rampart serve` only (e.g. allocator tuning).
    serve_env: dict = field(default_factory=dict)
    port: int = 0
    data_dir: Path | None = None
    proc: Proc | None = None
    client_id: str = ""
    client_secret: str = ""
    name: str = ""
    serve_cmd: list[str] = field(default_factory=list)
    restarts: int = 0
    hwm_kib: int = 0
    # The binaries to run (another build's, for a baseline in the same rounds).
    bin_dir: Path | None = None
    postgres: str = ""
    database_url: str = ""
    instances = 0
    live: ClassVar[list] = []  # started and not yet stopped (see shutdown())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {
            **({"RAMPART_DATABASE_URL": self.database_url} if self.database_url else {}),
            "RAMPART_DATA_DIR": str(self.data_dir),
            "RAMPART_PUBLIC_URL": PUBLIC_URL,
            "RAMPART_SIGNING_ALG": self.alg,
            "RAMPART_BOOTSTRAP_ADMIN_PASSWORD": "bench-admin-" + secrets.token_hex(8),
            # The server's default log level (info): one JSON audit line per grant, as
            # deployed. Its filter variable is RAMPART_LOG, not RUST_LOG.
        }

    def cli(self, *args: str, env: dict | None = None) -> str:
        return run([str(self.binary()), *args], env={**self.env(), **(env or {})})

    def binary(self) -> Path:
        return (self.bin_dir or RELEASE) / "rampart"

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "rampart.db")

    def psql(self, sql: str, url: str | None = None) -> str:
        """Runs `sql` with psql on this server's database (or on `url`); its output."""
        return run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url or self.database_url, "-c", sql])

    def start(self) -> "TokenServer":
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"rampart-bench-{self.alg}-"))
        TokenServer.live.append(self)
        self.port = free_port()
        if self.postgres:
            name = f"rampart_bench_{os.getpid()}_{TokenServer.instances + 1}"
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", self.postgres + "/postgres")
            self.psql(f"CREATE DATABASE {name}", self.postgres + "/postgres")
            self.database_url = f"{self.postgres}/{name}"
        self.cli("migrate")
        if self.database_url:
            self.psql("INSERT INTO scopes (name, description) VALUES ('notes:read', 'Read notes') ON CONFLICT DO NOTHING")
        else:
            with self.db() as db:
                db.execute("INSERT OR IGNORE INTO scopes (name, description) VALUES ('notes:read', 'Read notes')")
        out = self.cli("client", "create", "bench-cc", "--grant", "client_credentials",
                       "--scope", "notes:read")
        for line in out.splitlines():
            if line.startswith("client_id:"):
                self.client_id = line.split(":", 1)[1].strip()
            elif line.startswith("client_secret:"):
                self.client_secret = line.split(":", 1)[1].strip()
        if not (self.client_id and self.client_secret):
            raise RuntimeError(f"could not read the client credentials from:\n{out}")
        if self.seed_users:
            self.seed(self.seed_users)
        TokenServer.instances += 1
        self.name = f"rampart-{self.alg}-{TokenServer.instances}"
        self.serve_cmd = [
            str(self.binary()), "serve",
            "--tls-mode", "proxy",
            "--https-addr", f"127.0.0.1:{self.port}",
            "--http-addr", "off",
            "--metrics-addr", f"127.0.0.1:{free_port()}",
            *self.flags,
        ]
        self.proc = Proc(self.name, self.serve_cmd, env={**self.env(), **self.serve_env})
        wait_http(self.url + "/healthz", self.proc)
        log(f"token server {self.alg} on {self.url} (data {self.data_dir})")
        return self

    def restart(self) -> None:
        """Same store, same port, fresh process, after every refresh run. Builds before the
        SQLite group-commit writer needed it: wrk cutting refresh requests mid-transaction
        could leave a pooled SQLite connection (sqlx 0.8) with its transaction open, holding
        SQLite's write lock and failing every later BEGIN on it with "attempted to call
        begin_with at non-zero transaction depth". The writer runs every write to its end
        whatever the client does; the restart stays so that a baseline build and this one
        are measured alike. poisoned() counts the occurrences."""
        self.hwm_kib = max(self.hwm_kib, self.proc.status_kib("VmHWM"))
        self.proc.stop()
        self.restarts += 1
        self.proc = Proc(self.name, self.serve_cmd, env={**self.env(), **self.serve_env}, append=True)
        wait_http(self.url + "/healthz", self.proc)

    def peak_rss_mib(self) -> float:
        """Peak RSS (VmHWM) over every process this server has run as."""
        current = self.proc.status_kib("VmHWM") if self.proc and self.proc.alive() else 0
        return round(max(self.hwm_kib, current) / 1024, 1)

    def poisoned(self) -> dict:
        """Counts, in this server's log so far, of the errors the cancellation bug causes."""
        counts = {"begin_with at non-zero transaction depth": 0, "database is locked": 0, "500 responses": 0}
        if self.proc and self.proc.log_path.exists():
            for line in open(self.proc.log_path, errors="replace"):
                if "non-zero transaction depth" in line:
                    counts["begin_with at non-zero transaction depth"] += 1
                if "database is locked" in line:
                    counts["database is locked"] += 1
                if "500 Internal Server Error" in line:
                    counts["500 responses"] += 1
        return counts

    def seed(self, count: int) -> None:
        """`count` users bench-00000.. with role `user`: one real Argon2id hash made by the
        CLI, copied into every other row (hashing 10,000 passwords would take minutes)."""
        first = f"{SEED_PREFIX}{0:05d}"
        self.cli("user", "create", first, env={"RAMPART_PASSWORD": SEED_PASSWORD})
        if self.database_url:
            self.psql(
                "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at) "
                f"SELECT gen_random_uuid()::text, '{SEED_PREFIX}' || lpad(i::text, 5, '0'), u.password_hash, FALSE, "
                f"u.created_at, u.created_at, u.created_at FROM users u, generate_series(1, {count - 1}) i "
                f"WHERE u.username = '{first}'")
            self.psql(f"INSERT INTO user_roles (user_id, role) SELECT id, 'user' FROM users "
                      f"WHERE username LIKE '{SEED_PREFIX}%' AND username <> '{first}'")
            log(f"seeded {self.psql('SELECT count(*) FROM users')} users (including the bootstrap admin)")
            return
        with self.db() as db:
            (pw_hash, created) = db.execute(
                "SELECT password_hash, created_at FROM users WHERE username = ?", (first,)).fetchone()
            ids = [str(uuid.uuid4()) for _ in range(1, count)]
            db.executemany(
                "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at) "
                "VALUES (?, ?, ?, 0, ?, ?, ?)",
                [(uid, f"{SEED_PREFIX}{i:05d}", pw_hash, created, created, created)
                 for i, uid in zip(range(1, count), ids)])
            db.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, 'user')", [(uid,) for uid in ids])
            (n,) = db.execute("SELECT count(*) FROM users").fetchone()
        log(f"seeded {n} users (including the bootstrap admin)")

    def client_credentials_token(self) -> str:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        status, body = http("POST", self.url + "/oauth/token",
                            form({"grant_type": "client_credentials", "scope": "notes:read"}),
                            {"Authorization": "Basic " + basic,
                             "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"client_credentials failed: {status} {body[:300]!r}")
        return json.loads(body)["access_token"]

    def basic_credentials(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def password_login(self, username: str, password: str = SEED_PASSWORD) -> dict:
        # 503 is the hashing pool (queue full or CPU budget spent) asking to come back
        # later; a well-behaved client waits and retries, as here (for up to a minute).
        for _ in range(60):
            status, body = http("POST", self.url + "/oauth/token",
                                form({"grant_type": "password", "username": username, "password": password}),
                                {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 503:
                break
            time.sleep(1)
        if status != 200:
            raise RuntimeError(f"password grant for {username} failed: {status} {body[:300]!r}")
        return json.loads(body)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.postgres and self.database_url:
            name = self.database_url.rsplit("/", 1)[1]
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", self.postgres + "/postgres")
            self.database_url = ""
        TokenServer.live[:] = [t for t in TokenServer.live if t is not self]


# ---------------------------------------------------------------------------------------
# The resource server and the FastAPI peer


def resource_server(name: str, args: list[str], bin_dir: Path | None = None) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(name, [str((bin_dir or RELEASE) / "resource-server"), "--issuer", PUBLIC_URL,
                       "--audience", PUBLIC_URL, "--addr", f"127.0.0.1:{port}", *args],
                env={"RUST_LOG": "warn"})
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/public", proc)
    return proc, url


def hs256_resource_server() -> tuple[Proc, str, str]:
    """The resource server with --hs-secret-file, and a token minted for it with PyJWT-free
    code (HMAC-SHA256 from the standard library; header typ at+jwt as RFC 9068 wants)."""
    import hashlib
    import hmac

    secret = secrets.token_urlsafe(48).encode()
    secret_file = OUT / "hs256.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    proc, url = resource_server("resource-HS256", ["--hs-secret-file", str(secret_file)])

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}, separators=(",", ":")).encode())
    claims = {"iss": PUBLIC_URL, "aud": PUBLIC_URL, "sub": "bench-user", "client_id": "bench-client",
              "scope": "notes:read",
              "iat": now, "exp": now + 3600, "jti": secrets.token_urlsafe(16)}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return proc, url, f"{header}.{payload}.{signature}"


def fastapi_peer() -> tuple[Proc, str, str]:
    """The FastAPI tutorial app under uvicorn (2 workers, uvloop + httptools, no access
    log), and a token for alice from its own POST /token."""
    port = free_port()
    proc = Proc("fastapi", [str(VENV / "bin" / "uvicorn"), "fastapi_app:app", "--app-dir", str(PEERS),
                            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                            "--no-access-log", "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/hello", proc)
    status, body = http("POST", url + "/token",
                        form({"username": "alice", "password": "wonderland-password", "scope": "me items"}),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"FastAPI /token failed: {status} {body!r}")
    token = json.loads(body)["access_token"]
    status, body = http("GET", url + "/users/me", headers={"Authorization": "Bearer " + token})
    if status != 200:
        raise RuntimeError(f"FastAPI /users/me refused its own token: {status} {body!r}")
    return proc, url, token


# ---------------------------------------------------------------------------------------
# wrk


def lua_script(*parts: str) -> str:
    """common.lua plus the named scripts, concatenated into one file for wrk -s."""
    OUT.mkdir(parents=True, exist_ok=True)
    name = "-".join(p.removesuffix(".lua") for p in parts) or "plain"
    path = OUT / f"wrk-{name}.lua"
    text = (LUA / "common.lua").read_text() + "".join("\n" + (LUA / p).read_text() for p in parts)
    path.write_text(text)
    return str(path)


def _machine_busy() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) / CLK_TCK, idle / CLK_TCK


@dataclass
class WrkRun:
    label: str
    result: dict
    seconds: float
    cpu: dict

    @property
    def rps(self) -> float:
        return self.result["requests"] / (self.result["duration_us"] / 1e6)

    @property
    def ok_rps(self) -> float:
        """Successful responses per second (for scripts that count them)."""
        c = self.result["counters"]
        ok = c.get("ok", 0) + c.get("s200", 0)
        return ok / (self.result["duration_us"] / 1e6)

    @property
    def p99_ms(self) -> float:
        return self.result["latency_us"]["p99"] / 1000

    def as_json(self) -> dict:
        return {"label": self.label, "rps": round(self.rps, 1), "ok_rps": round(self.ok_rps, 1),
                "p50_ms": self.result["latency_us"]["p50"] / 1000, "p99_ms": self.p99_ms,
                "wrk": self.result, "cpu_cores": self.cpu}


def wrk(label: str, url: str, seconds: float, connections: int = 64, script: str | None = None,
        args: list[str] | None = None, headers: list[str] | None = None,
        watch: dict[str, Proc] | None = None, background: bool = False):
    """Runs wrk -t1 against url. Returns a WrkRun, or (when background) a callable that
    waits for the run and returns its WrkRun. `watch` names processes whose CPU use during
    the run is reported (in cores), next to wrk's own and the whole machine's."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s",
           "-s", script or lua_script()]
    for h in headers or []:
        cmd += ["-H", h]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    watch = watch or {}
    before = {name: p.cpu_seconds() for name, p in watch.items()}
    total0, idle0 = _machine_busy()
    started = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)

    def finish() -> WrkRun:
        try:
            out, err = child.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            raise
        elapsed = time.monotonic() - started
        total1, idle1 = _machine_busy()
        line = next((l for l in out.splitlines() if l.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result for {label}:\n{out}\n{err}")
        result = json.loads(line[len("WRKJSON "):])
        cpu = {name: round((p.cpu_seconds() - before[name]) / elapsed, 2) for name, p in watch.items()}
        cpu["wrk"] = round(child_cpu.get(child.pid, 0.0) / elapsed, 2)
        machine_cores = ((total1 - total0) - (idle1 - idle0)) / elapsed
        # Everything else on the machine: other wrk runs, other engineers' builds.
        cpu["other"] = round(max(0.0, machine_cores - sum(cpu.values())), 2)
        run_ = WrkRun(label, result, elapsed, cpu)
        log(f"  {label:<44} {run_.rps:>10,.0f} req/s  p99 {run_.p99_ms:7.2f} ms  "
            f"cpu {', '.join(f'{k} {v}' for k, v in cpu.items())}")
        return run_

    child_cpu: dict[int, float] = {}
    _watch_child(child, child_cpu)
    return finish if background else finish()


def _watch_child(child: subprocess.Popen, sink: dict[int, float]) -> None:
    """Samples the child's CPU time from /proc until it exits (its last sample is within
    ~50 ms of its exit, which on 10 s runs is noise)."""
    import threading

    def sample():
        while child.poll() is None:
            try:
                stat = Path(f"/proc/{child.pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                sink[child.pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()


def combine(runs: list[WrkRun]) -> dict:
    """Several rounds of one target: total requests over total time; worst p99."""
    requests = sum(r.result["requests"] for r in runs)
    duration = sum(r.result["duration_us"] for r in runs) / 1e6
    c = {}
    for r in runs:
        for k, v in r.result["counters"].items():
            c[k] = c.get(k, 0) + v
    ok = c.get("ok", 0) + c.get("s200", 0)
    cpu = {}
    for r in runs:
        for k, v in r.cpu.items():
            cpu[k] = round(cpu.get(k, 0) + v / len(runs), 2)
    return {
        "rps": round(requests / duration, 1),
        "ok_rps": round(ok / duration, 1),
        "p50_ms": round(sorted(r.result["latency_us"]["p50"] for r in runs)[len(runs) // 2] / 1000, 3),
        "p99_ms": round(max(r.p99_ms for r in runs), 3),
        "rounds_rps": [round(r.rps, 1) for r in runs],
        "counters": c,
        "errors_status": sum(r.result["errors"]["status"] for r in runs),
        "cpu_cores": cpu,
    }


def machine() -> dict:
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "unknown")
    mem_kib = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                   if l.startswith("MemTotal:"))
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "wrk": wrk_version[0] if wrk_version else "wrk",
        "rustc": run(["rustc", "--version"], check=False).strip(),
        "python": sys.version.split()[0],
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def git_describe() -> str:
    try:
        head = run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).strip()
        dirty = run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]).strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (RuntimeError, OSError):
        return "unknown"
