#!/usr/bin/env bash
# `crr doctor` on a pair set up by hand, as a user of the console tutorial would, but with
# the AWS CLI against `crr local up`: buckets, keys, default encryption, the replication
# role, both key policies, the destination bucket policy and the replication rule, in the
# tutorial's order (Steps 1 to 6) and with none of s3crr's builders. The tutorial's
# documents are used with its known mistakes corrected as docs/aws-facts.md says:
#   - key policies are edited, not replaced: the default statement that delegates to the
#     account's IAM stays (replacing it would lock the account out; KMS's lockout check
#     refuses it, F-KMS-LOCKOUT-CHECK);
#   - the destination key also allows kms:Decrypt, which the tutorial omits although it
#     turns S3 Bucket Keys on (F-BUCKET-KEY);
#   - the role's KMS grants are limited to S3 and the buckets' objects (F-KMS-REPL-CONDITIONS),
#     the source reads are split between bucket and objects, and nothing S3 never uses is
#     granted: no s3:GetObjectVersionTagging on the destination, no owner override since
#     the rule does not change the owner (F-REPL-ROLE-PERMS, F-REPL-OWNER-OVERRIDE);
#   - the destination bucket policy also lets the role read and set versioning, as the S3
#     User Guide's cross-account example does (F-REPL-DEST-BUCKET-POLICY).
# Then: `crr doctor -f pair.json` must exit 0; the destination key policy's replication
# statement is removed; `crr doctor` must exit 1 naming the destination key policy and the
# fix. Prints each step; exits 0 when both verdicts are right, 1 otherwise, 77 when there is
# no AWS CLI. CRR may name a built crr (default: built here).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/aws-cli.sh
. scripts/lib/aws-cli.sh

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

crr=${CRR:-}
if [ -z "$crr" ]; then
	go build -o "$tmp/crr" ./cmd/crr
	crr=$tmp/crr
