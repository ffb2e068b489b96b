#!/usr/bin/env python3
"""Build Headroom's own held-out-style cases from LOCAL COMMAND OUTPUT (``cases/cmd_*.json``).

Provenance record. Every tool output in these cases is the unmodified stdout+stderr (merged, as
an agent's ``bash`` tool returns it) of a real command run on this machine by this script,
sometimes a contiguous slice of its lines. Nothing is edited or synthesised after capture.
To make the outputs interesting the script first creates real state (all of it local):

* packages (Debian bookworm, ``apt-get``): installs nginx, nginx-common, rsync and apache2-utils at
  their bookworm point-release versions, then redis-server, sysstat, tree, figlet, nano, logrotate and
  cowsay, upgrades the first four to the bookworm-security versions, removes nano and logrotate (so
  they stay in state ``rc``) and purges figlet (once per machine, marker file in WORK). Each run also
  purges htop, ncdu, mc and iotop so that the captured install loop really installs them. All of this
  lands in /var/log/dpkg.log and /var/log/apt/history.log, which are captured as they are (the dpkg
  case keeps the lines of two earlier days of the machine's own history).
* failing work, on the host: ``apt-get install`` in a loop where one package name does not exist;
  ``pip install -v`` in a fresh venv of requests, python-ldap (its C build needs OpenLDAP headers that
  are not installed) and PyYAML; ``make -k`` over the C sources of the PyPI sdist Brotli 1.1.0 with
  extra warnings, after two one-character typos are injected (``BROTLI_TYPOS``); ``pytest -v`` of the
  more-itertools 10.3.0 sdist's tests against more-itertools 10.2.0; an import sweep over every nltk
  submodule of the project venv (some need optional packages or data); a nightly maintenance script
  whose hook is not executable, whose dump target directory is missing, which calls a command that does
  not exist and whose checksum file no longer matches; ``tar -cvf`` of real trees with a missing path
  and a socket among them.
* tables and JSON, on the host: ``ls -la`` of /usr/lib/x86_64-linux-gnu, ``find -size +2M -ls``,
  ``dpkg -l``, ``apt list --installed``, ``pip list`` (text and json) of the project venv, ``pip
  inspect`` of a scratch venv, ``dpkg-query`` rows through ``jq -s``, ``npm ls --all --json`` of a
  local project whose node_modules was edited by hand (lodash downgraded, qs deleted), ``npm view
  express --json``, ``git log --stat`` of this repository, ``ip -j -d -s addr`` inside a network
  namespace made here (veth pairs with addresses only, one pair left down, one jumbo MTU, no traffic).
* services, inside a fresh PID + network + mount namespace (``unshare``, so ``ps``/``top``/``ss`` list
  only what runs there), all on 127.0.0.1 with config and logs under WORK: nginx (static files copied
  from /usr/share/doc, a proxy to a dead upstream, a rewrite loop, a denied directory, a directory
  without index, a file its workers cannot read, a 4k body limit; clients set X-Forwarded-For with
  documentation-range addresses, honoured through ``real_ip``), redis-server (verbose log; its data
  directory is removed under it so BGSAVE fails and writes get MISCONF), PostgreSQL 15 (``initdb`` as
  user postgres; a job sends normal statements and five that fail, then a login with an unknown
  role), ``python3 -m http.server``, a socket server that never closes (CLOSE-WAIT), a CPU burner (a
  copy of ``yes`` named hashcrunch), a process holding 1.4 GB, a zombie, a stopped process, idle queue
  workers and idle psql sessions, and a 512M tmpfs "app data volume" filled by a runaway log. Traffic
  is a bounded number of stdlib ``http.client`` requests, mostly successful, a few failing on purpose.

Then it builds the cases. Questions, needles and answers are computed from the captured text
(parsed rows, the requests it sent and their statuses, the packages it changed), never from what
any compressor keeps. Needles are checked to occur 1-3 times in the tool output.

Captured outputs go to WORK/raw.json, so ``--build-only`` rebuilds the cases from the same capture.

    python benchmarks/corpus/build_commands.py [--bench ../shared/bench] [--work /tmp/cmdbench]
                                               [--build-only] [--only ID]

Needs root (apt-get, mount, ip netns), network access to the Debian/PyPI/npm registries only, and
tiktoken in the running interpreter (score.py counts tokens).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parents[2] / "shared" / "bench"
PROJECT = HERE.parents[1]

Case = dict[str, Any]
Call = tuple[str, dict[str, Any], str]
Step = tuple[str | None, list[Call]]

WORK = Path("/tmp/cmdbench")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
RAW: dict[str, dict[str, str]] = {}  # capture name -> {"cmd": shown command, "out": output}
STARTED: list[subprocess.Popen[bytes]] = []  # every process this script started, stopped at the end


def sh(cmd: str, cwd: str | Path | None = None, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Merged stdout+stderr of a bash command, as an agent's bash tool returns it (never raises on rc)."""
    p = subprocess.run(
        ["bash", "-c", cmd],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    return p.stdout.decode("utf-8", "replace")


def capture(
    name: str, cmd: str, cwd: str | Path | None = None, env: dict[str, str] | None = None, shown: str | None = None
) -> str:
    """Run CMD and keep its output under NAME; SHOWN is the command as the agent typed it."""
    out = sh(cmd, cwd, env)
    RAW[name] = {"cmd": shown or cmd, "out": out}
    print(f"  captured {name}: {len(out)} chars", flush=True)
    return out


def start(cmd: list[str], cwd: str | Path | None = None, **kw: Any) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    STARTED.append(p)
    return p


def wait_port(port: int, seconds: float = 30) -> None:
    end = time.time() + seconds
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def apt(args: str) -> str:
    """apt-get with retries while another process holds the dpkg lock."""
    out = ""
    for _ in range(30):
        out = sh(f"apt-get {args}", env=APT_ENV)
        if "Could not get lock" not in out and "is another process using it" not in out:
            break
        time.sleep(10)
    return out


# ---------------------------------------------------------------------------
# state: packages
# ---------------------------------------------------------------------------

OLD = {
    "nginx": "1.22.1-9+deb12u9",
    "nginx-common": "1.22.1-9+deb12u9",
    "rsync": "3.2.7-1+deb12u6",
    "apache2-utils": "2.4.68-1~deb12u1",
}
INSTALLED_NEW = ["redis-server", "sysstat", "tree", "figlet", "nano", "logrotate", "cowsay"]
REMOVED = ["nano", "logrotate"]
PURGED = ["figlet"]


def package_story() -> None:
    """Install at old versions, install more, upgrade, remove, purge: real dpkg/apt history."""
    marker = WORK / ".packages-done"
    if marker.exists():
        return
    apt("install -y " + " ".join(f"{p}={v}" for p, v in OLD.items()))
    apt("install -y " + " ".join(INSTALLED_NEW))
    apt("install -y --only-upgrade " + " ".join(OLD))
    apt("remove -y " + " ".join(REMOVED))
    apt("purge -y " + " ".join(PURGED))
    marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))


# ---------------------------------------------------------------------------
# state: services on 127.0.0.1 and their traffic
# ---------------------------------------------------------------------------

NGINX_PORT, DEAD_UPSTREAM, HTTPD_PORT, REDIS_PORT, PG_PORT, STUCK_PORT = 8088, 9009, 8099, 6390, 5444, 7070
NGINX_CONF = """\
worker_processes 2;
pid {w}/nginx/nginx.pid;
error_log {w}/nginx/error.log info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {w}/nginx/access.log combined;
    client_body_temp_path {w}/nginx/tmp/body;
    proxy_temp_path {w}/nginx/tmp/proxy;
    fastcgi_temp_path {w}/nginx/tmp/fastcgi;
    uwsgi_temp_path {w}/nginx/tmp/uwsgi;
    scgi_temp_path {w}/nginx/tmp/scgi;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    server {{
        listen 127.0.0.1:{port};
        server_name shop.example.test;
        root {w}/www;
        client_max_body_size 4k;
        location / {{ try_files $uri $uri/ =404; }}
        location /api/ {{ proxy_pass http://127.0.0.1:{dead}; }}
        location /legacy/ {{ rewrite ^/legacy/(.*)$ /legacy/$1 last; }}
        location /private/ {{ deny all; }}
    }}
}}
"""
# (method, path, client ip, body bytes): the requests that should not succeed, sent once each among the rest
NGINX_BAD = [
    ("GET", "/wp-login.php", "203.0.113.77", 0),
    ("GET", "/private/backup-2026-11.tar.gz", "198.51.100.23", 0),
    ("GET", "/reports/", "192.0.2.140", 0),
    ("GET", "/reports/q3-revenue.csv", "192.0.2.140", 0),
    ("POST", "/index.html", "198.51.100.61", 120),
    ("POST", "/upload/avatar", "203.0.113.9", 65536),
    ("GET", "/legacy/orders/8812", "198.51.100.4", 0),
    ("GET", "/api/v2/orders?page=3", "192.0.2.33", 0),
]
CLIENTS = (
    [f"198.51.100.{i}" for i in (12, 18, 27, 35, 44, 52, 63, 71, 88, 94)]
    + [f"203.0.113.{i}" for i in (5, 14, 21, 39, 46, 58, 66, 80, 97, 101)]
    + [f"192.0.2.{i}" for i in (7, 19, 26, 31, 48, 55, 62, 73, 84, 99)]
)
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]


