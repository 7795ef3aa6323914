"""AWS failures, explained: one sentence naming the bucket, region or permission to fix."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
            "(see the IAM policy in docs/aws.md)"
        )
    if code in _WRONG_REGION or status == 301:
        region = (
            e.response.get("ResponseMetadata", {})
            .get("HTTPHeaders", {})
            .get("x-amz-bucket-region", "another region")
        )
        return f"cannot {action} {target}: the bucket is in {region} — set AWS_REGION={region}"
    return f"cannot {action} {target}: {code or status} {message}".rstrip()


def aws_client(config: object | None, service: str) -> Any:
    """THE way the lake makes a boto3 client (S3, Glue, Athena, SNS): from a resource's
    standard AWS settings (dagster-aws's fields: region, endpoint, profile, credentials,
    max_attempts; None: boto3's own, from the environment), with adaptive retries for
    throttling. Clients are thread-safe and costly to build (~0.1 s), so one is kept per
    service and settings, the AWS_* environment included (it holds what boto3 reads)."""
    aws_env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    settings = (getattr(config, f, None) for f in _CLIENT_FIELDS)
    return _client(service, aws_env, *settings)


_CLIENT_FIELDS = (
    "profile_name",
    "region_name",
    "endpoint_url",
    "use_ssl",
    "verify",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "max_attempts",
)


@functools.lru_cache(maxsize=32)
def _client(service: str, _aws_env: tuple, *settings: Any) -> Any:
    profile, region, endpoint, use_ssl, verify, key_id, secret, token, attempts = settings
    import boto3  # here: a local lake's processes never load it
    from botocore.config import Config

    return boto3.session.Session(profile_name=profile).client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        use_ssl=True if use_ssl is None else use_ssl,
        verify=verify,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": attempts or 5, "mode": "adaptive"}),
    )