fi
# A clean environment: nothing of the caller's AWS set-up may leak into the stack or the CLI.
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p; s/^\(S3CRR_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_CONFIG_FILE="$tmp/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials" AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""

"$crr" local up --port 0 --members-port 0 --env-file "$tmp/env" >"$tmp/up.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
	[ -f "$tmp/env" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/up.log" >&2
		echo "FAIL: crr local up exited before it was ready" >&2
		exit 1
	fi
	sleep 0.1
done
[ -f "$tmp/env" ] || { echo "FAIL: crr local up was not ready in 60 s" >&2; exit 1; }
# shellcheck disable=SC1091
. "$tmp/env"
echo "crr local up: hub $AWS_ENDPOINT_URL, members $S3CRR_LOCAL_MEMBERS_URL"

A=111111111111 B=222222222222
SRC_REGION=ap-south-1 DST_REGION=us-east-1
SRC=my-source-bucket-account-a DST=my-destination-bucket-account-b
ROLE=S3ReplicationRoleAccountA
ROLE_ARN=arn:aws:iam::$A:role/$ROLE
# The member simulator takes the account ID as the access key ID (its root user); the CLI
# runs without the hub's endpoint, which the env file set for crr.
as() { # as ACCOUNT REGION aws-args...
	local account=$1 region=$2
	shift 2
	env -u AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID="$account" AWS_SECRET_ACCESS_KEY=localaws AWS_SESSION_TOKEN= \
		AWS_REGION="$region" AWS_DEFAULT_REGION="$region" "$AWS" --endpoint-url "$S3CRR_LOCAL_MEMBERS_URL" "$@"
}
AWS_REGION=$SRC_REGION "$AWS" configure set default.s3.addressing_style path
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() { echo "== $*"; }

step "1.1 source bucket in account A ($SRC_REGION), versioning enabled (Block Public Access stays on)"
as $A $SRC_REGION s3api create-bucket --bucket $SRC --create-bucket-configuration LocationConstraint=$SRC_REGION >/dev/null
as $A $SRC_REGION s3api put-bucket-versioning --bucket $SRC --versioning-configuration Status=Enabled
step "1.2 destination bucket in account B ($DST_REGION), versioning enabled"
as $B $DST_REGION s3api create-bucket --bucket $DST >/dev/null
as $B $DST_REGION s3api put-bucket-versioning --bucket $DST --versioning-configuration Status=Enabled

step "2.1 symmetric encrypt/decrypt key in account A, alias s3-crr-key-account-a"
SRC_KEY=$(as $A $SRC_REGION kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT \
	--description SourceBucketKeyAccountA --query KeyMetadata.Arn --output text)
as $A $SRC_REGION kms create-alias --alias-name alias/s3-crr-key-account-a --target-key-id "$SRC_KEY"
step "2.2 source default encryption: SSE-KMS with that key, Bucket Key on"
enc() { printf '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"%s"},"BucketKeyEnabled":true}]}' "$1"; }
as $A $SRC_REGION s3api put-bucket-encryption --bucket $SRC --server-side-encryption-configuration "$(enc "$SRC_KEY")"
step "2.3 key in account B"
DST_KEY=$(as $B $DST_REGION kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT \
	--description DestinationBucketKeyAccountB --query KeyMetadata.Arn --output text)
step "2.4 destination default encryption: SSE-KMS with B's key, Bucket Key on"
as $B $DST_REGION s3api put-bucket-encryption --bucket $DST --server-side-encryption-configuration "$(enc "$DST_KEY")"

step "3 role $ROLE in account A, trusted by S3, with the replication permissions"
as $A $SRC_REGION iam create-role --role-name $ROLE --assume-role-policy-document \
	'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
cat >"$tmp/role-policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
 {"Sid": "SourceBucketPermissions", "Effect": "Allow",
  "Action": ["s3:ListBucket", "s3:GetReplicationConfiguration"], "Resource": "arn:aws:s3:::$SRC"},
 {"Sid": "SourceObjectPermissions", "Effect": "Allow",
  "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], "Resource": "arn:aws:s3:::$SRC/*"},
 {"Sid": "DestinationBucketPermissions", "Effect": "Allow",
  "Action": ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ReplicateDelete"], "Resource": "arn:aws:s3:::$DST/*"},
 {"Sid": "SourceBucketKMSKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "$SRC_KEY",
  "Condition": {"StringEquals": {"kms:ViaService": "s3.$SRC_REGION.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::$SRC/*", "arn:aws:s3:::$SRC"]}}},
 {"Sid": "DestinationBucketKMSKey", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"], "Resource": "$DST_KEY",
  "Condition": {"StringEquals": {"kms:ViaService": "s3.$DST_REGION.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::$DST/*", "arn:aws:s3:::$DST"]}}}
]}
EOF
as $A $SRC_REGION iam put-role-policy --role-name $ROLE --policy-name S3ReplicationPolicy --policy-document "file://$tmp/role-policy.json"

step "4.1 source key policy: the default statement kept, the role's statement added"
cat >"$tmp/src-key-policy.json" <<EOF
{"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": [
 {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::$A:root"}, "Action": "kms:*", "Resource": "*"},
 {"Sid": "Allow use of the key for replication", "Effect": "Allow", "Principal": {"AWS": "$ROLE_ARN"},
  "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}
]}
EOF
as $A $SRC_REGION kms put-key-policy --key-id "$SRC_KEY" --policy-name default --policy "file://$tmp/src-key-policy.json"
step "4.2 destination key policy: the default statement kept, account A's role may encrypt (and decrypt, for the Bucket Key)"
cat >"$tmp/dst-key-policy-root.json" <<EOF
{"Version": "2012-10-17", "Id": "key-consolepolicy-4", "Statement": [
 {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::$B:root"}, "Action": "kms:*", "Resource": "*"}
]}
EOF
cat >"$tmp/dst-key-policy.json" <<EOF
{"Version": "2012-10-17", "Id": "key-consolepolicy-4", "Statement": [
 {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::$B:root"}, "Action": "kms:*", "Resource": "*"},
 {"Sid": "Allow use of the key for replication from Account A", "Effect": "Allow", "Principal": {"AWS": "$ROLE_ARN"},
  "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
]}
EOF
as $B $DST_REGION kms put-key-policy --key-id "$DST_KEY" --policy-name default --policy "file://$tmp/dst-key-policy.json"

step "5 destination bucket policy: account A's role may replicate into it"
cat >"$tmp/dst-bucket-policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
 {"Sid": "DestinationBucketPermissions", "Effect": "Allow", "Principal": {"AWS": "$ROLE_ARN"},
  "Action": ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ReplicateDelete"], "Resource": "arn:aws:s3:::$DST/*"},
 {"Sid": "DestinationBucketVersioning", "Effect": "Allow", "Principal": {"AWS": "$ROLE_ARN"},
  "Action": ["s3:GetBucketVersioning", "s3:PutBucketVersioning"], "Resource": "arn:aws:s3:::$DST"}
]}
EOF
as $B $DST_REGION s3api put-bucket-policy --bucket $DST --policy "file://$tmp/dst-bucket-policy.json"

step "6 replication rule CrossAccountReplicationRule: all objects, SSE-KMS objects re-encrypted with B's key, Standard"
cat >"$tmp/replication.json" <<EOF
{"Role": "$ROLE_ARN", "Rules": [{
  "ID": "CrossAccountReplicationRule", "Status": "Enabled", "Priority": 0, "Filter": {"Prefix": ""},
  "DeleteMarkerReplication": {"Status": "Disabled"},
  "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
  "Destination": {"Bucket": "arn:aws:s3:::$DST", "Account": "$B", "StorageClass": "STANDARD",
                  "EncryptionConfiguration": {"ReplicaKmsKeyID": "$DST_KEY"}}}]}
EOF
as $A $SRC_REGION s3api put-bucket-replication --bucket $SRC --replication-configuration "file://$tmp/replication.json"

# crr doctor reads the members itself, through their auditor roles, with the hub account's
# credentials: exactly what the sourced env file gives it (its STS, S3, KMS, IAM and
# CloudWatch endpoints are the member simulator's, where the hub account lives too).
doctor() {
	"$crr" doctor "$@"
}

cat >"$tmp/pair.json" <<EOF
{"pairId": "tutorial-pair",
 "source":      {"account": "$A", "region": "$SRC_REGION", "bucket": "$SRC", "kmsKeyArn": "$SRC_KEY"},
 "destination": {"account": "$B", "region": "$DST_REGION", "bucket": "$DST", "kmsKeyArn": "$DST_KEY"}}
EOF

step "crr doctor -f pair.json on the hand-made pair: want exit 0"
set +e
doctor -f "$tmp/pair.json" >"$tmp/doctor-ok.out" 2>&1
code=$?
set -e
cat "$tmp/doctor-ok.out"
[ $code -eq 0 ] || fail "crr doctor exited $code on a working hand-made pair, want 0"
echo "ok: crr doctor exits 0"

step "7 the tutorial's own check: an uploaded file replicates, encrypted with B's key"
printf 'test file\n' >"$tmp/test.txt"
as $A $SRC_REGION s3api put-object --bucket $SRC --key test.txt --body "$tmp/test.txt" >/dev/null
replica=""
for _ in $(seq 1 100); do
	replica=$(as $B $DST_REGION s3api head-object --bucket $DST --key test.txt --query '[ReplicationStatus,SSEKMSKeyId]' --output text 2>/dev/null || true)
	[ -n "$replica" ] && break
	sleep 0.1
done
[ "$replica" = "$(printf 'REPLICA\t%s' "$DST_KEY")" ] || fail "the replica of test.txt is '$replica', want REPLICA under $DST_KEY"
echo "ok: test.txt replicated under B's key"

step "remove the destination key policy's statement for account A's role"
as $B $DST_REGION kms put-key-policy --key-id "$DST_KEY" --policy-name default --policy "file://$tmp/dst-key-policy-root.json"
step "crr doctor -f pair.json: want exit 1, naming the destination key policy and the fix"
set +e
doctor -f "$tmp/pair.json" >"$tmp/doctor-broken.out" 2>&1
code=$?
set -e
cat "$tmp/doctor-broken.out"
[ $code -eq 1 ] || fail "crr doctor exited $code after the grant was removed, want 1"
grep -q "destination-key-policy" "$tmp/doctor-broken.out" || fail "crr doctor does not name the destination key policy"
grep -q "$DST_KEY" "$tmp/doctor-broken.out" || fail "crr doctor does not name the destination key $DST_KEY"
grep -q "fix: " "$tmp/doctor-broken.out" || fail "crr doctor gives no fix"
echo "ok: crr doctor exits 1 naming the destination key policy, with the fix"
echo "PASS: crr doctor on a hand-made pair"
