"""AWS failures, explained: one sentence naming the bucket, region or permission to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from lake_assets.core.errors import ExplainedFailure

_DENIED = {"AccessDenied", "AccessDeniedException", "403", "Forbidden", "UnauthorizedOperation"}
_EXPIRED = {
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
# Worth a retry (after boto3's own): throttling, timeouts, the service's own errors (5xx).
_TRANSIENT = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "SlowDown",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "InternalError",
    "InternalFailure",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ConcurrentModificationException",
}
_WRONG_REGION = {
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "301",
    "IllegalLocationConstraintException",
}


class AwsError(ExplainedFailure):
    """An AWS call failed; the message says what to change. Nothing published was touched.
    Only throttling, timeouts and 5xx are retried (after boto3's own retries); a missing
    bucket, a denied permission or any other answer fails at once."""


@contextmanager
def explain_aws_errors(action: str, target: str, permission: str) -> Iterator[None]:
    """Translate boto errors raised inside the block; `action` and `target` say what we did
    ("write", "s3://bucket/prefix"), `permission` the IAM action it needs."""
    try:
        yield
    except NoCredentialsError:
        raise AwsError(
            f"cannot {action} {target}: no AWS credentials found — set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or run with an IAM role"
        ) from None
    except NoRegionError:
        raise AwsError(f"cannot {action} {target}: no AWS region — set AWS_REGION") from None
    except EndpointConnectionError as e:
        raise AwsError(
            f"cannot {action} {target}: cannot reach {e.kwargs.get('endpoint_url')} — check "
            "AWS_REGION and AWS_ENDPOINT_URL"
        ) from None
    except ClientError as e:
        raise AwsError(
            explain_client_error(e, action, target, permission), retryable=is_transient(e)
        ) from None
    except (ReadTimeoutError, ConnectTimeoutError, ConnectionClosedError) as e:
        raise AwsError(f"cannot {action} {target}: {e}", retryable=True) from None
    except BotoCoreError as e:
        raise AwsError(f"cannot {action} {target}: {e}") from None


def is_transient(e: ClientError) -> bool:
    code = str(e.response.get("Error", {}).get("Code", ""))
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return code in _TRANSIENT or status >= 500 or status == 429


def explain_client_error(e: ClientError, action: str, target: str, permission: str) -> str:
    error = e.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = error.get("Message", "")
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchBucket",) or (code == "404" and "bucket" in permission.lower()):
        return f"cannot {action} {target}: the bucket does not exist — create it or fix LAKE_ROOT"
    if code in _EXPIRED:
        return (
            f"cannot {action} {target}: the AWS credentials are invalid or expired ({code}) — "
            "refresh them (e.g. `aws sso login`) or check AWS_PROFILE"
        )
    if code in _DENIED or status == 403:
        return (
            f"cannot {action} {target}: access denied — the pipeline's role needs {permission} "
            "(see the IAM policy in the README)"
        )
    if code in _WRONG_REGION or status == 301:
        region = (
            e.response.get("ResponseMetadata", {})
            .get("HTTPHeaders", {})
            .get("x-amz-bucket-region", "another region")
        )
        return f"cannot {action} {target}: the bucket is in {region} — set AWS_REGION={region}"
    return f"cannot {action} {target}: {code or status} {message}".rstrip()