def rng(seed: int) -> Callable[[int], int]:
    """Tiny deterministic LCG (no random module state shared between captures)."""
    state = [seed]

    def nxt(n: int) -> int:
        state[0] = (state[0] * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (state[0] >> 33) % n

    return nxt


def site_files() -> list[str]:
    """A static site under WORK/www made of real documentation files (copied from /usr/share/doc)."""
    www = WORK / "www"
    if not www.exists():
        docs = www / "docs"
        docs.mkdir(parents=True)
        for pkg in (
            "git",
            "nginx-common",
            "redis-server",
            "rsync",
            "tmux",
            "vim",
            "jq",
            "curl",
            "bash",
            "postgresql-15",
            "sysstat",
            "apache2-utils",
            "openssl",
            "gnupg",
            "tree",
            "cowsay",
        ):
            if Path("/usr/share/doc", pkg).is_dir():
                shutil.copytree(Path("/usr/share/doc", pkg), docs / pkg, symlinks=False, ignore_dangling_symlinks=True)
        shutil.copy("/usr/share/nginx/html/index.html", www / "index.html")
        (www / "reports").mkdir()
        for q in ("q1", "q2", "q3"):
            (www / "reports" / f"{q}-revenue.csv").write_text("month,revenue\n")
        os.chmod(www / "reports" / "q3-revenue.csv", 0o600)  # workers run as nobody: 403
        (www / "private").mkdir()
        (www / "private" / "backup-2026-11.tar.gz").write_bytes(b"\0" * 64)
        (www / "upload").mkdir()
    files = sorted(str(p.relative_to(www)) for p in www.rglob("*") if p.is_file() and p.stat().st_mode & 0o004)
    return ["/" + f for f in files if not f.startswith(("private/", "reports/q3"))]


def http_request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return -1
    finally:
        conn.close()


def nginx_traffic(n: int = 700) -> list[tuple[str, str, str, int]]:
    """N requests, the NGINX_BAD ones spread among them; returns (ip, method, path, status) as sent."""
    files, r, sent = site_files(), rng(15), []
    bad_at = {n * (i + 1) // (len(NGINX_BAD) + 1): b for i, b in enumerate(NGINX_BAD)}
    for i in range(n):
        if i in bad_at:
            method, path, ip, size = bad_at[i]
            body = b"x" * size
        else:
            method, path, ip, body = "GET", files[r(len(files))], CLIENTS[r(len(CLIENTS))], b""
        headers = {"X-Forwarded-For": ip, "User-Agent": AGENTS[r(len(AGENTS))], "Host": "shop.example.test"}
        if i % 97 == 5:
            headers["Range"] = "bytes=0-99"
        sent.append((ip, method, path, http_request(NGINX_PORT, method, path, headers, body)))
    return sent


def httpd_traffic(root: Path, n: int = 500) -> list[tuple[str, str, int]]:
    files = sorted("/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    r, sent = rng(99), []
    bad = [
        ("GET", "/dist/bundle-4.2.1.min.js"),
        ("PUT", "/uploads/report.pdf"),
        ("GET", "/.env"),
        ("POST", "/api/login"),
        ("DELETE", "/docs/index.html"),
    ]
    bad_at = {n * (i + 1) // (len(bad) + 1): b for i, b in enumerate(bad)}
    for i in range(n):
        method, path = bad_at.get(i, ("GET", files[r(len(files))]))
        sent.append((method, path, http_request(HTTPD_PORT, method, path, {"User-Agent": "curl/7.88.1"})))
    return sent


def start_nginx() -> None:
    (WORK / "nginx" / "tmp").mkdir(parents=True, exist_ok=True)
    for f in ("access.log", "error.log"):
        (WORK / "nginx" / f).unlink(missing_ok=True)
    conf = WORK / "nginx" / "nginx.conf"
    conf.write_text(NGINX_CONF.format(w=WORK, port=NGINX_PORT, dead=DEAD_UPSTREAM))
    sh(f"nginx -c {conf}")
    wait_port(NGINX_PORT)


def stop_nginx() -> None:
    sh(f"nginx -c {WORK / 'nginx' / 'nginx.conf'} -s quit")


REDIS_CONF = """\
bind 127.0.0.1
port {port}
daemonize no
loglevel verbose
logfile {w}/redis/redis.log
dir {w}/redis/data
dbfilename cache.rdb
save 900 1
maxclients 500
"""


def start_redis() -> None:
    (WORK / "redis" / "data").mkdir(parents=True, exist_ok=True)
    (WORK / "redis" / "redis.log").unlink(missing_ok=True)
    conf = WORK / "redis" / "redis.conf"
    conf.write_text(REDIS_CONF.format(w=WORK, port=REDIS_PORT))
    start(["redis-server", str(conf)], cwd=WORK / "redis")
    wait_port(REDIS_PORT)


def redis_cli(cmd: str) -> str:
    return sh(f"redis-cli -p {REDIS_PORT} {cmd}")


def redis_workload() -> list[socket.socket]:
    """Keys written by short-lived clients, a pool of idle clients kept open, then a BGSAVE that fails
    because the data directory was removed under the server (real MISCONF state)."""
    script = "".join(f"SET session:{i:05d} user{i * 7 % 1000}\r\nEXPIRE session:{i:05d} 3600\r\n" for i in range(2000))
    (WORK / "redis" / "load.txt").write_text(script)
    for i in range(40):
        sh(f"redis-cli -p {REDIS_PORT} INCRBY counter:checkout {i} > /dev/null")
    sh(f"redis-cli -p {REDIS_PORT} --pipe < {WORK / 'redis' / 'load.txt'}")
    pool = []
    for _ in range(24):
        s = socket.create_connection(("127.0.0.1", REDIS_PORT))
        s.sendall(b"PING\r\n")
        s.recv(64)
        pool.append(s)
    redis_cli("BGSAVE")
    time.sleep(2)
    shutil.rmtree(WORK / "redis" / "data")
    time.sleep(6)  # periodic verbose lines
    redis_cli("BGSAVE")
    time.sleep(2)
    for i in range(30):
        sh(f"redis-cli -p {REDIS_PORT} GET session:{i * 37:05d} > /dev/null")
    return pool


PG_CONF = """\
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{w}/pg/sock'
log_connections = on
log_disconnections = on
log_min_duration_statement = 0
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
"""
PG_ERRORS = [  # statements a buggy job sends among the normal ones
    "INSERT INTO customers (email, name) VALUES ('dana.whitfield@example.com', 'Dana Whitfield');",
    "SELECT id, total FROM order_items WHERE order_id = 41;",
    "UPDATE orders SET status = 'shipped' WHERE id = 17 AND;",
    "SELECT sum(total) / (SELECT count(*) FROM orders WHERE status = 'refunded') FROM orders;",
    "INSERT INTO orders (customer_id, total, status) VALUES (9999, 10.00, 'new');",
]


def pg(sql: str, user: str = "postgres", db: str = "shop") -> str:
    return sh(f"psql -X -h {WORK}/pg/sock -p {PG_PORT} -U {user} -d {db} -v ON_ERROR_STOP=0 -c {sh_quote(sql)}")


def sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def start_postgres() -> None:
    base = WORK / "pg"
    if base.exists():
        shutil.rmtree(base)
    (base / "sock").mkdir(parents=True)
    sh(f"chown -R postgres:postgres {base}")
    sh(f"su postgres -c 'initdb -D {base}/data -A trust -U postgres' > {base}/initdb.out")
    with open(base / "data" / "postgresql.conf", "a") as fh:
        fh.write(PG_CONF.format(w=WORK, port=PG_PORT))
    sh(f"su postgres -c 'pg_ctl -D {base}/data -l {base}/postgres.log -w start'")


def postgres_workload() -> None:
    sh(f"psql -X -h {WORK}/pg/sock -p {PG_PORT} -U postgres -c 'CREATE DATABASE shop'")
    pg(
        "CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text);"
        "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(10,2),"
        " status text NOT NULL DEFAULT 'new', created_at timestamptz DEFAULT now());"
    )
    pg(
        "INSERT INTO customers (email, name) SELECT 'user' || g || '@example.com', 'User ' || g"
        " FROM generate_series(1, 200) g;"
    )
    pg("INSERT INTO customers (email, name) VALUES ('dana.whitfield@example.com', 'Dana Whitfield');")
    pg(
        "INSERT INTO orders (customer_id, total, status) SELECT 1 + g % 200, (g * 37 % 500) + 0.99,"
        " (ARRAY['new','paid','shipped'])[1 + g % 3] FROM generate_series(1, 600) g;"
    )
    r, err_at = rng(5432), {40 + 45 * i: s for i, s in enumerate(PG_ERRORS)}
    for i in range(260):
        if i in err_at:
            pg(err_at[i])
            continue
        k = r(4)
        if k == 0:
            cid = 1 + r(200)
            pg(f"SELECT id, total, status FROM orders WHERE customer_id = {cid} ORDER BY created_at DESC LIMIT 5;")
        elif k == 1:
            pg(f"UPDATE orders SET status = 'paid' WHERE id = {1 + r(600)};")
        elif k == 2:
            pg(
                f"SELECT c.name, count(o.id) FROM customers c JOIN orders o ON o.customer_id = c.id"
                f" WHERE c.id = {1 + r(200)} GROUP BY c.name;"
            )
        else:
            pg("SELECT status, count(*) FROM orders GROUP BY status;")
    sh(f"psql -X -h {WORK}/pg/sock -p {PG_PORT} -U reporting -d shop -c 'SELECT 1'")  # role does not exist


def stop_postgres() -> None:
    sh(f"su postgres -c 'pg_ctl -D {WORK}/pg/data -m fast stop'")


STUCK_SERVER = """\
import socket, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", {port})); srv.listen(16)
held = []
while True:
    conn, _ = srv.accept()
    held.append(conn)  # never read, never closed: CLOSE-WAIT once the client hangs up
"""
MEMORY_HOLDER = """\
import sys, time
blocks = [bytearray(1 << 20) for _ in range(int(sys.argv[2]))]
for b in blocks:
    b[::4096] = b"x" * len(b[::4096])
time.sleep(3600)
"""
ZOMBIE_PARENT = """\
import os, time
if os.fork() == 0:
    os.execvp("sh", ["sh", "-c", "exit 3"])
time.sleep(3600)  # never waits: the child stays defunct
"""


def start_background() -> None:
    """The processes that make ps/top/ss interesting; all stopped by stop_all()."""
    bin_dir = WORK / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "stuck_server.py").write_text(STUCK_SERVER.format(port=STUCK_PORT))
    (bin_dir / "ledger-cache.py").write_text(MEMORY_HOLDER)
    (bin_dir / "report-scheduler.py").write_text(ZOMBIE_PARENT)
    shutil.copy("/usr/bin/yes", bin_dir / "hashcrunch")
    start(["python3", str(bin_dir / "stuck_server.py")])
    start(["python3", str(bin_dir / "ledger-cache.py"), "--warm", "1400"])
    start(["python3", str(bin_dir / "report-scheduler.py")])
    start(["bash", "-c", f"exec {bin_dir / 'hashcrunch'} > /dev/null"])
    stopped = start(["sleep", "7200"])
    os.kill(stopped.pid, signal.SIGSTOP)
    httpd_root = WORK / "httpd"
    if not httpd_root.exists():
        shutil.copytree("/usr/share/doc/python3.11", httpd_root / "docs", ignore_dangling_symlinks=True)
        shutil.copytree("/usr/share/javascript", httpd_root / "static", ignore_dangling_symlinks=True)
    with open(WORK / "httpd.log", "wb") as log:
        p = subprocess.Popen(
            ["python3", "-m", "http.server", str(HTTPD_PORT), "--bind", "127.0.0.1"],
            cwd=httpd_root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    STARTED.append(p)
    wait_port(STUCK_PORT)
    wait_port(HTTPD_PORT)
    for _ in range(3):  # clients that hang up on the stuck server
        socket.create_connection(("127.0.0.1", STUCK_PORT)).close()
    time.sleep(8)  # ledger-cache fills its memory; hashcrunch accumulates CPU time


def mount_appdata() -> Path:
    """A small tmpfs 'app data volume' filled almost to the top by a runaway log."""
    mnt = WORK / "mnt" / "appdata"
    mnt.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(mnt):
        sh(f"mount -t tmpfs -o size=512M appdata {mnt}")
    for d in ("app/logs", "app/uploads/2026/11", "app/uploads/2026/12", "app/cache/thumbs", "app/exports"):
        (mnt / d).mkdir(parents=True, exist_ok=True)
    sizes = {
        "app/logs/worker.log": 402,
        "app/logs/worker.log.1": 18,
        "app/logs/api.log": 6,
        "app/logs/api.log.1": 5,
        "app/exports/customers-2026-12-01.csv": 24,
        "app/exports/orders-2026-12-01.csv": 31,
    }
    for rel, mb in sizes.items():
        if not (mnt / rel).exists():
            sh(f"head -c {mb}M /dev/urandom > {mnt / rel}")
    for i in range(60):
        month = "11" if i < 35 else "12"
        p = mnt / "app" / "uploads" / "2026" / month / f"scan-{i:04d}.pdf"
        if not p.exists():
            sh(f"head -c {150 + i * 7}K /dev/urandom > {p}")
    for i in range(120):
        p = mnt / "app" / "cache" / "thumbs" / f"t{i:05d}.webp"
        if not p.exists():
            p.write_bytes(b"\0" * (2048 + 61 * i))
    return mnt


def make_netns() -> None:
    """A network namespace with veth pairs (addresses only, no traffic), one pair left down."""
    sh("ip netns del hrlab 2>/dev/null")
    sh("ip netns add hrlab")
    ns = "ip netns exec hrlab "
    sh(ns + "ip link set lo up")
    for i in range(1, 9):
        a, b = f"veth{i}a", f"veth{i}b"
        sh(ns + f"ip link add {a} type veth peer name {b}")
        sh(ns + f"ip addr add 198.18.{i}.1/24 dev {a}")
        sh(ns + f"ip addr add 198.18.{i}.2/24 dev {b}")
        sh(ns + f"ip -6 addr add fd00:{i}::1/64 dev {a}")
        mtu = 9000 if i == 6 else 1500
        sh(ns + f"ip link set {a} mtu {mtu}")
        if i != 4:
            sh(ns + f"ip link set {a} up && " + ns + f"ip link set {b} up")
    sh(ns + "ip link add br-lab type bridge")
    sh(ns + "ip link set veth7b master br-lab && " + ns + "ip link set br-lab up")


def stop_all(pool: Iterable[socket.socket]) -> None:
    for s in pool:
        s.close()
    for p in reversed(STARTED):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGCONT)
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    STARTED.clear()
    stop_nginx()
    stop_postgres()
    sh(f"umount {WORK / 'mnt' / 'appdata'}")


# ---------------------------------------------------------------------------
# failing work (real commands whose output carries failures)
# ---------------------------------------------------------------------------

APT_LOOP = ["htop", "ncdu", "python3-psycopg2-binary", "mc", "iotop"]
BROTLI_MAKEFILE = """\
CC = gcc
CFLAGS = -O2 -Wall -Wextra -Wpadded -Wcast-qual -Wshadow -Wmissing-prototypes -Ic/include
SRCS = $(sort $(wildcard c/common/*.c c/dec/*.c c/enc/*.c))
OBJS = $(patsubst c/%.c,build/%.o,$(SRCS))

all: libbrotli.a

build/%.o: c/%.c
\t@mkdir -p $(dir $@)
\t$(CC) $(CFLAGS) -c $< -o $@

libbrotli.a: $(OBJS)
\tar rcs $@ $^
"""
# the two typos injected into the real Brotli sources (file, text, replacement): first occurrence only
BROTLI_TYPOS = [
    ("c/enc/histogram.c", "  size_t i;\n", "  size_t i\n"),
    ("c/dec/state.c", "return BROTLI_TRUE;", "retrun BROTLI_TRUE;"),
]
IMPORT_SWEEP = """\
import importlib, pkgutil, sys, traceback
pkg = importlib.import_module(sys.argv[1])
for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    print("import", m.name, flush=True)
    try:
        importlib.import_module(m.name)
    except Exception:
        traceback.print_exc()
"""
NIGHTLY = """\
#!/bin/bash
# nightly maintenance for the shop app
APP={w}/app
echo "== rotate logs"
for f in $APP/logs/*.log; do gzip -v -k -f "$f"; done
echo "== sync static assets"
rsync -a -v --delete /usr/share/vim/vim90/ftplugin/ $APP/deploy/static/
echo "== post-rotate hooks"
$APP/hooks/post-rotate.sh
echo "== dump database"
pg_dump -h {w}/pg/sock -p {pg} -U postgres shop > {w}/backups/nightly/shop.sql
echo "== reindex search"
reindex-search --all --quiet
echo "== verify release checksums"
cd $APP/release && sha256sum -c SHA256SUMS
echo "== done"
"""


def pypi_sdist(name: str, version: str) -> Path:
    dl = WORK / "sdists"
    dl.mkdir(parents=True, exist_ok=True)
    sh(f"pip download -q --no-deps --no-binary :all: {name}=={version} -d {dl}")
    archive = next(
        p
        for p in sorted(dl.iterdir())
        if p.name.lower().replace("_", "-").startswith(f"{name.lower().replace('_', '-')}-{version}.tar")
    )
    sh(f"tar xzf {archive} -C {dl}")
    return next(
        p
        for p in sorted(dl.iterdir())
        if p.is_dir() and p.name.lower().replace("_", "-") == f"{name.lower()}-{version}"
    )


def venv(name: str, *pkgs: str) -> Path:
    path = WORK / name
    if not path.exists():
        sh(f"python3 -m venv {path}")
        if pkgs:
            sh(f"{path}/bin/pip install -q " + " ".join(pkgs))
    return path


def capture_failing_work() -> None:
    capture("apt_loop", "for p in " + " ".join(APT_LOOP) + "; do apt-get install -y $p; done", env=APT_ENV)
    app = venv("venv-app")
    capture(
        "pip_fail",
        f"{app}/bin/pip install -v requests==2.31.0 python-ldap==3.4.4 PyYAML==6.0.1",
        shown="pip install -v requests==2.31.0 python-ldap==3.4.4 PyYAML==6.0.1",
    )
    src = pypi_sdist("Brotli", "1.1.0")
    build = WORK / "brotli-build"
    if build.exists():
        shutil.rmtree(build)
    shutil.copytree(src, build)
    (build / "Makefile").write_text(BROTLI_MAKEFILE)
    for rel, old, new in BROTLI_TYPOS:
        text = (build / rel).read_text()
        assert old in text, (rel, old)
        (build / rel).write_text(text.replace(old, new, 1))
    capture("make", "make -k", cwd=build)
    mi = venv("venv-mi", "pytest==8.3.3", "more-itertools==10.2.0")
    tests = WORK / "mi-tests"
    if tests.exists():
        shutil.rmtree(tests)
    tests.mkdir()
    shutil.copytree(pypi_sdist("more-itertools", "10.3.0") / "tests", tests / "tests")
    capture("pytest", f"{mi}/bin/pytest -v -p no:cacheprovider tests", cwd=tests, shown="pytest -v tests")
    (WORK / "bin").mkdir(parents=True, exist_ok=True)
    (WORK / "bin" / "import_sweep.py").write_text(IMPORT_SWEEP)
    capture(
        "imports",
        f"{PROJECT}/.venv/bin/python {WORK}/bin/import_sweep.py nltk",
        shown=f"python {WORK}/bin/import_sweep.py nltk",
    )


def nightly_setup() -> Path:
    app = WORK / "app"
    if app.exists():
        shutil.rmtree(app)
    for d in ("logs", "hooks", "deploy/static", "release"):
        (app / d).mkdir(parents=True, exist_ok=True)
    for name in ("api", "worker", "scheduler", "mailer"):
        sh(f"tail -n 4000 /var/log/dpkg.log > {app}/logs/{name}.log")
    (app / "hooks" / "post-rotate.sh").write_text("#!/bin/sh\nkill -HUP $(cat /run/shop/api.pid)\n")
    os.chmod(app / "hooks" / "post-rotate.sh", 0o644)  # not executable
    for name in ("shop-api-2.14.0.tar.gz", "shop-worker-2.14.0.tar.gz", "shop-web-2.14.0.tar.gz"):
        sh(f"head -c 200K /dev/urandom > {app}/release/{name}")
    sh(f"cd {app}/release && sha256sum *.tar.gz > SHA256SUMS && head -c 1K /dev/urandom >> shop-worker-2.14.0.tar.gz")
    script = WORK / "bin" / "nightly-maintenance.sh"
    script.write_text(NIGHTLY.format(w=WORK, pg=PG_PORT))
    os.chmod(script, 0o755)
    return script


# ---------------------------------------------------------------------------
# capture
# ---------------------------------------------------------------------------

LIBDIR = "/usr/lib/x86_64-linux-gnu"


def npm_project() -> Path:
    proj = WORK / "npmapp"
    if not (proj / "node_modules").exists():
        proj.mkdir(parents=True, exist_ok=True)
        (proj / "package.json").write_text(
            json.dumps(
                {
                    "name": "shop-frontend",
                    "version": "2.14.0",
                    "private": True,
                    "dependencies": {"express": "4.18.2", "lodash": "^4.17.21", "morgan": "1.10.0", "dotenv": "16.4.5"},
                },
                indent=2,
            )
            + "\n"
        )
        sh("npm install --no-audit --no-fund", cwd=proj)
        pkg = proj / "node_modules" / "lodash" / "package.json"
        meta = json.loads(pkg.read_text())
        meta["version"] = "4.17.15"  # an older lodash copied over the tree by hand
        pkg.write_text(json.dumps(meta, indent=2) + "\n")
        shutil.rmtree(proj / "node_modules" / "qs")  # a dependency of express deleted
    return proj


def capture_host() -> None:
    """Stage 1, on the host: packages, failing work, package databases, registries, git, netns."""
    package_story()
    apt("purge -y " + " ".join(p for p in APT_LOOP if p != "python3-psycopg2-binary"))
    capture_failing_work()
    capture("nightly", str(nightly_setup()))
    capture("dpkg_log", "cat /var/log/dpkg.log")
    capture("apt_history", "cat /var/log/apt/history.log")
    capture("ls_libdir", f"ls -la {LIBDIR}")
    capture("find_big", "find /usr/lib /usr/bin /usr/libexec -xdev -type f -size +2M -ls")
    capture("dpkg_l", "dpkg -l")
    capture("apt_installed", "apt list --installed")
    capture("pip_list", f"{PROJECT}/.venv/bin/pip list", shown="pip list")
    capture("pip_list_json", f"{PROJECT}/.venv/bin/pip list --format json", shown="pip list --format json")
    insp = venv("venv-inspect", "requests==2.32.3", "PyYAML==6.0.2", "python-dateutil==2.9.0.post0")
    capture("pip_inspect", f"{insp}/bin/pip inspect", shown="pip inspect")
    capture(
        "dpkg_json",
        'dpkg-query -W -f=\'{"package":"${Package}","version":"${Version}","arch":'
        '"${Architecture}","installed_size_kb":"${Installed-Size}","status":"${db:Status-Abbrev}"}\\n\''
        " | jq -s 'map(.installed_size_kb = (.installed_size_kb | tonumber? // null))'",
    )
    proj = npm_project()
    capture("npm_ls", "npm ls --all --json 2>/dev/null", cwd=proj)
    capture("npm_view", "npm view express --json")
    git_log = "git log --stat -n 40 --date=iso --format='commit %H%nDate:   %ad%n%n    %s%n'"
    capture("git_log", git_log, cwd=PROJECT)
    make_netns()
    capture("ip_json", "ip netns exec hrlab ip -j -d -s addr")
    sh("ip netns del hrlab")


QUEUE_WORKER = """\
import sys, time
time.sleep(3600)  # an idle queue consumer: --queue NAME --id N
"""


def capture_services() -> None:
    """Stage 2, inside a fresh PID + network + mount namespace (``unshare``), so ps/top/ss show
    only what this stage runs: the services, their clients and the odd processes."""
    sh("ip link set lo up")
    pool: list[socket.socket] = []
    try:
        start_nginx()
        start_redis()
        start_postgres()
        start_background()
        (WORK / "bin" / "queue-worker.py").write_text(QUEUE_WORKER)
        for i, queue in enumerate(["emails"] * 4 + ["invoices"] * 3 + ["thumbnails"] * 5):
            start(["python3", str(WORK / "bin" / "queue-worker.py"), "--queue", queue, "--id", str(i + 1)])
        for _ in range(6):
            start(
                [
                    "psql",
                    "-X",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PG_PORT),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    "SELECT pg_sleep(900)",
                ]
            )
        mnt = mount_appdata()
        pool = redis_workload()
        postgres_workload()
        time.sleep(1)
        capture("ps_aux", "ps aux")
        capture("ps_state", "ps -eo pid,ppid,user,stat,etime,rss,args --sort=pid")
        capture("top", "top -b -n 1 -w 200")
        capture("ss", "ss -tanp")
        RAW["nginx_sent"] = {"cmd": "", "out": json.dumps(nginx_traffic())}
        RAW["httpd_sent"] = {"cmd": "", "out": json.dumps(httpd_traffic(WORK / "httpd"))}
        capture("redis_set", f"redis-cli -p {REDIS_PORT} SET feature:checkout-v2 on")
        capture("redis_info", f"redis-cli -p {REDIS_PORT} INFO")
        capture("df", f"df -h / {mnt}")
        capture("du", f"du -ah {mnt} | sort -h")
        capture("ls_logs", f"ls -la {mnt}/app/logs {mnt}/app/exports")
        time.sleep(2)
        capture("nginx_access", f"cat {WORK}/nginx/access.log")
        capture("nginx_error", f"cat {WORK}/nginx/error.log")
        capture(
            "curl_reports",
            f"curl -sv -H 'X-Forwarded-For: 192.0.2.140' http://127.0.0.1:{NGINX_PORT}/reports/q3-revenue.csv",
        )
        capture("nginx_T", f"nginx -T -c {WORK}/nginx/nginx.conf")
        capture("ls_reports", f"ls -la {WORK}/www/reports")
        capture("nginx_error_tail", f"tail -n 5 {WORK}/nginx/error.log")
        capture("httpd_log", f"cat {WORK}/httpd.log")
        capture("redis_log", f"cat {WORK}/redis/redis.log")
        capture("pg_log", f"cat {WORK}/pg/postgres.log")
        capture("pg_tables", f"psql -h {WORK}/pg/sock -p {PG_PORT} -U postgres -d shop -c '\\d+ orders' -c '\\dt+'")
        capture(
            "tar",
            f"tar -cvf {WORK}/backup-docs.tar /usr/share/doc/git /usr/share/zoneinfo/America "
            "/srv/shop/uploads /usr/share/vim/vim90/syntax " + f"{WORK}/pg/sock",
        )
    finally:
        stop_all(pool)


def capture_all() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    capture_host()
    stage = WORK / "raw_services.json"
    stage.unlink(missing_ok=True)
    subprocess.run(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--net",
            "--mount",
            sys.executable,
            __file__,
            "--services-stage",
            "--work",
            str(WORK),
        ],
        check=True,
    )
    RAW.update(json.loads(stage.read_text()))
    (WORK / "raw.json").write_text(json.dumps(RAW, indent=1))


# ---------------------------------------------------------------------------
# cases: questions, needles and answers computed from the captured text
# ---------------------------------------------------------------------------

bp: Any = None  # ../shared/bench/build_public.py (message building, system prompts), imported in build()
SYS_OPS = (
    "You are an operations agent with a bash tool on a Debian server. Run commands to investigate, "
    "then answer precisely, quoting names, versions, sizes, ports and error messages exactly as the "
    "commands print them."
)


class Spec(NamedTuple):
    kind: str
    fmt: str
    question: str
    steps: list[Step]
    needles: list[str]
    answer: str
    what: str  # what the output is, for the source field
    system: str = SYS_OPS


BUILDERS: list[Callable[[], Spec]] = []


def builder(fn: Callable[[], Spec]) -> Callable[[], Spec]:
    BUILDERS.append(fn)
    return fn


def out(name: str) -> str:
    return RAW[name]["out"]


def bash(name: str) -> Call:
    return ("bash", {"command": RAW[name]["cmd"]}, RAW[name]["out"])


def one(name: str) -> list[Step]:
    return [(None, [bash(name)])]


def pick(text: str, *cands: str) -> str:
    """The first candidate that occurs 1-3 times in TEXT (the needle rule), else an error."""
    for c in cands:
        if 1 <= text.count(c) <= 3 and not any(ch in c for ch in '"\\\n'):
            return c
    raise ValueError(f"no usable needle among {cands!r}")


def maybe(text: str, *cands: str) -> list[str]:
    try:
        return [pick(text, *cands)]
    except ValueError:
        return []


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


# --- column-aligned tables -------------------------------------------------


def ls_rows(text: str) -> list[tuple[str, int, str]]:
    """(line, size, name) of the regular files of an `ls -la` listing."""
    rows = []
    for ln in text.splitlines():
        f = ln.split(None, 8)
        if len(f) == 9 and ln.startswith("-") and f[4].isdigit():
            rows.append((ln, int(f[4]), f[8]))
    return rows


@builder
def cmd_ls_libdir_largest() -> Spec:
    text = out("ls_libdir")
    top = sorted(ls_rows(text), key=lambda r: -r[1])[:3]
    needles = [pick(text, n) for _, _, n in top] + [pick(text, str(s), f" {s} ") for _, s, _ in top]
    return Spec(
        "text",
        "openai",
        f"Which three files in {LIBDIR} are the largest, and how big is each one?",
        one("ls_libdir"),
        needles,
        "; ".join(f"{n}: {s} bytes ({human(s)})" for _, s, n in top),
        "`ls -la` of the multiarch library directory",
    )


@builder
def cmd_find_large_binaries() -> Spec:
    text = out("find_big")
    rows = []
    for ln in text.splitlines():
        f = ln.split(None, 10)
        if len(f) == 11 and f[6].isdigit():
            rows.append((int(f[6]), f[10]))
    biggest = max(rows)
    in_bin = max(r for r in rows if r[1].startswith("/usr/bin/"))
    needles = [pick(text, biggest[1]), pick(text, str(biggest[0])), pick(text, in_bin[1]), pick(text, str(in_bin[0]))]
    return Spec(
        "text",
        "anthropic",
        "What is the single biggest file in this listing, and which is the biggest "
        "executable directly in /usr/bin? Give both paths and sizes.",
        one("find_big"),
        needles,
        f"Biggest overall: {biggest[1]} ({biggest[0]} bytes); biggest in /usr/bin: {in_bin[1]} ({in_bin[0]} bytes).",
        "large files under /usr (find -ls)",
    )


def ps_aux_rows(text: str) -> list[list[str]]:
    return [ln.split(None, 10) for ln in text.splitlines()[1:] if len(ln.split(None, 10)) == 11]


@builder
def cmd_ps_memory_hog() -> Spec:
    text = out("ps_aux")
    rows = ps_aux_rows(text)
    mem = max(rows, key=lambda r: int(r[5]))
    cpu = max(rows, key=lambda r: float(r[2]))
    needles = [pick(text, mem[10]), pick(text, mem[5]), pick(text, cpu[10]), pick(text, cpu[2], f" {cpu[2]} ")]
    return Spec(
        "text",
        "openai",
        "Which process is using the most memory (RSS) and which one is using the most CPU "
        "right now? Give the command lines and the figures.",
        one("ps_aux"),
        needles,
        f"Most memory: `{mem[10]}` (PID {mem[1]}, RSS {mem[5]} KiB, {mem[3]}% MEM); most CPU: `{cpu[10]}` "
        f"(PID {cpu[1]}, {cpu[2]}% CPU).",
        "process list inside a PID namespace running the test services",
    )


@builder
def cmd_ps_zombie_stopped() -> Spec:
    text = out("ps_state")
    rows = [ln.split(None, 6) for ln in text.splitlines()[1:]]
    odd = [r for r in rows if len(r) == 7 and r[3][0] in "ZT"]
    by_pid = {r[0]: r for r in rows if len(r) == 7}
    needles, parts = [], []
    for r in odd:
        needles.append(pick(text, r[6]))
        parent = by_pid.get(r[1])
        if r[3].startswith("Z") and parent:
            needles.append(pick(text, parent[6]))
        parts.append(
            f"PID {r[0]} `{r[6]}` state {r[3]} (parent PID {r[1]}" + (f" `{parent[6]}`" if parent else "") + ")"
        )
    return Spec(
        "text",
        "anthropic",
        "Are there processes here that are defunct (zombie) or stopped? Which ones, and "
        "which parent process is failing to reap the zombie?",
        one("ps_state"),
        needles,
        "; ".join(parts),
        "ps -eo with state column inside a PID namespace",
    )


@builder
def cmd_dpkg_rc_packages() -> Spec:
    text = out("dpkg_l")
    rc = [ln.split() for ln in text.splitlines() if ln.startswith("rc ")]
    needles = [pick(text, r[1], f"rc  {r[1]} ") for r in rc]
    return Spec(
        "text",
        "anthropic",
        "Which packages have been removed but still have configuration files left on the system?",
        one("dpkg_l"),
        needles[:8],
        "State rc (removed, config files remain): " + ", ".join(f"{r[1]} {r[2]}" for r in rc),
        "dpkg -l after installs, upgrades, removals and a purge",
    )


def apt_versions(text: str, names: list[str]) -> dict[str, str]:
    found = {}
    for ln in text.splitlines():
        name = ln.split("/", 1)[0]
        if name in names and len(ln.split()) > 1:
            found[name] = ln.split()[1]
    return found


@builder
def cmd_apt_installed_versions() -> Spec:
    text = out("apt_installed")
    names = ["nginx", "redis-server", "libpq5", "nodejs"]
    vers = apt_versions(text, names)
    needles = [
        pick(text, f"{n}/" + ln.split("/", 1)[1].split()[0] + " " + vers[n], vers[n])
        for n in names
        for ln in text.splitlines()
        if ln.startswith(n + "/")
    ]
    return Spec(
        "text",
        "openai",
        "Which exact versions of nginx, redis-server, libpq5 and nodejs are installed on this host?",
        one("apt_installed"),
        [pick(text, vers[n]) if text.count(vers[n]) <= 3 else nd for n, nd in zip(names, needles, strict=True)],
        "; ".join(f"{n} {vers[n]}" for n in names),
        "apt list --installed",
    )


def versions(name: str, kind: str, fmt: str, rows: dict[str, str], names: list[str], what: str) -> Spec:
    """A lookup of named packages' versions in a listing (needles: the versions that are rare enough)."""
    text = out(name)
    needles = [rows[n] for n in names if n in rows and 1 <= text.count(rows[n]) <= 3]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return Spec(
        kind,
        fmt,
        f"Which versions of {listed} are installed in this environment?",
        one(name),
        needles,
        "; ".join(f"{n} {rows[n]}" for n in names if n in rows),
        what,
    )


@builder
def cmd_pip_list_versions() -> Spec:
    rows = {f[0].lower(): f[1] for ln in out("pip_list").splitlines()[2:] if len(f := ln.split()) >= 2}
    names = ["tiktoken", "pydantic", "litellm", "numpy", "trafilatura"]
    return versions("pip_list", "text", "anthropic", rows, names, "pip list of the project's venv")


@builder
def cmd_ss_close_wait() -> Spec:
    text = out("ss")
    cw = [ln.split() for ln in text.splitlines() if ln.startswith("CLOSE-WAIT")]
    needles = [pick(text, r[4]) for r in cw][:6]
    proc = cw[0][5] if cw and len(cw[0]) > 5 else ""
    return Spec(
        "text",
        "openai",
        "Are any TCP connections stuck half-closed by the server side (the peer hung up "
        "but the local process never closed)? On which local port, from which peer ports, and which "
        "process holds them?",
        one("ss"),
        needles + maybe(text, "CLOSE-WAIT"),
        f"{len(cw)} sockets in CLOSE-WAIT on {cw[0][3] if cw else '?'} from peers "
        + ", ".join(r[4] for r in cw)
        + f", held by {proc}.",
        "ss -tanp inside a network namespace with the services",
    )


@builder
def cmd_git_log_file_history() -> Spec:
    text = out("git_log")
    commits: list[tuple[str, str, str, list[str]]] = []
    for block in text.split("\ncommit ")[0:]:
        lines = block.removeprefix("commit ").splitlines()
        sha, date = lines[0].strip(), lines[1].removeprefix("Date:").strip()
        subject = lines[3].strip() if len(lines) > 3 else ""
        files = [ln.split("|")[0].strip() for ln in lines if "|" in ln]
        commits.append((sha, date, subject, files))
    touched: dict[str, list[int]] = collections.defaultdict(list)
    for i, (_, _, _, files) in enumerate(commits):
        for f in files:
            if not f.startswith("...") and f.startswith("headroom/"):
                touched[f].append(i)
    target = sorted((f for f, idx in touched.items() if 2 <= len(idx) <= 5), key=lambda f: (-len(touched[f]), f))[0]
    hits = [commits[i] for i in touched[target]]
    needles = [pick(text, sha[:12]) for sha, _, _, _ in hits] + [pick(text, hits[0][1])]
    return Spec(
        "text",
        "anthropic",
        f"Which of these commits changed {target}, and when was the most recent of them?",
        one("git_log"),
        needles[:8],
        "; ".join(f"{sha[:12]} ({d}): {s[:80]}" for sha, d, s, _ in hits),
        "git log --stat of this repository (Headroom), last 40 commits",
    )


# --- logs --------------------------------------------------------------------


@builder
def cmd_dpkg_log_upgrades_may20() -> Spec:
    full = out("dpkg_log").splitlines()
    day, prev = "2026-05-20", "2026-05-09"
    lines = [ln for ln in full if ln.startswith((prev, day))]
    text = "\n".join(lines) + "\n"
    ups = [ln.split() for ln in lines if ln.startswith(day) and ln.split()[2] == "upgrade"]
    needles = [pick(text, f"upgrade {u[3]} {u[4]}") for u in ups][:8]
    step: Call = ("bash", {"command": f"grep -E '^({prev}|{day})' /var/log/dpkg.log"}, text)
    return Spec(
        "logs",
        "openai",
        "Which packages were upgraded on May 20th (upgrades only, not new installs), and from which version to which?",
        [(None, [step])],
        needles,
        "; ".join(f"{u[3]} {u[4]} -> {u[5]}" for u in ups),
        "lines of two days of /var/log/dpkg.log",
    )


@builder
def cmd_apt_history_removals() -> Spec:
    text = out("apt_history")
    entries = [e for e in text.split("\n\n") if "\nRemove: " in e or "\nPurge: " in e]
    needles, parts = [], []
    for e in entries:
        fields = dict(ln.split(": ", 1) for ln in e.strip().splitlines() if ": " in ln)
        needles.append(pick(text, fields["Commandline"]))
        what = fields.get("Remove") or fields.get("Purge") or ""
        parts.append(f"{fields['Start-Date']}: `{fields['Commandline']}` -> {what}")
    return Spec(
        "logs",
        "anthropic",
        "Has anything been removed or purged with apt on this machine? What, when, and with which command?",
        one("apt_history"),
        needles[:8],
        "; ".join(parts),
        "/var/log/apt/history.log",
    )


def access_rows(text: str) -> list[tuple[str, str, int, str]]:
    """(client, request line, status, line) of a combined-format access log."""
    rx = re.compile(r'^(\S+) \S+ \S+ \[[^]]+\] "([^"]*)" (\d{3}) ')
    return [(m.group(1), m.group(2), int(m.group(3)), ln) for ln in text.splitlines() if (m := rx.match(ln))]


@builder
def cmd_nginx_access_failures() -> Spec:
    text = out("nginx_access")
    bad = [r for r in access_rows(text) if not 200 <= r[2] < 300]
    needles = [pick(text, r[1]) for r in bad][:8]
    return Spec(
        "logs",
        "openai",
        "Which requests in this access log did not succeed? Give the client, the request and the status for each.",
        one("nginx_access"),
        needles,
        "; ".join(f"{c} {req} -> {st}" for c, req, st, _ in bad),
        "nginx access log (combined format) of real requests",
    )


NGINX_ERROR_PHRASES = [
    "connect() failed (111: Connection refused)",
    "rewrite or internal redirection cycle",
    "(13: Permission denied)",
    "directory index of",
    "access forbidden by rule",
    "client intended to send too large body",
    "(2: No such file or directory)",
]


@builder
def cmd_nginx_error_causes() -> Spec:
    text = out("nginx_error")
    errs = [ln for ln in text.splitlines() if "[error]" in ln]
    needles = [p for p in NGINX_ERROR_PHRASES if 1 <= text.count(p) <= 3][:7] + maybe(
        text, f"127.0.0.1:{DEAD_UPSTREAM}"
    )
    return Spec(
        "logs",
        "anthropic",
        "Apart from the keepalive chatter, what errors did nginx log, and what caused the 5xx responses in particular?",
        one("nginx_error"),
        needles[:8],
        " | ".join(e.split("] ", 1)[1][:160] for e in errs),
        "nginx error log at level info",
    )


@builder
def cmd_httpd_failures() -> Spec:
    text = out("httpd_log")
    rx = re.compile(r'"([A-Z]+) (\S+) HTTP/1\.[01]" (\d{3})')
    bad = [m.groups() for m in rx.finditer(text) if not m.group(3).startswith("2")]
    needles = [pick(text, f"{m} {p} HTTP") for m, p, _ in bad][:8]
    return Spec(
        "logs",
        "anthropic",
        "Which requests to the python http.server failed, and with which status?",
        one("httpd_log"),
        needles,
        "; ".join(f"{m} {p} -> {s}" for m, p, s in bad),
        "python3 -m http.server request log",
    )


@builder
def cmd_redis_startup_warnings() -> Spec:
    text = out("redis_log")
    warn = [ln for ln in text.splitlines() if " # WARNING" in ln or "# Warning" in ln]
    needles = [pick(text, "Memory overcommit must be enabled"), pick(text, "vm.overcommit_memory = 1")]
    needles += maybe(text, "Running mode=standalone, port=6390.")
    return Spec(
        "logs",
        "openai",
        "What did Redis warn about when it started, and what does it suggest doing about "
        "it? Also, which port is it serving on?",
        one("redis_log"),
        needles,
        " | ".join(w.split("# ", 1)[1][:200] for w in warn),
        "redis-server log at loglevel verbose",
    )


def quoted_pieces(msg: str) -> list[str]:
    """Pieces of an error message split at double quotes: identifiers first, then the wording."""
    parts = [p.strip() for p in msg.split('"')]
    return [p for p in parts[1::2] if len(p) > 2] + [p for p in parts[0::2] if len(p) > 8]


@builder
def cmd_postgres_failed_statements() -> Spec:
    text = out("pg_log")
    errs = [ln.split("ERROR:  ", 1)[1] for ln in text.splitlines() if "ERROR:  " in ln]
    fatals = [ln.split("FATAL:  ", 1)[1] for ln in text.splitlines() if "FATAL:  " in ln]
    needles = [pick(text, *quoted_pieces(e)) for e in errs + fatals][:8]
    return Spec(
        "logs",
        "anthropic",
        "Which statements or connections failed on this PostgreSQL server, and with which errors?",
        one("pg_log"),
        needles,
        " | ".join(errs + fatals),
        "PostgreSQL 15 server log with log_min_duration_statement=0 and connection logging",
    )


# --- failures in command output ---------------------------------------------


@builder
def cmd_apt_loop_missing_package() -> Spec:
    text = out("apt_loop")
    missing = [ln for ln in text.splitlines() if ln.startswith("E: ")]
    needles = [pick(text, ln.removeprefix("E: ")) for ln in missing]
    return Spec(
        "text",
        "openai",
        "I installed a handful of tools in a loop. Did every install go through? If not, which one failed and why?",
        one("apt_loop"),
        needles,
        " | ".join(missing),
        "apt-get install of several packages in a shell loop",
    )


@builder
def cmd_pip_build_failure() -> Spec:
    text = out("pip_fail")
    needles = [
        pick(text, "lber.h: No such file or directory"),
        pick(text, "Failed building wheel for python-ldap"),
        pick(text, "returned non-zero exit status 1"),
    ]
    return Spec(
        "text",
        "anthropic",
        "The install didn't finish. Which package broke and what is the underlying cause?",
        one("pip_fail"),
        needles,
        "python-ldap 3.4.4 failed to build its C extension: Modules/common.h includes lber.h, which is missing "
        "(OpenLDAP development headers not installed), so gcc exited with status 1 and no wheel was built.",
        "pip install -v in a fresh venv",
    )


@builder
def cmd_make_compile_errors() -> Spec:
    text = out("make")
    errs = [ln for ln in text.splitlines() if ": error: " in ln]
    files = sorted({ln.split(":", 1)[0] for ln in errs})
    needles = [pick(text, ln.split(": error: ", 1)[0]) for ln in errs][:4]
    needles += [
        pick(text, ln.split(": error: ", 1)[1]) for ln in errs if 1 <= text.count(ln.split(": error: ", 1)[1]) <= 3
    ][:4]
    return Spec(
        "text",
        "openai",
        "The library build failed. Which source files did not compile, at which lines, and "
        "what are the compiler errors (ignore the warnings)?",
        one("make"),
        needles[:8],
        f"{len(files)} files failed: " + " | ".join(errs),
        "make -k of the Brotli 1.1.0 C sources with extra warnings",
    )


@builder
def cmd_pytest_failures() -> Spec:
    text = out("pytest")
    causes = re.findall(r"^E\s+(?:AttributeError|TypeError): (.*)$", text, re.M)
    seen: list[str] = []
    for c in causes:
        if c not in seen:
            seen.append(c)
    first_test: dict[str, str] = {}  # cause -> the first failure section (`____ Class.test ____`) showing it
    sections = re.split(r"^_{3,} (\S+) _{3,}$", text, flags=re.M)
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        for c in re.findall(r"^E\s+(?:AttributeError|TypeError): (.*)$", body, re.M):
            first_test.setdefault(c, name)
    needles = [pick(text, c.split("module 'more_itertools' has ", 1)[-1], c, first_test.get(c, c)) for c in seen]
    summary = [ln for ln in text.splitlines() if ln.startswith("FAILED ")]
    return Spec(
        "text",
        "anthropic",
        "Which tests fail against the installed version, and what is missing from it that the tests expect?",
        one("pytest"),
        needles[:8],
        f"{len(summary)} failures; causes: " + "; ".join(seen),
        "pytest -v of the more-itertools 10.3.0 test-suite run against more-itertools 10.2.0",
    )


@builder
def cmd_import_sweep_tracebacks() -> Spec:
    text = out("imports")
    lines = text.splitlines()
    fails: list[tuple[str, str]] = []
    current = ""
    for i, ln in enumerate(lines):
        if ln.startswith("import "):
            current = ln.split()[1]
        elif ln.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j]):
                j += 1
            err = lines[j] if j < len(lines) else ""
            if err.startswith("LookupError"):
                k = next((k for k in range(j, min(j + 6, len(lines))) if "Resource" in lines[k]), j)
                err = "LookupError: " + lines[k].strip()
            fails.append((current, err))
    needles = []
    for mod, err in fails:
        for cand in (f"import {mod}", err.split(": ", 1)[-1]):
            if 1 <= text.count(cand) <= 3 and cand not in needles and '"' not in cand:
                needles.append(cand)
                break
    return Spec(
        "text",
        "openai",
        "Which nltk submodules failed to import during the sweep, and what was the error for each?",
        one("imports"),
        needles[:8],
        "; ".join(f"{m}: {e}" for m, e in fails),
        "an import sweep over every nltk submodule (pkgutil.walk_packages) printing tracebacks",
    )


