"""TLS material for the benchmark's https rows: a CA and one server
certificate for 127.0.0.1 and localhost, made with the openssl CLI into a
directory of the run (never reused, never the user's)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Material:
    ca: Path  # the CA certificate clients check servers against
    cert: Path  # the server certificate (PEM)
    key: Path  # its key (PEM)


def make(directory: Path) -> Material:
    """A CA and a server certificate signed by it, valid for a day."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n")
    quiet = {"check": True, "capture_output": True}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1", "-subj", "/CN=herd bench CA"],
        **quiet,
    )
    subprocess.run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"], **quiet)
    subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "1", "-extfile", ext],
        **quiet,
    )
    return Material(ca=ca, cert=cert, key=key)
