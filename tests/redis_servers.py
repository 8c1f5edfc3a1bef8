"""Real Redis topologies for tests: a 3-primary Cluster, a primary + replica + 3 sentinels,
and a TLS server with ACL users.

A plain module, not a plugin (pytest puts ``tests/`` on ``sys.path``, so test modules
``from redis_servers import ...``). Every ``redis-server`` here is a child process of the
test run, on a free loopback port (127.0.0.1 only), in its own temporary directory, with
``--save '' --appendonly no``; it is stopped by its PID (SIGTERM, then SIGKILL) and never
with ``redis-cli shutdown``, and nothing here empties a database. On Linux each
child also gets ``PR_SET_PDEATHSIG``, so a crashed test worker leaves no server behind.

A missing ``redis-server`` (or ``redis-cli``) skips the test, naming the binary, except
when ``CI`` is set: there it fails, so a CI image that lost the package can't go green.
Test modules wrap the ``start_*`` functions in session-scoped fixtures, so each topology
starts once per pytest-xdist worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "SERVICE",
    "RedisCluster3",
    "RedisProcess",
    "SentinelGroup",
    "TLSServer",
    "free_port",
    "make_certificates",
    "require_binary",
    "restart_as_replica",
    "start_cluster",
    "start_sentinel_group",
    "start_tls_server",
    "started",
    "wait_until",
]

HOST = "127.0.0.1"
SERVICE = "mymaster"  # the sentinel-monitored service name
PROBE_KEY = "redis-servers:probe"  # the only key the helpers write themselves


# -- binaries, ports, waiting --------------------------------------------------------------


def require_binary(name: str, package: str = "redis-server") -> str:
    """The path of ``name``; skip the test when it is missing (fail when ``CI`` is set)."""
    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not installed (Debian: apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it", pytrace=False)
        pytest.skip(message)
    return path


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (redis.RedisError, OSError) as error:
            last_error = error
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what} ({last_error!r})")
        time.sleep(interval)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port(bus: bool = False) -> int:
    """A loopback port nobody listens on now; with ``bus``, port + 10000 is free too
    (a cluster node's bus port)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if not bus or (port + 10000 < 65536 and _port_free(port + 10000)):
            return port
    raise RuntimeError("no free loopback port pair found")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGKILL when the test worker that started it dies."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# -- one process ---------------------------------------------------------------------------


@dataclass
class RedisProcess:
    """One ``redis-server`` (or sentinel) child process with its own directory and config.

    ``config`` lines are written to ``redis.conf`` in ``directory``; ``port`` is the plain
    TCP port (0 for a TLS-only server, whose port is ``tls_port``).
    """

    name: str
    directory: Path
    config: list[str]
    port: int
    tls_port: int = 0
    sentinel: bool = False
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return HOST, self.port or self.tls_port

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain redis-py client for this server (fails fast: short timeouts, no retry)."""
        options: dict[str, Any] = {
            "host": HOST,
            "port": self.port or self.tls_port,
            "socket_timeout": 2,
            "socket_connect_timeout": 1,
            "retry": Retry(NoBackoff(), 0),
            "decode_responses": True,
        }
        options.update(self.client_kwargs)
        options.update(kwargs)
        return redis.Redis(**options)

    def start(self, extra: list[str] | None = None, timeout: float = 10) -> RedisProcess:
        """Start the process and wait until it answers PING."""
        require_binary("redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")
        lines = [
            f"bind {HOST}",
            f"port {self.port}",
            f"dir {self.directory}",
            "daemonize no",
            f"logfile {self.directory / 'server.log'}",
            *self.config,
        ]
        if not self.sentinel:
            lines += ["save ''", "appendonly no"]
        conf.write_text("\n".join(lines) + "\n")
        command = ["redis-server", str(conf)]
        if self.sentinel:
            command.append("--sentinel")
        else:  # as the brief asks, also on the command line: no persistence at all
            command += ["--save", "", "--appendonly", "no"]
        command += extra or []
        self.process = subprocess.Popen(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        probe = self.client(socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if probe.ping():
                        return self
                except redis.AuthenticationError:
                    return self  # up, and it wants a password: good enough
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start:\n{self.log[-2000:]}")
                time.sleep(0.02)
        finally:
            probe.close()

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash (no shutdown, no last reply)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        """Stop exactly this process, by its PID: SIGTERM, then SIGKILL after 5 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP for the ``with`` block, then SIGCONT: the server takes no part (it
        neither reads nor answers), as in a long GC-like stall or a network partition."""
        assert self.process is not None and self.running
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)


def _start_with_free_port(make: Callable[[int], RedisProcess], bus: bool = False) -> RedisProcess:
    """Start a server on a free port; another worker may grab the port first: try again."""
    error: Exception | None = None
    for _ in range(5):
        server = make(free_port(bus=bus))
        try:
            return server.start()
        except RuntimeError as exc:
            error = exc
    raise RuntimeError(f"could not start a redis-server: {error}")


# -- a 3-primary cluster -------------------------------------------------------------------


@dataclass
class RedisCluster3:
    """Three cluster-enabled primaries that together hold all 16384 slots."""

    nodes: list[RedisProcess]
    directory: Path

    @property
    def startup_nodes(self) -> list[Any]:
        from redis.cluster import ClusterNode

        return [ClusterNode(HOST, node.port) for node in self.nodes]

    def client(self, **kwargs: Any) -> Any:
        from redis.cluster import RedisCluster

        options: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 1}
        options.update(kwargs)
        return RedisCluster(startup_nodes=self.startup_nodes, **options)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster(primaries: int = 3) -> RedisCluster3:
    """Start ``primaries`` cluster nodes and join them with ``redis-cli --cluster create``."""
    require_binary("redis-server")
    require_binary("redis-cli", package="redis-tools")
    directory = Path(tempfile.mkdtemp(prefix="sessionlib-cluster-"))
    nodes: list[RedisProcess] = []
    try:
        for index in range(primaries):

            def make(port: int, index: int = index) -> RedisProcess:
                return RedisProcess(
                    name=f"cluster node {index}",
                    directory=directory / f"node{index}",
                    port=port,
                    config=[
                        "cluster-enabled yes",
                        "cluster-config-file nodes.conf",
                        "cluster-node-timeout 2000",
                    ],
                )

            nodes.append(_start_with_free_port(make, bus=True))
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *[f"{HOST}:{node.port}" for node in nodes],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )

        def all_ok() -> bool:
            for node in nodes:
                with node.client() as client:
                    info = client.cluster("info")
                    if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(
                        nodes
                    ):
                        return False
                    if int(info["cluster_slots_ok"]) != 16384:
                        return False
            return True

        wait_until(all_ok, 20, "CLUSTER INFO to say cluster_state:ok on every node")
        return RedisCluster3(nodes=nodes, directory=directory)
    except BaseException:
        for node in nodes:
            node.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


# -- primary + replica + 3 sentinels -------------------------------------------------------


@dataclass
class SentinelGroup:
    """Two data servers (one primary, one replica) watched by three sentinels.

    Failover settings are short so tests stay fast: ``down-after-milliseconds 1000``,
    ``failover-timeout 3000``, quorum 2.
    """

    servers: list[RedisProcess]
    sentinels: list[RedisProcess]
    directory: Path
    service: str = SERVICE

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [sentinel.address for sentinel in self.sentinels]

    def by_port(self, port: int) -> RedisProcess:
        return next(server for server in self.servers if server.port == port)

    def master_address(self) -> tuple[str, int] | None:
        """The primary as the sentinels agree on it (None while they disagree)."""
        seen = set()
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            with sentinel.client() as client:
                host, port = client.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
                )
                seen.add((host, int(port)))
        return seen.pop() if len(seen) == 1 else None

    def primary(self) -> RedisProcess:
        address = self.master_address()
        assert address is not None, "the sentinels disagree on the primary"
        return self.by_port(address[1])

    def replica(self) -> RedisProcess:
        primary = self.primary()
        return next(server for server in self.servers if server is not primary)

    def role(self, server: RedisProcess) -> str | None:
        """``master`` or ``slave`` as the server itself says; None when it is down."""
        if not server.running:
            return None
        try:
            with server.client(socket_timeout=0.3, socket_connect_timeout=0.3) as client:
                return str(client.execute_command("ROLE")[0])
        except (redis.ConnectionError, redis.TimeoutError):
            return None

    def healthy(self) -> bool:
        """Every sentinel agrees on a primary that says it is one, knows the replica (in
        sync with it) and the two other sentinels, and no failover is under way."""
        address = self.master_address()
        if address is None:
            return False
        primary = self.by_port(address[1])
        if not all(server.running for server in self.servers):
            return False
        if self.role(primary) != "master":
            return False
        replica = next(server for server in self.servers if server is not primary)
        with replica.client() as client:
            info = client.info("replication")
        if info.get("role") != "slave" or info.get("master_port") != primary.port:
            return False
        if info.get("master_link_status") != "up" or info.get("master_sync_in_progress"):
            return False
        # Replicating for real: a write to the primary reaches the replica. (Right after a
        # full resync the primary holds the stream back until the replica's first ACK.)
        with primary.client() as client:
            client.set(PROBE_KEY, "1", px=2000)
            if client.execute_command("WAIT", 1, 200) < 1:
                return False
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                state = client.sentinel_master(self.service)
                replicas = client.sentinel_slaves(self.service)
            # flags is exactly "master": not s_down, o_down or failover_in_progress
            if state["flags"] != "master" or int(state["num-other-sentinels"]) != 2:
                return False
            if (state["ip"], int(state["port"])) != primary.address:
                return False
            if not any(
                int(entry["port"]) == replica.port and entry["flags"] == "slave"
                for entry in replicas
            ):
                return False
        return True

    def wait_healthy(self, timeout: float = 20) -> None:
        wait_until(self.healthy, timeout, "the sentinel group to be healthy", interval=0.1)

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers]:
            process.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_sentinel_group() -> SentinelGroup:
    """Start a primary, a replica of it and three sentinels monitoring ``mymaster``."""
    require_binary("redis-server")
    directory = Path(tempfile.mkdtemp(prefix="sessionlib-sentinel-"))
    started: list[RedisProcess] = []
    try:
        # A replica that resyncs in full gets its data at once, not after 5 s.
        fast_sync = ["repl-diskless-sync-delay 0"]
        primary = _start_with_free_port(
            lambda port: RedisProcess("primary", directory / "server0", fast_sync, port)
        )
        started.append(primary)
        replica = _start_with_free_port(
            lambda port: RedisProcess(
                "replica",
                directory / "server1",
                [*fast_sync, f"replicaof {HOST} {primary.port}"],
                port,
            )
        )
        started.append(replica)
        sentinels = []
        for index in range(3):
            sentinel = _start_with_free_port(
                lambda port, index=index: RedisProcess(
                    f"sentinel {index}",
                    directory / f"sentinel{index}",
                    [
                        f"sentinel monitor {SERVICE} {HOST} {primary.port} 2",
                        f"sentinel down-after-milliseconds {SERVICE} 1000",
                        f"sentinel failover-timeout {SERVICE} 3000",
                        f"sentinel parallel-syncs {SERVICE} 1",
                    ],
                    port,
                    sentinel=True,
                )
            )
            started.append(sentinel)
            sentinels.append(sentinel)
        group = SentinelGroup(servers=[primary, replica], sentinels=sentinels, directory=directory)
        group.wait_healthy(30)
        return group
    except BaseException:
        for process in started:
            process.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


def restart_as_replica(group: SentinelGroup, server: RedisProcess) -> None:
    """Bring a killed data server back as a replica of the current primary (empty, as it
    has no persistence: starting it as a primary would serve an empty data set)."""
    primary = group.primary()
    server.start(extra=["--replicaof", HOST, str(primary.port)])


# -- a TLS server with ACL users -----------------------------------------------------------


@dataclass
class TLSServer:
    """A TLS-only ``redis-server`` (``port 0``), its throwaway CA, and its admin login."""

    process: RedisProcess
    ca_file: Path
    admin_password: str
    directory: Path

    @property
    def port(self) -> int:
        return self.process.tls_port

    def url(self, username: str, password: str) -> str:
        return f"rediss://{username}:{password}@{HOST}:{self.port}/0"

    def admin(self, **kwargs: Any) -> redis.Redis:
        """A client logged in as ``default`` (all commands), over TLS with the CA."""
        return self.process.client(password=self.admin_password, **kwargs)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it, as PEM files:
    ``(ca.crt, server.crt, server.key)``. Uses the ``cryptography`` package when it is
    installed, else the ``openssl`` command."""
    ca_file, cert_file, key_file = (
        directory / "ca.crt",
        directory / "server.crt",
        directory / "server.key",
    )
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        _openssl_certificates(directory, ca_file, cert_file, key_file)
        return ca_file, cert_file, key_file

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sessionlib test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


def _openssl_certificates(directory: Path, ca_file: Path, cert_file: Path, key_file: Path) -> None:
    openssl = require_binary("openssl", package="openssl")
    ca_key = directory / "ca.key"

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key))
    run(
        "req", "-x509", "-new", "-key", str(ca_key), "-days", "1", "-subj",
        "/CN=sessionlib test CA", "-out", str(ca_file),
    )  # fmt: skip
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key_file))
    csr = directory / "server.csr"
    run("req", "-new", "-key", str(key_file), "-subj", f"/CN={HOST}", "-out", str(csr))
    extensions = directory / "server.ext"
    extensions.write_text(f"subjectAltName=IP:{HOST}\nextendedKeyUsage=serverAuth\n")
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_file), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(cert_file),
    )  # fmt: skip


