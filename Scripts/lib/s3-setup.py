#!/usr/bin/env python3
"""Prepares a fresh moto_server for Ergon's tests: an IAM user with an access key and an
allow-all policy, then proves that signatures are checked.

    s3-setup.py --unauthenticated-calls   # prints N, the INITIAL_NO_AUTH_ACTION_COUNT to start moto with
    s3-setup.py ENDPOINT [ENV_FILE]       # sets up the server at ENDPOINT (started with that N)

The setup prints one JSON object (endpoint, region, accessKeyID, secretAccessKey) on stdout and,
given ENV_FILE, writes the same as a sourceable `export ERGON_S3_...` line. Both
Scripts/lib/s3.sh and the Swift tests (S3TestServer.startPrivateServer) use this one file.

moto lets the first N requests that reach an S3 or IAM action through without a signature and
verifies the SigV4 signature of every later one. The setup makes exactly N calls, so none is
left for anybody else; it then checks that the new key works and that a wrong secret is refused.
"""

import json
import os
import shlex
import sys

REGION = "us-east-1"
USER = "ergon-test"
POLICY = "ergon-test-allow-all"
# The unauthenticated calls, in order; their count is what moto must be started with.
SETUP_CALLS = ("CreateUser", "CreateAccessKey", "CreatePolicy", "AttachUserPolicy")


def fail(message):
    print(f"ergon: s3-setup: {message}", file=sys.stderr)
    sys.exit(1)


def client(service, endpoint, key_id, secret):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def create_user(endpoint):
    """Spends exactly len(SETUP_CALLS) unauthenticated calls; returns (key id, secret)."""
    # Any key signs these: moto does not check them yet. They only tell it the service is IAM.
    iam = client("iam", endpoint, "ergon-setup", "ergon-setup")
    made = []

    def call(name, function, **arguments):
        made.append(name)
        return function(**arguments)

    call("CreateUser", iam.create_user, UserName=USER)
    key = call("CreateAccessKey", iam.create_access_key, UserName=USER)["AccessKey"]
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn = call("CreatePolicy", iam.create_policy, PolicyName=POLICY, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    call("AttachUserPolicy", iam.attach_user_policy, UserName=USER, PolicyArn=arn)
    assert tuple(made) == SETUP_CALLS, made
    return key["AccessKeyId"], key["SecretAccessKey"]


def check_signatures(endpoint, key_id, secret):
    """Fails unless the key works and a wrong secret (or an unknown key) gets 403."""
    from botocore.exceptions import ClientError

    try:
        client("s3", endpoint, key_id, secret).list_buckets()
    except ClientError as error:
        fail(f"the new access key is refused by {endpoint}: {error}")
    for label, wrong_id, wrong_secret, code in (
        ("a wrong secret", key_id, secret[:-1] + ("A" if secret[-1] != "A" else "B"), "SignatureDoesNotMatch"),
        ("an unknown access key", "AKIAERGONUNKNOWNKEY0", secret, "InvalidAccessKeyId"),
    ):
        try:
            client("s3", endpoint, wrong_id, wrong_secret).list_buckets()
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            got = error.response.get("Error", {}).get("Code")
            if status == 403 and got == code:
                continue
            fail(f"{label} got {status} {got} from {endpoint}, expected 403 {code}")
        fail(
            f"{endpoint} accepted {label}: signatures are not checked "
            f"(was moto started with INITIAL_NO_AUTH_ACTION_COUNT={len(SETUP_CALLS)}?)"
        )


def write_env(path, values):
    line = "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in values.items()) + "\n"
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        output.write(line)
    os.replace(temporary, path)


def main(arguments):
    if arguments == ["--unauthenticated-calls"]:
        print(len(SETUP_CALLS))
        return
    if len(arguments) not in (1, 2) or arguments[0].startswith("-"):
        fail("usage: s3-setup.py --unauthenticated-calls | s3-setup.py ENDPOINT [ENV_FILE]")
    endpoint = arguments[0].rstrip("/")
    try:
        import boto3  # noqa: F401
    except ImportError:
        fail(f"{sys.executable} has no boto3; run `source Scripts/lib/s3.sh && ergon_s3_tools` and use $ERGON_S3_PYTHON")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        key_id, secret = create_user(endpoint)
    except (ClientError, BotoCoreError) as error:
        fail(f"could not create the IAM user on {endpoint} (a server that already served requests has no "
             f"unauthenticated calls left; start a fresh one): {error}")
    check_signatures(endpoint, key_id, secret)
    values = {
        "ERGON_S3_ENDPOINT": endpoint,
        "ERGON_S3_REGION": REGION,
        "ERGON_S3_ACCESS_KEY_ID": key_id,
        "ERGON_S3_SECRET_ACCESS_KEY": secret,
    }
    if len(arguments) == 2:
        write_env(arguments[1], values)
    print(json.dumps({"endpoint": endpoint, "region": REGION, "accessKeyID": key_id, "secretAccessKey": secret}))


if __name__ == "__main__":
    main(sys.argv[1:])
