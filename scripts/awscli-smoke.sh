#!/usr/bin/env bash
# Smoke test of the simulator with the AWS CLI: starts `crr local serve` on a free port and
# drives a handful of STS, S3 and KMS calls as account A's root (including `aws s3 cp` of a
# 9 MB file, a multipart upload, a server-side copy and object tagging), plus one
# cross-account call that must be denied. Prefers AWS CLI v2; installs Debian's awscli (v2)
# when no v2 is found and it runs as root with apt-get.
#
# Exit codes: 0 passed, 1 a call failed or answered wrongly, 77 skipped: no AWS CLI and it
# cannot be installed here (the Go test TestAWSCLISmoke reports that as a skip).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/aws-cli.sh
. scripts/lib/aws-cli.sh

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Built rather than `go run`, so that stopping the server stops the process we started.
go build -o "$tmp/crr" ./cmd/crr
"$tmp/crr" local serve --addr 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
pid=$!
endpoint=""
for _ in $(seq 1 100); do
	endpoint=$(sed -n 's/^endpoint: //p' "$tmp/serve.log")
	[ -n "$endpoint" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/serve.log" >&2
		echo "FAIL: crr local serve exited" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "$endpoint" ]; then
	echo "FAIL: crr local serve printed no endpoint" >&2
	exit 1
fi
echo "simulator at $endpoint"

export AWS_CONFIG_FILE="$tmp/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials"
export AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=localaws AWS_DEFAULT_REGION=ap-south-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
# <bucket>.localhost does not resolve here: path-style addressing.
"$AWS" configure set default.s3.addressing_style path

awsl() { "$AWS" --endpoint-url "$endpoint" "$@"; }
fail() {
	echo "FAIL: $*" >&2
	echo "--- server log" >&2
	cat "$tmp/serve.log" >&2
	exit 1
}
expect() { # expect DESCRIPTION WANT GOT
	if [ "$2" != "$3" ]; then fail "$1: got '$3', want '$2'"; fi
	echo "ok: $1"
}

expect "sts get-caller-identity" 111111111111 "$(awsl sts get-caller-identity --query Account --output text)"

awsl s3api create-bucket --bucket smoke-src --create-bucket-configuration LocationConstraint=ap-south-1 >/dev/null
awsl s3api put-bucket-versioning --bucket smoke-src --versioning-configuration Status=Enabled
expect "s3api put/get-bucket-versioning" Enabled "$(awsl s3api get-bucket-versioning --bucket smoke-src --query Status --output text)"

key_arn=$(awsl kms create-key --description awscli-smoke --query KeyMetadata.Arn --output text)
case "$key_arn" in
arn:aws:kms:ap-south-1:111111111111:key/*) echo "ok: kms create-key ($key_arn)" ;;
*) fail "kms create-key returned '$key_arn'" ;;
esac

printf 'hello from the AWS CLI\n' >"$tmp/hello.txt"
version=$(awsl s3api put-object --bucket smoke-src --key hello.txt --body "$tmp/hello.txt" \
	--server-side-encryption aws:kms --ssekms-key-id "$key_arn" --query VersionId --output text)
[ -n "$version" ] && [ "$version" != None ] || fail "s3api put-object returned no version ID"
echo "ok: s3api put-object (version $version)"

expect "s3api head-object SSEKMSKeyId" "$key_arn" \
	"$(awsl s3api head-object --bucket smoke-src --key hello.txt --version-id "$version" --query SSEKMSKeyId --output text)"
awsl s3api get-object --bucket smoke-src --key hello.txt "$tmp/got.txt" >/dev/null
cmp -s "$tmp/hello.txt" "$tmp/got.txt" || fail "s3api get-object returned different bytes"
echo "ok: s3api get-object"

# A 9 MB file: `aws s3 cp` switches to a multipart upload at 8 MB (two parts here), which
# is what a new user's first large upload does.
head -c 9437184 /dev/urandom >"$tmp/big.bin"
awsl s3 cp "$tmp/big.bin" s3://smoke-src/big.bin >/dev/null || fail "aws s3 cp of a 9 MB file"
etag=$(awsl s3api head-object --bucket smoke-src --key big.bin --query ETag --output text)
case "$etag" in
*-2\"|*-2) echo "ok: aws s3 cp of a 9 MB file (multipart ETag $etag)" ;;
*) fail "aws s3 cp of a 9 MB file: ETag $etag, want a two-part multipart ETag" ;;
esac
awsl s3 cp s3://smoke-src/big.bin "$tmp/big-back.bin" >/dev/null || fail "aws s3 cp download of the 9 MB object"
cmp -s "$tmp/big.bin" "$tmp/big-back.bin" || fail "the 9 MB object came back with different bytes"
echo "ok: aws s3 cp download of the 9 MB object"

# A server-side copy (CopyObject).
awsl s3 cp s3://smoke-src/hello.txt s3://smoke-src/copy/hello.txt >/dev/null || fail "aws s3 cp between S3 keys"
awsl s3api get-object --bucket smoke-src --key copy/hello.txt "$tmp/copy.txt" >/dev/null
cmp -s "$tmp/hello.txt" "$tmp/copy.txt" || fail "the copied object has different bytes"
echo "ok: aws s3 cp between S3 keys (CopyObject)"

awsl s3api put-object-tagging --bucket smoke-src --key hello.txt --version-id "$version" \
	--tagging 'TagSet=[{Key=team,Value=payments}]' >/dev/null || fail "s3api put-object-tagging"
expect "s3api put/get-object-tagging" team=payments \
	"$(awsl s3api get-object-tagging --bucket smoke-src --key hello.txt --version-id "$version" --query 'TagSet[0].[Key,Value]' --output text | tr '\t' '=')"

# Account B may not read A's bucket: the simulator separates accounts.
if AWS_ACCESS_KEY_ID=222222222222 awsl s3api head-bucket --bucket smoke-src >/dev/null 2>"$tmp/denied.txt"; then
	fail "account 222222222222 could read account 111111111111's bucket"
fi
grep -q -e 403 -e Forbidden "$tmp/denied.txt" || fail "cross-account head-bucket: $(cat "$tmp/denied.txt")"
echo "ok: cross-account s3api head-bucket denied"

echo "PASS: AWS CLI smoke test"