@builder
def cmd_tar_backup_errors() -> Spec:
    text = out("tar")
    errs = [ln for ln in text.splitlines() if ln.startswith("tar: ") and "Removing leading" not in ln]
    needles = []
    for ln in errs:
        parts = ln.removeprefix("tar: ").split(": ")
        needles += maybe(text, f"{os.path.basename(parts[0])}: {parts[1]}") if len(parts) > 1 else maybe(text, parts[0])
    return Spec(
        "text",
        "anthropic",
        "Did the backup archive get written completely? List anything tar could not include.",
        one("tar"),
        needles,
        " | ".join(errs),
        "tar -cvf of several trees, one missing, one socket",
    )


@builder
def cmd_nightly_script_failures() -> Spec:
    text = out("nightly")
    bad = [
        ln
        for ln in text.splitlines()
        if re.search(r"Permission denied|No such file|command not found|FAILED|did NOT", ln)
    ]
    needles = [pick(text, os.path.basename(ln.split(": ")[-2]) + ": " + ln.split(": ")[-1], ln) for ln in bad][:8]
    return Spec(
        "text",
        "openai",
        "The nightly maintenance run just finished. Did every step work? Which steps went wrong and how?",
        one("nightly"),
        needles,
        " | ".join(bad),
        "a nightly maintenance shell script",
    )