def start_tls_server(acl_lines: list[str], admin_password: str = "admin-secret") -> TLSServer:
    """A TLS-only redis-server (``--port 0 --tls-port N``) whose ``default`` user needs
    ``admin_password`` and which also has the users in ``acl_lines`` (``user ...`` lines)."""
    require_binary("redis-server")
    directory = Path(tempfile.mkdtemp(prefix="sessionlib-tls-"))
    try:
        ca_file, cert_file, key_file = make_certificates(directory)
        tls_client = {
            "ssl": True,
            "ssl_ca_certs": str(ca_file),
            "ssl_cert_reqs": "required",
        }

        def make(port: int) -> RedisProcess:
            return RedisProcess(
                name="tls server",
                directory=directory / "server",
                port=0,
                tls_port=port,
                config=[
                    f"tls-port {port}",
                    f"tls-cert-file {cert_file}",
                    f"tls-key-file {key_file}",
                    f"tls-ca-cert-file {ca_file}",
                    "tls-auth-clients no",
                    f"user default on >{admin_password} ~* &* +@all",
                    *acl_lines,
                ],
                client_kwargs={**tls_client, "password": admin_password},
            )

        process = _start_with_free_port(make)
        return TLSServer(
            process=process, ca_file=ca_file, admin_password=admin_password, directory=directory
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


@contextlib.contextmanager
def started(factory: Callable[[], Any]) -> Iterator[Any]:
    """``with started(start_cluster) as cluster:`` stops what ``factory`` started."""
    topology = factory()
    try:
        yield topology
    finally:
        topology.stop()
