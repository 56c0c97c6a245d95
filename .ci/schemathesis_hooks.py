"""Schemathesis hooks for .ci/schemathesis.sh: known issues, each accepted as narrowly as
possible, with the reason."""

import copy
import os
import unicodedata

import jsonschema_rs
import schemathesis
from hypothesis.internal.conjecture import optimiser as _optimiser


# Hypothesis 6.170 can raise IndexError inside the optimiser of its target phase
# (`attempt.spans[j]` in `Optimiser.hill_climb` when a replayed attempt has fewer spans),
# which schemathesis reports as a runtime error of the run. The optimiser only steers
# generation towards inputs the API accepts; give up that one climb instead.
_run = _optimiser.Optimiser.run


def _run_tolerating_span_mismatch(self):
    try:
        _run(self)
    except IndexError:
        pass


_optimiser.Optimiser.run = _run_tolerating_span_mismatch


# The document states a sound subset of the rules JSON Schema cannot spell exactly
# (crates/rampart-server/src/docs/fields.rs): usernames are compared after NFKC
# normalisation and lower-casing, passwords, client names and audiences are bounded in
# bytes, not characters. A request outside that subset may still be one the server's full
# rule accepts, and then its acceptance is no finding. A "schema-violating request
# accepted" failure is dropped only when the request satisfies the document once each of
# these members is judged by the server's own rule instead (restated below, erring towards
# acceptance, which only drops more); every other violation still fails the run.
# Unicode White_Space: what Rust's `str::trim` removes.
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def _utf8_len(value):
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _no_control(value):
    return not any(unicodedata.category(c) == "Cc" for c in value)


def _username(value):
    """accounts/username.rs `Username::parse`."""
    size = _utf8_len(value)
    if size is None or size > 1024:
        return False
    name = unicodedata.normalize("NFKC", value.strip(_WHITE_SPACE)).lower()
    # Rust's `is_alphanumeric` also takes some combining marks (Other_Alphabetic): allow all.
    return 1 <= len(name) <= 64 and all(
        c.isalnum() or c in "._-@+" or unicodedata.category(c) in ("Mn", "Mc") for c in name
    )


def _username_prefix(value):
    """admin/users.rs `list`: a blank prefix is none."""
    return value.strip(_WHITE_SPACE) == "" or _username(value)


def _password(value):
    """accounts/passwords.rs `check_new_password`, without the common-password list."""
    size = _utf8_len(value)
    return size is not None and 8 <= size <= 1024


def _client_name(value):
    """accounts/mod.rs `create_client`."""
    size = _utf8_len(value)
    return size is not None and size <= 200 and value.strip(_WHITE_SPACE) != "" and _no_control(value)


def _audience(value):
    """accounts/mod.rs `create_client`."""
    if value is None:
        return True
    size = _utf8_len(value)
    return size is not None and 1 <= size <= 512 and " " not in value and _no_control(value)


# Operation -> location -> member -> (the server's rule, a value the document accepts).
_FULL_RULES = {
    ("POST", "/admin/users"): {
        "body": {"username": (_username, "alice"), "password": (_password, "a long password")},
    },
    ("PUT", "/users/me/password"): {"body": {"new_password": (_password, "a long password")}},
    ("POST", "/admin/clients"): {
        "body": {"name": (_client_name, "a client"), "audience": (_audience, "an-audience")},
    },
    ("GET", "/admin/users"): {"query": {"q": (_username_prefix, "a")}},
}


def _judged_by_full_rules(members, values):
    """`values` with each member the server's rule accepts replaced by a value the document
    accepts; `None` when `values` is not an object."""
    if not isinstance(values, dict):
        return None
    out = copy.deepcopy(values)
    for name, (rule, stand_in) in members.items():
        if name in out and (out[name] is None or isinstance(out[name], str)):
            try:
                accepted = rule(out[name])
            except TypeError:
                accepted = False
            if accepted:
                out[name] = stand_in
    return out


def _valid(document, schema, value):
    resolver_root = {"components": document.get("components", {}), **schema}
    return jsonschema_rs.Draft202012Validator(resolver_root).is_valid(value)


# Stateful links take values from earlier responses and send them as schema-valid data: a
# role name from `GET /admin/roles` reaches `DELETE /admin/roles/{name}`, the built-in
# roles included, although the document excludes those names there. A "schema-valid
# request rejected" failure is dropped only when a path parameter of the request is one
# the document itself refuses.
def _path_parameters_valid(case):
    operation = case.operation
    document = operation.schema.raw_schema
    definition = document["paths"][operation.path][operation.method.lower()]
    values = case.path_parameters or {}
    return all(
        _valid(document, parameter["schema"], values[parameter["name"]])
        for parameter in definition.get("parameters", [])
        if parameter["in"] == "path" and parameter["name"] in values
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    code = getattr(failure, "code", None)
    if code == "ST202":
        return _path_parameters_valid(case)
    if code != "ST201":
        return True
    operation = case.operation
    rules = _FULL_RULES.get((operation.method.upper(), operation.path))
    if rules is None:
        return True
    document = operation.schema.raw_schema
    definition = document["paths"][operation.path][operation.method.lower()]
    if "body" in rules:
        body = _judged_by_full_rules(rules["body"], case.body)
        schema = definition["requestBody"]["content"]["application/json"]["schema"]
        if body is None or not _valid(document, schema, body):
            return True
    if "query" in rules:
        query = _judged_by_full_rules(rules["query"], case.query or {})
        for parameter in definition.get("parameters", []):
            if parameter["in"] != "query":
                continue
            present = query is not None and parameter["name"] in query
            if parameter.get("required") and not present:
                return True
            if present and not _valid(document, parameter["schema"], query[parameter["name"]]):
                return True
        if query is not None and set(query) - {p["name"] for p in definition.get("parameters", [])}:
            return True
    return False


# The fuzzer must not revoke the credentials it runs on, or every admin call after that
# answers 401 and tests nothing (the server does what it was told): the run's own
# administrator may not be changed or deleted, nor their sessions ended, and the `admin`
# role may not lose its `admin` scope. .ci/schemathesis.sh names the administrator and
# their session; every other user, session and role is fuzzed as usual.
_OWN_ADMIN = os.environ.get("RAMPART_FUZZ_ADMIN_ID", "").lower()
_OWN_SESSIONS = {s.lower() for s in os.environ.get("RAMPART_FUZZ_ADMIN_SESSIONS", "").split(",") if s}
_OWN_CREDENTIALS = {
    ("PATCH", "/admin/users/{id}"): lambda p: str(p.get("id", "")).lower() == _OWN_ADMIN,
    ("DELETE", "/admin/users/{id}"): lambda p: str(p.get("id", "")).lower() == _OWN_ADMIN,
    ("DELETE", "/admin/users/{id}/sessions"): lambda p: str(p.get("id", "")).lower() == _OWN_ADMIN,
    ("DELETE", "/admin/sessions/{id}"): lambda p: str(p.get("id", "")).lower() in _OWN_SESSIONS,
    ("PUT", "/admin/roles/{name}"): lambda p: p.get("name") == "admin",
}


@schemathesis.hook
def filter_case(context, case):
    operation = case.operation
    targets_own = _OWN_CREDENTIALS.get((operation.method.upper(), operation.path))
    return targets_own is None or not targets_own(case.path_parameters or {})