# --- JSON --------------------------------------------------------------------


@builder
def cmd_ip_json_down_interfaces() -> Spec:
    text = out("ip_json")
    ifaces = json.loads(text)
    down = [i["ifname"] for i in ifaces if "UP" not in i["flags"]]
    jumbo = [i["ifname"] for i in ifaces if i.get("mtu") not in (1500, 65536)]
    needles = (
        [pick(text, f'"ifname":"{n}"'.replace('"', "")[7:], n) for n in down]
        + [pick(text, n) for n in jumbo]
        + maybe(text, '"mtu":9000'.replace('"', ""), "9000")
    )
    return Spec(
        "json",
        "anthropic",
        "In this network namespace, which interfaces are administratively down, and is "
        "any interface configured with an unusual MTU?",
        one("ip_json"),
        needles[:8],
        f"Down: {', '.join(down)}; unusual MTU: "
        + ", ".join(f"{n} ({next(i['mtu'] for i in ifaces if i['ifname'] == n)})" for n in jumbo),
        "ip -j -d -s addr in a namespace made here",
    )


@builder
def cmd_pip_json_versions() -> Spec:
    rows = {r["name"].lower(): r["version"] for r in json.loads(out("pip_list_json"))}
    names = ["httpx", "fastapi", "nltk", "jsonschema", "hypothesis"]
    return versions("pip_list_json", "json", "openai", rows, names, "pip list --format json of the project's venv")


