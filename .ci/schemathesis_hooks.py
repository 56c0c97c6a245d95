"""Schemathesis hooks for .ci/schemathesis.sh: known server issues, each accepted narrowly."""

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # Known server issue (reported with the OpenAPI work): JSON request bodies are read with
    # serde's derived `Deserialize`, which also accepts a struct written as an array of its
    # fields, so `["rr"]` creates role "rr" where the document (correctly) says object.
    # Accept exactly that: a schema-violating *array* body that was not refused. Every other
    # schema violation, and any 5xx on an array body, still fails the run.
    if isinstance(failure, AcceptedNegativeData) and isinstance(case.body, list):
        return False
    return True
