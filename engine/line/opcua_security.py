"""Security of the OPC UA server: its application certificate, its users and what each may do.

- Certificate: Basic256Sha256 needs an application instance certificate. The station creates a
  self-signed one (RSA 2048, SHA-256, the application URI and the host names in its
  subjectAltName) on first start in a configurable folder and reuses it afterwards, so a client
  that trusted it once keeps trusting it. It is made anew only when it has expired or no longer
  names the application URI. The private key is written with mode 0600.
- Users: one configured user name whose password is kept only as a PBKDF2-SHA256 hash
  (`hash_password`; `python -m engine.line.opcua_security` prints one). Passwords are never
  logged. Anonymous sessions exist only when the configuration allows them, and are read-only.
- Permissions: a logged-in user may browse, read, subscribe and call the methods; an anonymous
  session may browse, read and subscribe, and a method call is refused with
  Bad_UserAccessDenied (the state machine, recipes and results change or expose the line).
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.atomic_file import replace_file

log = logging.getLogger(__name__)

SCHEME = "pbkdf2_sha256"
ITERATIONS = 200_000  # about 0.1 s per login on a small CPU: cheap for a client, dear for a guesser
CERT_FILE = "server_cert.der"
KEY_FILE = "server_key.pem"
CERT_DAYS = 3650  # a line PC runs for years; a certificate that expires stops the line


class SecurityError(Exception):
    """The certificate folder, key or password hash cannot be used; the message says which."""


# --- passwords ------------------------------------------------------------------------------


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64): what the configuration keeps."""
    if not password:
        raise SecurityError("opcua.password: must not be empty")
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def check_password_hash(encoded: str) -> None:
    """Raise SecurityError when `encoded` is not a hash made by hash_password (a plain password
    pasted into the configuration, say), so the mistake shows at start, not at the first login."""
    _parse_hash(encoded)


def verify_password(password: str, encoded: str) -> bool:
    iterations, salt, expected = _parse_hash(encoded)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def _parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    parts = encoded.split("$")
    try:
        if len(parts) != 4 or parts[0] != SCHEME:
            raise ValueError
        iterations = int(parts[1])
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        if iterations < 1 or not salt or len(digest) != 32:
            raise ValueError
    except ValueError:
        raise SecurityError(
            f"opcua.password_hash: not a {SCHEME} hash (make one with "
            "`python -m engine.line.opcua_security`)"
        ) from None
    return iterations, salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- users and permissions ------------------------------------------------------------------


class StationUsers:
    """asyncua user manager: the configured user logs in as UserRole.User; an anonymous session
    (only offered when allowed) is UserRole.Anonymous. Anything else is refused (None)."""

    def __init__(
        self, username: str | None, password_hash: str | None, allow_anonymous: bool
    ) -> None:
        if (username is None) != (password_hash is None):
            raise SecurityError("opcua: username and password_hash go together")
        if password_hash is not None:
            check_password_hash(password_hash)
        self.username = username
        self._password_hash = password_hash
        self.allow_anonymous = allow_anonymous

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        # `certificate` is the secure channel's client certificate, not a user's: user
        # certificates (X509 identity tokens) are not offered, so no user name is anonymous.
        if username is None:
            return User(role=UserRole.Anonymous) if self.allow_anonymous else None
        if (
            self.username is not None
            and username == self.username
            and password is not None
            and verify_password(password, self._password_hash)
        ):
            return User(role=UserRole.User, name=username)
        log.warning("OPC UA login refused for user %r", username)
        return None


_CALL = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)


class StationPermissions(PermissionRuleset):
    """Users: every ordinary service. Anonymous: the same less Call and Write (read-only)."""

    def __init__(self) -> None:
        user = {ua.NodeId(type_id) for type_id in USER_TYPES}
        self._allowed = {
            UserRole.Admin: user,
            UserRole.User: user,
            UserRole.Anonymous: user - {_CALL, _WRITE},
        }

    def check_validity(self, user: User, action_type_id: ua.NodeId, body: Any) -> bool:
        return action_type_id in self._allowed.get(user.role, set())


# --- the application certificate ------------------------------------------------------------


@dataclass(frozen=True)
class ServerCertificate:
    cert_path: Path
    key_path: Path
    created: bool  # made on this start (first start, expired, or another application URI)


def ensure_certificate(folder: Path, application_uri: str, host: str) -> ServerCertificate:
    """The server's certificate and key in `folder`: reused when valid for `application_uri`,
    otherwise created (self-signed, CERT_DAYS days). Raises SecurityError naming the folder."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if _usable(cert_path, key_path, application_uri):
            return ServerCertificate(cert_path, key_path, created=False)
        key = cert_gen.generate_private_key()
        cert = cert_gen.generate_self_signed_app_certificate(
            key,
            application_uri,
            {"organizationName": "Inspection Station"},
            _alt_names(application_uri, host),
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            days=CERT_DAYS,
        )
        replace_file(key_path, cert_gen.dump_private_key_as_pem(key), private=True)
        cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    except OSError as exc:
        raise SecurityError(
            f"opcua.cert_dir: {folder}: cannot write the server certificate ({exc.strerror or exc})"
        ) from None
    log.info("OPC UA server certificate created: %s (valid %d days)", cert_path, CERT_DAYS)
    return ServerCertificate(cert_path, key_path, created=True)


def _usable(cert_path: Path, key_path: Path, application_uri: str) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_der_x509_certificate(cert_path.read_bytes())
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        named = application_uri in uris.get_values_for_type(x509.UniformResourceIdentifier)
    except (ValueError, x509.ExtensionNotFound):
        log.warning("%s: unreadable certificate, making a new one", cert_path)
        return False
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        expired = cert.not_valid_after_utc
        log.warning("%s: certificate expired on %s, making a new one", cert_path, expired)
        return False
    if not named:
        log.warning("%s: certificate is for another application URI, making a new one", cert_path)
    return named


def _alt_names(application_uri: str, host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for dns in dict.fromkeys([socket.gethostname(), "localhost"]):
        names.append(x509.DNSName(dns))
    addresses = {"127.0.0.1"}
    try:
        addresses.add(str(ipaddress.ip_address(host)))
    except ValueError:  # a host name: name it as such
        names.append(x509.DNSName(host))
    names.extend(x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses))
    return names


def main() -> int:
    """Print the hash of a password typed twice, for `opcua.password_hash`."""
    first = getpass.getpass("OPC UA password: ")
    if first != getpass.getpass("again: "):
        print("the passwords differ", file=sys.stderr)
        return 2
    try:
        print(hash_password(first))
    except SecurityError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