@builder
def cmd_pip_inspect_requirements() -> Spec:
    text = out("pip_inspect")
    inst = json.loads(text)["installed"]
    meta = {d["metadata"]["name"].lower(): d["metadata"] for d in inst}
    who_six = [
        m["name"]
        for m in meta.values()
        if any(r.split(";")[0].replace(" ", "").startswith("six") for r in m.get("requires_dist", []))
    ]
    six_req = next(r for r in meta[who_six[0].lower()]["requires_dist"] if r.startswith("six"))
    cert = meta["certifi"]
    needles = [pick(text, six_req), pick(text, cert["version"]), pick(text, meta["urllib3"]["version"])]
    return Spec(
        "json",
        "anthropic",
        "Which installed distribution depends on six (and with what version constraint), "
        "and which versions of certifi and urllib3 are installed?",
        one("pip_inspect"),
        needles,
        f"{', '.join(who_six)} requires {six_req}; certifi {cert['version']}; urllib3 {meta['urllib3']['version']}",
        "pip inspect of a venv with requests, PyYAML and python-dateutil",
    )


@builder
def cmd_npm_ls_problems() -> Spec:
    text = out("npm_ls")
    tree = json.loads(text)
    probs = [p for p in tree.get("problems", []) if not p.startswith("extraneous")]
    needles = [pick(text, p.split(" /", 1)[0]) for p in probs][:6]
    extra = [p for p in tree.get("problems", []) if p.startswith("extraneous")]
    return Spec(
        "json",
        "openai",
        "Is the installed dependency tree of this project consistent with package.json? "
        "Which packages are at the wrong version or missing?",
        one("npm_ls"),
        needles,
        " | ".join(probs) + f" (plus {len(extra)} extraneous packages left behind)",
        "npm ls --all --json of a local project with a hand-edited node_modules",
    )


