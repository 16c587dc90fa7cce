"""AWS error responses in each protocol's wire format, so botocore parses them as from AWS."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

# Wire protocol per SigV4 signing name (from botocore's service models' metadata.protocol).
PROTOCOL = {
    "iam": "query",
    "sts": "query",
    "sns": "query",
    "monitoring": "query",
    "ec2": "ec2",
    "s3": "rest-xml",
    "cloudtrail": "json",
    "organizations": "json",
    "logs": "json",
    "account": "rest-json",
    "athena": "json",
}
_QUERY_NS = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
}

# Each service's own throttling code, the one botocore's retry handler recognises.
THROTTLE = {
    "organizations": (400, "TooManyRequestsException", "AWS Organizations can't complete your "
                      "request because another request is already in progress."),
    "iam": (400, "Throttling", "Rate exceeded"),
    "sts": (400, "Throttling", "Rate exceeded"),
    "cloudtrail": (400, "ThrottlingException", "Rate exceeded"),
    "logs": (400, "ThrottlingException", "Rate exceeded"),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "monitoring": (400, "Throttling", "Rate exceeded"),
    "sns": (400, "Throttling", "Rate exceeded"),
    "account": (429, "TooManyRequestsException", "Rate exceeded"),
    "athena": (400, "TooManyRequestsException", "Rate exceeded"),
}


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer produced by the simulator instead of moto."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()

    def wsgi_headers(self) -> list[tuple[str, str]]:
        base = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return base + list(self.headers)


def request_id() -> str:
    return str(uuid.uuid4())


def error(service: str, status: int, code: str, message: str) -> Reply:
    """An error in the wire format of ``service`` (SigV4 signing name)."""
    rid = request_id()
    protocol = PROTOCOL.get(service, "query")
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        return Reply(status, body, ctype, (("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)))
    if protocol == "rest-xml":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{rid}</RequestId></Error>"
        )
        return Reply(status, xml.encode(), "application/xml", (("x-amz-request-id", rid),))
    if protocol == "ec2":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
        return Reply(status, xml.encode(), "text/xml")
    kind = "Receiver" if status >= 500 else "Sender"
    ns = _QUERY_NS.get(service, "https://iam.amazonaws.com/doc/2010-05-08/")
    xml = (
        f'<ErrorResponse xmlns="{ns}">\n  <Error>\n    <Type>{kind}</Type>\n'
        f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n"
        f"  </Error>\n  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
    )
    return Reply(status, xml.encode(), "text/xml", (("x-amzn-RequestId", rid),))


def throttle(service: str) -> Reply:
    status, code, message = THROTTLE.get(service, (400, "Throttling", "Rate exceeded"))
    return error(service, status, code, message)


def json_ok(payload: object) -> Reply:
    return Reply(
        200,
        json.dumps(payload).encode(),
        "application/x-amz-json-1.1",
        (("x-amzn-RequestId", request_id()),),
    )


def query_ok(service: str, action: str, result_xml: str) -> Reply:
    """A query-protocol success: <ActionResponse><ActionResult>...</ActionResult>..."""
    ns = _QUERY_NS.get(service, "https://iam.amazonaws.com/doc/2010-05-08/")
    inner = f"<{action}Result>{result_xml}</{action}Result>" if result_xml else ""
    xml = (
        f'<{action}Response xmlns="{ns}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return Reply(200, xml.encode(), "text/xml")
