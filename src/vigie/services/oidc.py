"""Single sign-on through a commune's OpenID Connect provider (authorization code flow, PKCE S256; L8, L11, L17).

The provider proves who the person is; Vigie decides what they may do. A sign-on ends in
:meth:`AuthService.login_identified`, which opens a session only for an existing account (never created here),
neither disabled nor locked, and for administrators and DPOs only when the ID token's ``amr`` names a second
factor. Promises:

- ``state``, ``nonce`` and the PKCE verifier never leave the server: they are kept in the database (shared by every
  API process: the provider's answer may reach another one than the process that sent the person there; issue 17),
  keyed by the SHA-256 of a random value that the browser holds in a short-lived cookie, for ``PENDING_FOR`` at
  most, used once.
- The ID token is checked with joserfc against the provider's published keys (JWKS, refetched when a new key id
  appears): signature with an asymmetric algorithm, ``iss``, ``aud`` (and ``azp``), ``exp``, ``iat``, ``nonce``.
- The discovery document must name the configured issuer; it is cached for ``DISCOVERY_TTL``.
- An ``iss`` given with the provider's answer (RFC 9207) must be the configured issuer.
- Every failure is audited (``login.failed``, ``method: oidc``) with a stable reason; tokens, codes and the
  client secret never are, nor are they put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from vigie.config.models import OidcSettings
from vigie.domain.sign_on import PendingSignOn, PendingSignOns
from vigie.services.auth import AuthService, LoggedIn

log = logging.getLogger(__name__)

METHOD: Final = "oidc"
PENDING_FOR: Final = timedelta(minutes=10)
MAX_PENDING: Final = 10_000
DISCOVERY_TTL: Final = timedelta(hours=1)
JWKS_REFRESH_EVERY: Final = timedelta(seconds=30)
"""A token signed with an unknown key id refetches the provider's keys, at most this often."""
CLOCK_LEEWAY_S: Final = 60
ASYMMETRIC_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""ID token signatures accepted (never ``none``, never a secret-keyed HMAC)."""


class SignOnError(Exception):
    """A sign-on that cannot go on. ``code`` is stable (the console shows its own text for it); ``problem`` says
    what went wrong for the audit, without any token, code or secret."""

    def __init__(self, code: str, message: str, problem: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What Vigie uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]
    id_token_algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenResponse:
    id_token: str
    access_token: str | None


class OidcClient:
    """Vigie as an OpenID Connect client of one provider: discovery, code exchange, ID token, user info.

    ``http`` is injected (the runtime gives an ``httpx.Client`` with timeouts; tests may give another)."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        client_secret: str,
        http: httpx.Client,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._secret = client_secret
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: tuple[datetime, ProviderMetadata] | None = None
        self._keys: tuple[datetime, KeySet] | None = None

    # --- provider documents ---------------------------------------------------------------------------------------

    def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (cached ``DISCOVERY_TTL``); its issuer must be the configured one."""
        now = self._clock()
        with self._lock:
            if self._metadata is not None and now - self._metadata[0] < DISCOVERY_TTL:
                return self._metadata[1]
        issuer = self.settings.issuer
        doc = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
        if doc.get("issuer") != issuer:
            raise SignOnError(
                "provider_misconfigured",
                "the identity provider's configuration does not match Vigie's: ask the administrator",
                f"discovery names issuer {str(doc.get('issuer'))[:200]!r}, configured {issuer!r}",
            )
        try:
            metadata = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=_text(doc["authorization_endpoint"]),
                token_endpoint=_text(doc["token_endpoint"]),
                jwks_uri=_text(doc["jwks_uri"]),
                userinfo_endpoint=_text(doc["userinfo_endpoint"]) if doc.get("userinfo_endpoint") else None,
                token_auth_methods=tuple(doc.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)),
                id_token_algorithms=tuple(doc.get("id_token_signing_alg_values_supported") or ("RS256",)),
            )
        except (KeyError, TypeError) as err:
            raise SignOnError(
                "provider_misconfigured",
                "the identity provider's configuration is incomplete: ask the administrator",
                f"discovery document lacks {err}",
            ) from None
        with self._lock:
            self._metadata = (now, metadata)
        return metadata

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        now = self._clock()
        with self._lock:
            cached = self._keys
        if cached is not None and not (refresh and now - cached[0] >= JWKS_REFRESH_EVERY):
            return cached[1]
        document = self._get_json(self.metadata().jwks_uri, "signing keys")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as err:
            raise SignOnError(
                "provider_misconfigured",
                "the identity provider's signing keys cannot be read: ask the administrator",
                f"JWKS: {type(err).__name__}",
            ) from None
        with self._lock:
            self._keys = (now, keys)
        return keys

    # --- the flow -------------------------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenResponse:
        """The tokens for an authorization code (client authenticated with ``client_secret_basic`` when the
        provider offers it, ``client_secret_post`` otherwise)."""
        metadata = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        methods = metadata.token_auth_methods
        if "client_secret_basic" in methods or "client_secret_post" not in methods:
            # RFC 6749 §2.3.1: id and secret are form-encoded before Basic
            pair = f"{quote(self.settings.client_id, safe='')}:{quote(self._secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        else:
            form |= {"client_id": self.settings.client_id, "client_secret": self._secret}
        try:
            response = self._http.post(metadata.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as err:
            raise _unreachable("token endpoint", err) from None
        body = _json_object(response)
        if response.status_code != 200:
            error = _safe_code(body.get("error")) if body else f"http_{response.status_code}"
            raise SignOnError(
                "provider_refused",
                "the identity provider refused to confirm this sign-on: start again",
                f"token endpoint answered {response.status_code} {error}",
            )
        id_token, access_token = body.get("id_token"), body.get("access_token")
        if not isinstance(id_token, str) or not id_token:
            raise SignOnError("invalid_token", "the identity provider sent no ID token", "no id_token in response")
        return TokenResponse(id_token, access_token if isinstance(access_token, str) else None)

    def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature, issuer, audience, times and nonce are checked."""
        metadata = self.metadata()
        algorithms = [a for a in metadata.id_token_algorithms if a in ASYMMETRIC_ALGORITHMS] or ["RS256"]
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:  # the provider rotated its keys: fetch them again (rate-limited)
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=algorithms)
            claims = token.claims
            jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock().timestamp()),
                leeway=CLOCK_LEEWAY_S,
                iss={"essential": True, "value": metadata.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except JoseError as err:
            raise SignOnError(
                "invalid_token", "the identity provider's answer could not be verified: start again", _jose(err)
            ) from None
        except ValueError as err:  # not a JWT at all
            raise SignOnError(
                "invalid_token", "the identity provider's answer could not be verified", type(err).__name__
            ) from None
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.settings.client_id:
            raise SignOnError("invalid_token", "the ID token was issued for another client", "azp")
        return claims

    def userinfo(self, access_token: str, *, subject: str) -> dict[str, Any]:
        """The user info of the person of ``subject`` (the ID token's ``sub``, which it must repeat)."""
        endpoint = self.metadata().userinfo_endpoint
        if endpoint is None:
            return {}
        try:
            response = self._http.get(
                endpoint, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
        except httpx.HTTPError as err:
            raise _unreachable("user info endpoint", err) from None
        body = _json_object(response)
        if response.status_code != 200 or body.get("sub") != subject:
            raise SignOnError(
                "invalid_token",
                "the identity provider's answer could not be verified: start again",
                f"user info answered {response.status_code}" if response.status_code != 200 else "user info sub",
            )
        return body

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            raise _unreachable(what, err) from None
        body = _json_object(response)
        if response.status_code != 200 or not body:
            raise SignOnError(
                "provider_unreachable",
                "the identity provider cannot be reached: log in with your password, or try again later",
                f"{what} answered {response.status_code}",
            )
        return body


class MemoryPendingSignOns:
    """Pending sign-ons in this process's memory (at most ``MAX_PENDING``, the oldest forgotten first): for a
    single process without a database (tests, tools). The service keeps them in the database instead."""

    def __init__(self) -> None:
        self._pending: OrderedDict[str, PendingSignOn] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key_sha256: str, pending: PendingSignOn) -> None:
        with self._lock:
            while len(self._pending) >= MAX_PENDING:
                self._pending.popitem(last=False)
            self._pending[key_sha256] = pending

    def take(self, key_sha256: str) -> PendingSignOn | None:
        with self._lock:
            return self._pending.pop(key_sha256, None)

    def forget_before(self, started_before: datetime) -> int:
        with self._lock:
            old = [k for k, p in self._pending.items() if p.started_at < started_before]
            for key in old:
                del self._pending[key]
        return len(old)


@dataclass(frozen=True, slots=True)
class SignOnStart:
    url: str
    """Where to send the browser: the provider's authorization endpoint with state, nonce and PKCE challenge."""
    key: str
    """Random value for the browser's short-lived cookie; the server keeps the rest under its SHA-256."""


class OidcLogin:
    """The sign-on use case: :meth:`begin` sends the person to the provider, :meth:`finish` turns the provider's
    answer into a Vigie session (or a refusal, audited)."""

    def __init__(
        self,
        client: OidcClient,
        auth: AuthService,
        clock: Callable[[], datetime],
        pending: PendingSignOns | None = None,
    ) -> None:
        """``pending``: where sign-ons wait for the provider's answer (the runtime gives the database's table, shared
        by every API process; default: this process's memory)."""
        self._client = client
        self._auth = auth
        self._clock = clock
        self._pending: PendingSignOns = MemoryPendingSignOns() if pending is None else pending

    @property
    def label(self) -> str:
        """The login button's label."""
        return self._client.settings.display_name

    @property
    def redirect_uri(self) -> str | None:
        """The configured callback URL, or None to take it from the request."""
        return self._client.settings.redirect_uri

    def begin(self, *, redirect_uri: str, client: str = "") -> SignOnStart:
        key, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        pending = PendingSignOn(
            secrets.token_urlsafe(24), secrets.token_urlsafe(24), verifier, redirect_uri, self._clock()
        )
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
        try:
            url = self._client.authorization_url(
                redirect_uri=redirect_uri, state=pending.state, nonce=pending.nonce, code_challenge=challenge
            )
        except SignOnError as err:
            self._auth.login_failed(err.code, method=METHOD, client=client, problem=err.problem)
            raise
        self._pending.forget_before(pending.started_at - PENDING_FOR)
        self._pending.put(_key(key), pending)
        return SignOnStart(url, key)

    def finish(
        self,
        key: str,
        *,
        state: str,
        code: str,
        error: str = "",
        issuer: str = "",
        client: str = "",
    ) -> LoggedIn:
        """A session for the person the provider vouched for; :class:`SignOnError` (audited) or
        :class:`~vigie.services.auth.LoginRefusedError` (audited by the account service) otherwise."""
        try:
            identity, second_factor = self._identity(key, state=state, code=code, error=error, issuer=issuer)
        except SignOnError as err:
            self._auth.login_failed(err.code, method=METHOD, client=client, problem=err.problem)
            raise
        return self._auth.login_identified(identity, method=METHOD, second_factor=second_factor, client=client)

    def _identity(self, key: str, *, state: str, code: str, error: str, issuer: str) -> tuple[str, bool]:
        pending = self._pending.take(_key(key)) if key else None  # used once, whatever follows
        if pending is None or self._clock() - pending.started_at > PENDING_FOR:
            raise SignOnError(
                "expired", "this sign-on has expired or was already used: start again", "no pending sign-on"
            )
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignOnError("state", "this sign-on answer is not the one expected: start again", "state mismatch")
        if issuer and issuer != self._client.settings.issuer:  # RFC 9207: an answer of another provider (mix-up)
            raise SignOnError(
                "state", "this sign-on answer comes from another identity provider: start again", "iss mismatch"
            )
        if error:
            raise SignOnError(
                "provider_refused",
                "the identity provider did not confirm who you are: start again or log in with your password",
                f"provider error {_safe_code(error)}",
            )
        if not code:
            raise SignOnError("provider_refused", "the identity provider sent no code: start again", "no code")
        tokens = self._client.exchange_code(
            code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.verifier
        )
        claims = self._client.verify_id_token(tokens.id_token, nonce=pending.nonce)
        settings = self._client.settings
        username = claims.get(settings.username_claim)
        if username is None and tokens.access_token:
            username = self._client.userinfo(tokens.access_token, subject=claims["sub"]).get(settings.username_claim)
        if not isinstance(username, str) or not username.strip():
            raise SignOnError(
                "no_username",
                f"the identity provider did not give the {settings.username_claim!r} claim: ask the administrator",
                f"no {settings.username_claim} claim",
            )
        amr = claims.get("amr")
        methods = {m for m in amr if isinstance(m, str)} if isinstance(amr, list) else set()
        return username, bool(methods & set(settings.second_factor_amr))


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a URL")
    return value


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _safe_code(value: object) -> str:
    """An OAuth error code as the provider sent it, cut to what an error code may hold (it is audited)."""
    text = value if isinstance(value, str) else ""
    return "".join(c for c in text[:64] if c.isalnum() or c in "_-.") or "unknown"


def _jose(err: JoseError) -> str:
    claim = getattr(err, "claim", None)
    return f"{type(err).__name__}: {claim}" if claim else type(err).__name__


def _unreachable(what: str, err: httpx.HTTPError) -> SignOnError:
    log.warning("OpenID provider: %s: %s", what, type(err).__name__)
    return SignOnError(
        "provider_unreachable",
        "the identity provider cannot be reached: log in with your password, or try again later",
        f"{what}: {type(err).__name__}",
    )


__all__ = [
    "METHOD",
    "MemoryPendingSignOns",
    "OidcClient",
    "OidcLogin",
    "ProviderMetadata",
    "SignOnError",
    "SignOnStart",
    "TokenResponse",
]