@builder
def cmd_npm_view_publish_dates() -> Spec:
    text = out("npm_view")
    meta = json.loads(text)
    times = meta["time"]
    latest = meta["dist-tags"]["latest"]
    needles = [pick(text, times["4.18.2"]), pick(text, times["4.17.1"]), pick(text, times[latest])]
    return Spec(
        "json",
        "anthropic",
        "When were express 4.18.2 and 4.17.1 published, and when was the version tagged latest released?",
        one("npm_view"),
        needles,
        f"4.18.2: {times['4.18.2']}; 4.17.1: {times['4.17.1']}; latest {latest}: {times[latest]}",
        "npm view express --json (npm registry)",
    )


@builder
def cmd_dpkg_json_largest() -> Spec:
    text = out("dpkg_json")
    rows = [r for r in json.loads(text) if isinstance(r.get("installed_size_kb"), int)]
    top = sorted(rows, key=lambda r: -r["installed_size_kb"])[:3]
    needles = [n for r in top for n in maybe(text, r["package"])] + [
        pick(text, str(r["installed_size_kb"])) for r in top
    ]
    return Spec(
        "json",
        "openai",
        "Which three installed packages take the most disk space, and how much each?",
        one("dpkg_json"),
        needles,
        "; ".join(f"{r['package']} {r['installed_size_kb']} KiB" for r in top),
        "dpkg-query rows as JSON through jq -s",
    )


# --- several tool rounds -----------------------------------------------------


@builder
def cmd_mixed_disk_full() -> Spec:
    df, du, ls = out("df"), out("du"), out("ls_logs")
    whole = "\n".join([df, du, ls])
    fullest = max((ln.split() for ln in df.splitlines()[1:]), key=lambda f: int(f[4].rstrip("%")))
    big = max(ls_rows(ls), key=lambda r: r[1])
    du_rows = [ln.split("\t") for ln in du.splitlines() if "\t" in ln]
    biggest_dir = max(
        (
            r
            for r in du_rows
            if not r[1].endswith((".log", ".1", ".csv", ".pdf", ".webp"))
            and r[1].count("/") > fullest[5].count("/") + 1
        ),
        key=lambda r: float(r[0][:-1]) * {"K": 1, "M": 1024, "G": 1024**2}.get(r[0][-1], 1),
    )
    big_path = next(r[1] for r in du_rows if r[1].endswith("/" + big[2]))
    needles = [
        pick(whole, f"{fullest[4]} {fullest[5]}"),
        pick(whole, big_path),
        pick(whole, str(big[1])),
        pick(whole, biggest_dir[0]),
    ]
    steps: list[Step] = [
        ("Checking the filesystems first.", [bash("df")]),
        (None, [bash("du")]),
        (None, [bash("ls_logs")]),
    ]
    return Spec(
        "mixed",
        "anthropic",
        "The app data volume is nearly out of space. What is using it up, and how big is the main culprit?",
        steps,
        needles,
        f"{fullest[5]} is at {fullest[4]}; {biggest_dir[1]} holds {biggest_dir[0]}; the single largest file is "
        f"{big[2]} at {big[1]} bytes ({human(big[1])}).",
        "df -h, du -ah | sort -h and ls -la of a full tmpfs volume",
    )


@builder
def cmd_mixed_nginx_forbidden_file() -> Spec:
    curl, conf, ls, tail = out("curl_reports"), out("nginx_T"), out("ls_reports"), out("nginx_error_tail")
    whole = "\n".join([curl, conf, ls, tail])
    mode = next(r[0].split()[0] for r in ls_rows(ls) if r[2] == "q3-revenue.csv")
    needles = [pick(whole, "(13: Permission denied)"), pick(whole, mode), pick(whole, "HTTP/1.1 403 Forbidden")]
    steps: list[Step] = [
        (None, [bash("curl_reports")]),
        ("Looking at the server config.", [bash("nginx_T")]),
        (None, [bash("ls_reports"), bash("nginx_error_tail")]),
    ]
    return Spec(
        "mixed",
        "openai",
        "Why does /reports/q3-revenue.csv return an error while the q1 and q2 reports download fine?",
        steps,
        needles,
        f"nginx answers 403: its worker (user nobody) cannot open the file, open() failed (13: Permission "
        f"denied); q3-revenue.csv has mode {mode} owned by root while q1/q2 are world-readable.",
        "curl -sv, nginx -T, ls -la and the error log tail of the test nginx",
    )


@builder
def cmd_mixed_redis_writes_rejected() -> Spec:
    setr, info, log = out("redis_set"), out("redis_info"), out("redis_log")
    whole = "\n".join([setr, info, log])
    needles = [
        pick(whole, "rdb_last_bgsave_status:err"),
        pick(whole, "Failed opening the temp RDB file"),
        pick(whole, "Background saving error"),
        *maybe(whole, "in server root dir unknown"),
    ]
    steps: list[Step] = [
        (None, [bash("redis_set")]),
        (None, [bash("redis_info")]),
        ("Checking the server log.", [bash("redis_log")]),
    ]
    return Spec(
        "mixed",
        "openai",
        "Writes to our Redis are being rejected. Why, and what does the server report about its last snapshot?",
        steps,
        needles,
        "Redis refuses writes with MISCONF because the last BGSAVE failed (rdb_last_bgsave_status:err): it could "
        "not open the temp RDB file since its data directory no longer exists (No such file or directory).",
        "redis-cli SET, INFO and the server log",
    )


@builder
def cmd_mixed_postgres_fk_failure() -> Spec:
    tables, log = out("pg_tables"), out("pg_log")
    whole = tables + "\n" + log
    detail = next(ln.split("DETAIL:  ", 1)[1] for ln in log.splitlines() if "DETAIL:  Key (customer_id)" in ln)
    needles = [
        pick(whole, "orders_customer_id_fkey"),
        pick(whole, "violates foreign key constraint"),
        pick(whole, detail.split(" is not", 1)[0]),
    ]
    steps: list[Step] = [(None, [bash("pg_tables")]), ("Now the server log.", [bash("pg_log")])]
    return Spec(
        "mixed",
        "anthropic",
        "The order import job reports a failed insert into orders. Using the schema and "
        "the server log, which constraint rejected it and for what value?",
        steps,
        needles,
        f"orders_customer_id_fkey (orders.customer_id REFERENCES customers(id)) rejected it: {detail}",
        "psql \\d+ orders / \\dt+ and the PostgreSQL server log",
    )


@builder
def cmd_dpkg_l_lookup() -> Spec:
    text = out("dpkg_l")
    rows = {f[1].split(":")[0]: f for ln in text.splitlines() if ln.startswith("ii ") for f in [ln.split(None, 4)]}
    names = ["libssl3", "openssl", "libsqlite3-0", "libxml2"]
    needles = [pick(text, rows[n][2], f"{n} {rows[n][2]}") for n in names if n in rows]
    return Spec(
        "text",
        "openai",
        "What are the installed versions of libssl3, openssl, libsqlite3-0 and libxml2?",
        one("dpkg_l"),
        needles,
        "; ".join(f"{n} {rows[n][2]} ({rows[n][3]})" for n in names if n in rows),
        "dpkg -l",
    )


@builder
def cmd_redis_info_lookup() -> Spec:
    text = out("redis_info")
    kv = dict(ln.split(":", 1) for ln in text.splitlines() if ":" in ln and not ln.startswith("#"))
    keys = ["connected_clients", "used_memory_human", "db0", "rdb_changes_since_last_save"]
    needles = [pick(text, f"{k}:{kv[k].strip()}") for k in keys if k in kv]
    return Spec(
        "text",
        "anthropic",
        "How many clients are connected to Redis, how much memory does it use, how many "
        "keys are in database 0, and how many changes are not yet saved?",
        one("redis_info"),
        needles,
        "; ".join(f"{k}={kv[k].strip()}" for k in keys if k in kv),
        "redis-cli INFO",
    )


@builder
def cmd_postgres_slowest_statement() -> Spec:
    text = out("pg_log")
    durs = [
        (float(m.group(1)), m.group(0), m.group(2))
        for m in re.finditer(r"duration: ([\d.]+) ms  statement: (.{0,80})", text)
    ]
    top = sorted(durs, reverse=True)[:2]
    needles = [pick(text, d[1].split("  statement")[0]) for d in top] + [n for d in top for n in maybe(text, d[2][:40])]
    return Spec(
        "logs",
        "openai",
        "Which two statements took the longest on this PostgreSQL server, and how long did each take?",
        one("pg_log"),
        needles,
        "; ".join(f"{d[0]} ms: {d[2]}" for d in top),
        "PostgreSQL 15 server log with log_min_duration_statement=0",
    )


@builder
def cmd_mixed_top_then_ps() -> Spec:
    top, ps = out("top"), out("ps_state")
    whole = top + "\n" + ps
    load = re.search(r"load average: [\d., ]+", top)
    zombies = re.search(r"\d+ zombie", top)
    if not load or not zombies:
        raise ValueError("top header without load average / zombie count")
    rows = [ln.split(None, 11) for ln in top.splitlines() if re.match(r"\s*\d+ ", ln)]
    hog = max(rows, key=lambda r: float(r[8]))
    ps_row = next(ln.split(None, 6) for ln in ps.splitlines()[1:] if ln.split(None, 6)[6].endswith(hog[11]))
    needles = [
        pick(whole, load.group(0).strip().rstrip(",")),
        pick(whole, ps_row[6]),
        pick(whole, hog[8]),
        pick(whole, zombies.group(0)),
    ]
    steps: list[Step] = [(None, [bash("top")]), ("Getting the full command line.", [bash("ps_state")])]
    return Spec(
        "mixed",
        "openai",
        "The box feels sluggish. What is the load average, what is hogging the CPU (full "
        "command line and how long it has run), and are there any zombies?",
        steps,
        needles,
        f"{load.group(0)}; {ps_row[6]} (PID {ps_row[0]}, {hog[8]}% CPU, elapsed {ps_row[4]}); {zombies.group(0)}",
        "top -b -n 1 then ps -eo inside a PID namespace",
    )


def build(bench: str, out_dir: str, only: str | None) -> int:
    global bp
    sys.path.insert(0, bench)
    bp = importlib.import_module("build_public")
    score = importlib.import_module("score")
    os.makedirs(out_dir, exist_ok=True)
    bad = 0
    for fn in BUILDERS:
        if only and only not in fn.__name__:
            continue
        try:
            s = fn()
        except (ValueError, KeyError, IndexError, StopIteration) as exc:  # a capture without what the case needs
            print(f"{fn.__name__:<40} SKIPPED: {type(exc).__name__}: {exc}")
            bad += 1
            continue
        s = s._replace(needles=list(dict.fromkeys(s.needles)))
        cmds = "; ".join(c[1]["command"] for _, calls in s.steps for c in calls)
        source = f"local command output captured by benchmarks/corpus/build_commands.py: `{cmds}` ({s.what})"
        c = bp.make(fn.__name__, s.kind, s.fmt, source, s.system, s.question, s.steps, s.needles, s.answer)
        probs = score.check_case(c)
        toks = score.count_text_tokens(score.conversation_texts(c["messages"]))
        print(f"{c['id']:<40} {c['kind']:<6} {c['format']:<9} {toks:>7} {len(c['needles'])}  {probs or 'OK'}")
        bad += bool(probs)
        with open(os.path.join(out_dir, c["id"] + ".json"), "w", encoding="utf-8") as fh:
            json.dump(c, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    check = subprocess.run(
        [sys.executable, os.path.join(bench, "score.py"), "--check-cases", "--cases", out_dir],
        check=False,
        capture_output=True,
        text=True,
    )
    print(check.stdout.splitlines()[-1] if check.stdout else check.stderr)
    return 1 if bad or check.returncode else 0


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def main() -> int:
    global WORK
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--bench", default=str(DEFAULT_BENCH), help="../shared/bench (build_public.py, score.py)")
    ap.add_argument("--work", default=str(WORK), help="scratch folder for services, downloads and the capture")
    ap.add_argument("--out", default=str(HERE / "cases"))
    ap.add_argument("--build-only", action="store_true", help="rebuild the cases from WORK/raw.json")
    ap.add_argument("--services-stage", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only")
    args = ap.parse_args()
    WORK = Path(args.work)
    if args.services_stage:
        capture_services()
        (WORK / "raw_services.json").write_text(json.dumps(RAW))
        return 0
    if args.build_only:
        RAW.update(json.loads((WORK / "raw.json").read_text()))
    else:
        capture_all()
    return build(args.bench, args.out, args.only)


if __name__ == "__main__":
    sys.exit(main())
