package provision

// The preflight, key and encryption stages against accounts that already hold things:
// keys of earlier runs, keys the user brings, keys in the wrong state, buckets in the wrong
// place, default encryption with someone else's key.

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// TestPreflightProblems: what makes provisioning impossible is reported by preflight, all
// problems at once, each with the field to change and how, before any change is made.
func TestPreflightProblems(t *testing.T) {
	tests := []struct {
		name     string
		give     func(env *fakeEnv) []func(*spec.Request)
		wantType string // PreflightFailed, Conflict, AccessDenied
		wantText []string
	}{
		{
			name:     "wrong account behind the source role",
			give:     func(env *fakeEnv) []func(*spec.Request) { env.src.sts.caller = "999999999999"; return nil },
			wantType: "PreflightFailed",
			wantText: []string{"source: the provisioner role reached account 999999999999, not 111111111111", "fix:"},
		},
		{
			name: "wrong accounts behind both roles",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.src.sts.caller = "999999999999"
				env.dst.sts.caller = "888888888888"
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"source: the provisioner role reached account 999999999999", "destination: the provisioner role reached account 888888888888"},
		},
		{
			name: "source bucket in another region",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.addBucket(env.src, "payments-src").region = "eu-west-1"
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{`source.bucket: "payments-src" is in eu-west-1, not ap-south-1`, "fix: set source.region to eu-west-1"},
		},
		{
			name: "destination bucket answers 301",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.dst.s3.fail("HeadBucket", httpErr(http.StatusMovedPermanently, apiErr("PermanentRedirect", "")))
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{`destination.bucket: "payments-dst" is in another region`},
		},
		{
			name: "destination bucket answers 301 naming its region",
			give: func(env *fakeEnv) []func(*spec.Request) {
				redirect := &http.Response{StatusCode: http.StatusMovedPermanently, Header: http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}}
				env.dst.s3.fail("HeadBucket", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: redirect}, Err: apiErr("PermanentRedirect", "")})
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{`destination.bucket: "payments-dst" is in eu-west-1, not us-east-1`, "fix: set destination.region to eu-west-1"},
		},
		{
			name: "destination bucket name taken by another account",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.addBucket(env.side("333333333333", fakeDstRegion), "payments-dst")
				return nil
			},
			wantType: "AccessDenied",
			wantText: []string{"payments-dst", "taken by another account", "fix: choose another name"},
		},
		{
			name: "disabled key behind the destination alias",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.dst.kms.alias("alias/s3crr-dst", env.dst.kms.addKey(func(k *fakeKey) {
					k.meta.KeyState, k.meta.Enabled = kmstypes.KeyStateDisabled, false
				}))
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"destination.kmsKeyAlias: key arn:aws:kms:us-east-1:222222222222:key/", "is Disabled", "fix: enable it"},
		},
		{
			name: "key pending deletion",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.src.kms.alias("alias/s3crr-src", env.src.kms.addKey(func(k *fakeKey) {
					k.meta.KeyState, k.meta.Enabled = kmstypes.KeyStatePendingDeletion, false
				}))
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"source.kmsKeyAlias", "PendingDeletion", "cancel its deletion"},
		},
		{
			name: "AWS managed key brought by ARN",
			give: func(env *fakeEnv) []func(*spec.Request) {
				arn := env.src.kms.addKey(func(k *fakeKey) { k.meta.KeyManager = kmstypes.KeyManagerTypeAws })
				return []func(*spec.Request){func(r *spec.Request) { r.Source.KMSKeyAlias, r.Source.KMSKeyARN = "", arn }}
			},
			wantType: "PreflightFailed",
			wantText: []string{"source.kmsKeyArn: key arn:aws:kms:ap-south-1:111111111111:key/", "AWS managed", "fix: use a customer managed key"},
		},
		{
			name: "asymmetric key behind the alias",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.dst.kms.alias("alias/s3crr-dst", env.dst.kms.addKey(func(k *fakeKey) {
					k.meta.KeySpec, k.meta.KeyUsage = kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify
				}))
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"destination.kmsKeyAlias", "RSA_2048/SIGN_VERIFY", "symmetric", "fix:"},
		},
		{
			name: "brought key does not exist",
			give: func(*fakeEnv) []func(*spec.Request) {
				return []func(*spec.Request){func(r *spec.Request) {
					r.Destination.KMSKeyAlias, r.Destination.KMSKeyARN = "", "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-4333-8444-555555555555"
				}}
			},
			wantType: "PreflightFailed",
			wantText: []string{"destination.kmsKeyArn: key arn:aws:kms:us-east-1:222222222222:key/11111111-2222-4333-8444-555555555555 does not exist", "fix:"},
		},
		{
			name: "problems on both sides at once",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.dst.sts.caller = "888888888888"
				env.addBucket(env.src, "payments-src").region = "eu-west-1"
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"source.bucket", "destination: the provisioner role reached account 888888888888"},
		},
		{
			name: "Object Lock on the source only",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.addBucket(env.src, "payments-src").objectLock = true
				env.addBucket(env.dst, "payments-dst")
				return nil
			},
			wantType: "PreflightFailed",
			wantText: []string{"payments-src has Object Lock", "payments-dst does not", "DstBucketObjectLockConfigMissing", "fix:"},
		},
		{
			name: "source bucket default-encrypted with another customer key",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.src, "payments-src")
				b.encryption.Rules[0] = *sseRule(s3types.ServerSideEncryptionAwsKms, env.src.kms.addKey(nil), true)
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"stage preflight", "payments-src is default-encrypted with KMS key arn:aws:kms:ap-south-1:111111111111:key/00000001",
				"fix: set source.kmsKeyArn to arn:aws:kms:ap-south-1:111111111111:key/00000001"},
		},
		{
			name: "destination bucket default-encrypted with another account's key",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.dst, "payments-dst")
				b.encryption.Rules[0] = *sseRule(s3types.ServerSideEncryptionAwsKms, "arn:aws:kms:us-east-1:333333333333:key/99999999-0000-4000-8000-000000000000", true)
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"payments-dst", "arn:aws:kms:us-east-1:333333333333:key/99999999", "not in the bucket's account and region"},
		},
		{
			name: "destination bucket with dual-layer encryption",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.dst, "payments-dst")
				b.encryption.Rules[0] = *sseRule(s3types.ServerSideEncryptionAwsKmsDsse, "", false)
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"payments-dst", "aws:kms:dsse", "fix:"},
		},
		{
			name: "foreign role of the same name",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.iams[fakeSrcAccount].addRole("s3crr-repl-payments-src-38d30e55", "/s3crr/", "{}", map[string]string{"team": "payments"})
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55", "not created by s3crr", "fix:"},
		},
		{
			name: "s3crr role of another bucket's pair",
			give: func(env *fakeEnv) []func(*spec.Request) {
				env.iams[fakeSrcAccount].addRole("s3crr-repl-payments-src-38d30e55", "/s3crr/", "{}", map[string]string{names.ManagedByTagKey: names.ManagedByTagValue, names.PairIDTagKey: "other-pair"})
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"s3crr-repl-payments-src-38d30e55", "for the pairs from bucket payments-src"},
		},
		{
			name: "existing rule with the pair's priority",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.src, "payments-src")
				b.replication = &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"),
					Rules: []s3types.ReplicationRule{foreignRule("owner-backup", 42)}}
				return []func(*spec.Request){func(r *spec.Request) { r.Rule.Priority = aws.Int32(42) }}
			},
			wantType: "Conflict",
			wantText: []string{`rule "owner-backup"`, "priority 42", "fix: set rule.priority"},
		},
		{
			name: "existing V1 replication configuration",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.src, "payments-src")
				b.replication = &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"),
					Rules: []s3types.ReplicationRule{{ID: aws.String("legacy"), Prefix: aws.String(""), Status: s3types.ReplicationRuleStatusEnabled,
						Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::owner-backup")}}}}
				return nil
			},
			wantType: "Conflict",
			wantText: []string{`rule "legacy"`, "V1 replication schema", "fix:"},
		},
		{
			name: "existing rules using another role",
			give: func(env *fakeEnv) []func(*spec.Request) {
				b := env.addBucket(env.src, "payments-src")
				b.replication = &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111111111111:role/owner-replication"),
					Rules: []s3types.ReplicationRule{foreignRule("owner-backup", 7)}}
				return nil
			},
			wantType: "Conflict",
			wantText: []string{"arn:aws:iam::111111111111:role/owner-replication", "one role per bucket", "fix:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			req := requestJSON(t, tt.give(env)...)
			_, err := env.run(t, names.StagePreflight, "", req)
			var msg string
			switch e := err.(type) {
			case *PreflightFailed:
				msg = e.Message
			case *Conflict:
				msg = e.Message
			case *AccessDenied:
				msg = e.Message
			default:
				t.Fatalf("err = %v (%T), want *%s", err, err, tt.wantType)
			}
			if got := errTypeName(err); got != tt.wantType {
				t.Errorf("err type %s, want %s: %v", got, tt.wantType, err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if m := env.log.mutating(); len(m) != 0 {
				t.Errorf("preflight made mutating calls %q", m)
			}
		})
	}
}

// errTypeName is the name aws-lambda-go reports for an error: its type without the
// pointer, "PreflightFailed" for *provision.PreflightFailed.
func errTypeName(err error) string {
	if err == nil {
		return "nil"
	}
	return strings.TrimPrefix(reflect.TypeOf(err).String(), "*provision.")
}

// foreignRule is a replication rule the bucket's owner wrote.
func foreignRule(id string, priority int32) s3types.ReplicationRule {
	return s3types.ReplicationRule{
		ID: aws.String(id), Priority: aws.Int32(priority), Status: s3types.ReplicationRuleStatusEnabled,
		Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("backup/")},
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
		Destination:             &s3types.Destination{Bucket: aws.String("arn:aws:s3:::owner-backup")},
	}
}

// TestPreflightAcceptsWhatItCan: an existing non-empty source is accepted with a warning
// about Batch Replication; Object Lock on both sides, or on a source whose destination
// s3crr will create, passes; s3crr's own role passes.
func TestPreflightAcceptsWhatItCan(t *testing.T) {
	tests := []struct {
		name        string
		give        func(env *fakeEnv)
		prefix      string
		wantWarning bool
		wantOutputs map[string]string
	}{
		{name: "empty accounts", give: func(*fakeEnv) {},
			wantOutputs: map[string]string{"sourceBucketExists": "false", "destinationBucketExists": "false", "sourceObjectLock": "false"}},
		{name: "empty existing source", give: func(env *fakeEnv) { env.addBucket(env.src, "payments-src") },
			wantOutputs: map[string]string{"sourceBucketExists": "true"}},
		{name: "non-empty source", give: func(env *fakeEnv) {
			env.addBucket(env.src, "payments-src").objects = []string{"invoices/2025/12.csv"}
		}, wantWarning: true},
		{name: "objects outside the rule's prefix", prefix: "invoices/", give: func(env *fakeEnv) {
			env.addBucket(env.src, "payments-src").objects = []string{"reports/2025.pdf"}
		}},
		{name: "objects inside the rule's prefix", prefix: "invoices/", give: func(env *fakeEnv) {
			env.addBucket(env.src, "payments-src").objects = []string{"reports/2025.pdf", "invoices/1.csv"}
		}, wantWarning: true},
		{name: "Object Lock on both sides", give: func(env *fakeEnv) {
			env.addBucket(env.src, "payments-src").objectLock = true
			env.addBucket(env.dst, "payments-dst").objectLock = true
		}, wantOutputs: map[string]string{"sourceObjectLock": "true", "destinationBucketExists": "true"}},
		{name: "Object Lock source, destination still to create", give: func(env *fakeEnv) {
			env.addBucket(env.src, "payments-src").objectLock = true
		}, wantOutputs: map[string]string{"sourceObjectLock": "true", "destinationBucketExists": "false"}},
		{name: "s3crr's own role", give: func(env *fakeEnv) {
			env.iams[fakeSrcAccount].addRole("s3crr-repl-payments-src-38d30e55", "/s3crr/", "{}", map[string]string{names.ManagedByTagKey: names.ManagedByTagValue, names.PairIDTagKey: "payments-archive"})
		}},
		{name: "existing buckets encrypted with the pair's keys", give: func(env *fakeEnv) {
			src := env.src.kms.addKey(nil)
			env.src.kms.alias("alias/s3crr-src", src)
			env.addBucket(env.src, "payments-src").encryption.Rules[0] = *sseRule(s3types.ServerSideEncryptionAwsKms, src, true)
			env.dst.kms.alias("alias/s3crr-dst", env.dst.kms.addKey(nil))
			env.addBucket(env.dst, "payments-dst").encryption.Rules[0] = *sseRule(s3types.ServerSideEncryptionAwsKms, "alias/s3crr-dst", false)
		}, wantOutputs: map[string]string{"sourceBucketExists": "true", "destinationBucketExists": "true"}},
		{name: "healthy existing keys", give: func(env *fakeEnv) {
			env.src.kms.alias("alias/s3crr-src", env.src.kms.addKey(nil))
			env.dst.kms.alias("alias/s3crr-dst", env.dst.kms.addKey(nil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			tt.give(env)
			res, err := env.run(t, names.StagePreflight, "", requestJSON(t, func(r *spec.Request) { r.Rule.Prefix = tt.prefix }))
			if err != nil {
				t.Fatal(err)
			}
			warned := slices.ContainsFunc(res.Warnings, func(w string) bool {
				return strings.Contains(w, "Batch Replication") && strings.Contains(w, "payments-src")
			})
			if warned != tt.wantWarning {
				t.Errorf("Batch Replication warning %v, want %v: %q", warned, tt.wantWarning, res.Warnings)
			}
			for k, want := range tt.wantOutputs {
				if got := res.Outputs[k]; got != want {
					t.Errorf("output %s = %q, want %q", k, got, want)
				}
			}
			if got := res.Outputs["sourceProvisionerArn"]; !strings.Contains(got, "111111111111") {
				t.Errorf("sourceProvisionerArn = %q", got)
			}
			if len(res.Changes) != 0 || len(env.log.mutating()) != 0 {
				t.Errorf("preflight changed things: %q %q", changeActions(res), env.log.mutating())
			}
		})
	}
}

// TestKeyStageWithExistingKeys: keys of earlier runs, keys behind the alias, keys brought
// by ARN.
func TestKeyStageWithExistingKeys(t *testing.T) {
	const broughtAlias = "alias/s3crr/payments-archive/source"
	tests := []struct {
		name string
		// give prepares the source account's KMS and returns request edits and the ARN the
		// stage must end up using ("" = a new key).
		give        func(k *fakeKMS) (edit func(*spec.Request), wantKey string)
		wantActions []string
		wantErr     string // PreflightFailed or Conflict
		wantText    []string
		wantAlias   string // the alias that must point to the key afterwards
	}{
		{
			name: "adopts the unaliased key of an interrupted run",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.addKey(nil) // someone else's key
				return nil, k.addKey(func(x *fakeKey) {
					x.tags = kmsTags(names.ManagedByTagKey, names.ManagedByTagValue, names.PairIDTagKey, "payments-archive", names.AliasTagKey, "alias/s3crr-src")
				})
			},
			wantActions: []string{"create alias", "enable key rotation"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "finds it on a later ListKeys page",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.pageSize = 1
				k.addKey(nil)
				k.addKey(func(x *fakeKey) { x.tags = kmsTags("team", "payments") })
				return nil, k.addKey(func(x *fakeKey) { x.tags = kmsTags(names.AliasTagKey, "alias/s3crr-src"); x.rotation = true })
			},
			wantActions: []string{"create alias"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "skips keys it may not read",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.addKey(func(x *fakeKey) { x.denied = true })
				return nil, k.addKey(func(x *fakeKey) { x.tags = kmsTags(names.AliasTagKey, "alias/s3crr-src") })
			},
			wantActions: []string{"create alias", "enable key rotation"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "no key readable: the provisioner's permission is missing",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.addKey(func(x *fakeKey) { x.denied = true })
				k.addKey(func(x *fakeKey) { x.denied = true })
				return nil, ""
			},
			wantErr:  "AccessDenied",
			wantText: []string{"kms:ListResourceTags", "denied on every key", "fix:"},
		},
		{
			name: "does not adopt a disabled tagged key",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.addKey(func(x *fakeKey) {
					x.tags = kmsTags(names.AliasTagKey, "alias/s3crr-src")
					x.meta.KeyState, x.meta.Enabled = kmstypes.KeyStateDisabled, false
				})
				return nil, ""
			},
			wantActions: []string{"create key", "create alias", "enable key rotation"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "does not adopt a key tagged for another alias",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.addKey(func(x *fakeKey) { x.tags = kmsTags(names.AliasTagKey, "alias/s3crr-other") })
				return nil, ""
			},
			wantActions: []string{"create key", "create alias", "enable key rotation"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "uses its own key behind the alias and turns rotation on",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				arn := k.addKey(func(k *fakeKey) {
					k.tags = []kmstypes.Tag{{TagKey: aws.String(names.ManagedByTagKey), TagValue: aws.String(names.ManagedByTagValue)}}
				})
				k.alias("alias/s3crr-src", arn)
				return nil, arn
			},
			wantActions: []string{"enable key rotation"},
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "uses the owner's key behind the alias, rotation untouched",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				arn := k.addKey(nil)
				k.alias("alias/s3crr-src", arn)
				return nil, arn
			},
			wantActions: nil,
			wantAlias:   "alias/s3crr-src",
		},
		{
			name: "brought key gets the pair's default alias, rotation untouched",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				arn := k.addKey(nil)
				return func(r *spec.Request) { r.Source.KMSKeyAlias, r.Source.KMSKeyARN = "", arn }, arn
			},
			wantActions: []string{"create alias"},
			wantAlias:   broughtAlias,
		},
		{
			name: "brought key already has the alias",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				arn := k.addKey(nil)
				k.alias(broughtAlias, arn)
				return func(r *spec.Request) { r.Source.KMSKeyAlias, r.Source.KMSKeyARN = "", arn }, arn
			},
			wantActions: []string{},
			wantAlias:   broughtAlias,
		},
		{
			name: "the pair's alias points to another key",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				other := k.addKey(nil)
				k.alias(broughtAlias, other)
				arn := k.addKey(nil)
				return func(r *spec.Request) { r.Source.KMSKeyAlias, r.Source.KMSKeyARN = "", arn }, ""
			},
			wantErr:  "Conflict",
			wantText: []string{"alias " + broughtAlias + " already points to key arn:aws:kms:ap-south-1:111111111111:key/00000001", "fix:", "source.kmsKeyArn = arn:aws:kms:ap-south-1:111111111111:key/00000001"},
		},
		{
			name: "brought key does not exist",
			give: func(*fakeKMS) (func(*spec.Request), string) {
				return func(r *spec.Request) {
					r.Source.KMSKeyAlias, r.Source.KMSKeyARN = "", "arn:aws:kms:ap-south-1:111111111111:key/11111111-2222-4333-8444-555555555555"
				}, ""
			},
			wantErr:  "PreflightFailed",
			wantText: []string{"source.kmsKeyArn", "does not exist", "fix:"},
		},
		{
			name: "disabled key behind the alias",
			give: func(k *fakeKMS) (func(*spec.Request), string) {
				k.alias("alias/s3crr-src", k.addKey(func(x *fakeKey) { x.meta.KeyState, x.meta.Enabled = kmstypes.KeyStateDisabled, false }))
				return nil, ""
			},
			wantErr:  "PreflightFailed",
			wantText: []string{"is Disabled", "fix:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			edit, wantKey := tt.give(env.src.kms)
			var edits []func(*spec.Request)
			if edit != nil {
				edits = append(edits, edit)
			}
			req := requestJSON(t, edits...)
			keysBefore := len(env.src.kms.keys)
			res, err := env.run(t, names.StageKey, SideSource, req)
			if tt.wantErr != "" {
				if got := errTypeName(err); got != tt.wantErr {
					t.Fatalf("err = %v (%T), want *%s", err, err, tt.wantErr)
				}
				for _, w := range tt.wantText {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message lacks %q:\n%s", w, err)
					}
				}
				if m := env.log.mutating(); len(m) != 0 {
					t.Errorf("mutating calls before the error: %q", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := changeActions(res); !slices.Equal(got, tt.wantActions) {
				t.Errorf("changes = %q, want %q", got, tt.wantActions)
			}
			created := len(env.src.kms.keys) - keysBefore
			if wantKey != "" && created != 0 {
				t.Errorf("%d keys created, want the existing key %s used", created, wantKey)
			}
			if wantKey == "" && created != 1 {
				t.Errorf("%d keys created, want 1", created)
			}
			got := res.Outputs["keyArn"]
			if wantKey != "" && got != wantKey {
				t.Errorf("keyArn = %s, want %s", got, wantKey)
			}
			if target := env.src.kms.aliasTarget(tt.wantAlias); target != got {
				t.Errorf("%s → %q, want the key %s", tt.wantAlias, target, got)
			}
			env.log.reset()
			again := env.mustRun(t, names.StageKey, SideSource, req)
			if len(again.Changes) != 0 || len(env.log.mutating()) != 0 || again.Outputs["keyArn"] != got {
				t.Errorf("re-run: changes %q, mutating %q, key %s", changeActions(again), env.log.mutating(), again.Outputs["keyArn"])
			}
			if env.log.count("ListKeys") != 0 {
				t.Error("a re-run searched the key list although the alias exists")
			}
		})
	}
}

// TestEncryptionStage: the bucket's default encryption becomes SSE-KMS with the pair's
// key; AES256 or the AWS managed key is replaced, another customer key is a Conflict that
// says which key, the Bucket Key setting follows the request.
func TestEncryptionStage(t *testing.T) {
	tests := []struct {
		name        string
		give        func(env *fakeEnv, srcKey string) *s3types.ServerSideEncryptionRule
		bucketKey   *bool // request's rule.bucketKeyEnabled
		wantActions []string
		wantErr     []string // Conflict message parts
	}{
		{name: "no configuration", give: func(*fakeEnv, string) *s3types.ServerSideEncryptionRule { return nil },
			wantActions: []string{"set default encryption"}},
		{name: "AES256", give: func(*fakeEnv, string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAes256, "", false)
		}, wantActions: []string{"set default encryption"}},
		{name: "AWS managed aws/s3 key", give: func(*fakeEnv, string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, "", false)
		}, wantActions: []string{"set default encryption"}},
		{name: "the pair's key, same Bucket Key setting", give: func(_ *fakeEnv, k string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, k, true)
		}, wantActions: []string{}},
		{name: "the pair's key by alias", give: func(*fakeEnv, string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, "alias/s3crr-src", true)
		}, wantActions: []string{}},
		{name: "the pair's key, Bucket Key off", give: func(_ *fakeEnv, k string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, k, false)
		}, wantActions: []string{"set default encryption"}},
		{name: "the pair's key, Bucket Key on but requested off", bucketKey: aws.Bool(false), give: func(_ *fakeEnv, k string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, k, true)
		}, wantActions: []string{"set default encryption"}},
		{name: "another customer key", give: func(env *fakeEnv, _ string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKms, env.src.kms.addKey(nil), true)
		}, wantErr: []string{"payments-src is default-encrypted with KMS key arn:aws:kms:ap-south-1:111111111111:key/00000002", "fix: set source.kmsKeyArn to arn:aws:kms:ap-south-1:111111111111:key/00000002"}},
		{name: "another customer key by alias", give: func(env *fakeEnv, _ string) *s3types.ServerSideEncryptionRule {
			env.src.kms.alias("alias/team-key", env.src.kms.addKey(nil))
			return sseRule(s3types.ServerSideEncryptionAwsKms, "alias/team-key", true)
		}, wantErr: []string{"KMS key arn:aws:kms:ap-south-1:111111111111:key/00000002", "fix: set source.kmsKeyArn to arn:aws:kms:ap-south-1:111111111111:key/00000002"}},
		{name: "dual-layer with another key", give: func(env *fakeEnv, _ string) *s3types.ServerSideEncryptionRule {
			return sseRule(s3types.ServerSideEncryptionAwsKmsDsse, env.src.kms.addKey(nil), false)
		}, wantErr: []string{"payments-src", "aws:kms:dsse", "fix:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			req := requestJSON(t, func(r *spec.Request) { r.Rule.BucketKeyEnabled = tt.bucketKey })
			env.applyBefore(t, names.StageEncryption, SideSource, req)
			srcKey := env.src.kms.aliasTarget("alias/s3crr-src")
			b := env.bucket(t, "payments-src")
			b.encryption = nil
			if r := tt.give(env, srcKey); r != nil {
				b.encryption = &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{*r}}
			}
			before := clone(b.encryption)
			env.log.reset()
			res, err := env.run(t, names.StageEncryption, SideSource, req)
			if tt.wantErr != nil {
				if _, ok := err.(*Conflict); !ok {
					t.Fatalf("err = %v (%T), want *Conflict", err, err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message lacks %q:\n%s", w, err)
					}
				}
				if m := env.log.mutating(); len(m) != 0 {
					t.Errorf("mutating calls %q", m)
				}
				if got := clone(b.encryption); !equalJSON(got, before) {
					t.Error("the owner's encryption configuration changed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := changeActions(res); !slices.Equal(got, tt.wantActions) {
				t.Errorf("changes = %q, want %q", got, tt.wantActions)
			}
			rule := b.encryption.Rules[0]
			wantBK := tt.bucketKey == nil || *tt.bucketKey
			if len(tt.wantActions) > 0 {
				def := rule.ApplyServerSideEncryptionByDefault
				if def.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(def.KMSMasterKeyID) != srcKey || aws.ToBool(rule.BucketKeyEnabled) != wantBK {
					t.Errorf("encryption = %s %s bucket key %v, want aws:kms %s %v", def.SSEAlgorithm, aws.ToString(def.KMSMasterKeyID), aws.ToBool(rule.BucketKeyEnabled), srcKey, wantBK)
				}
			} else if !equalJSON(clone(b.encryption), before) || len(env.log.mutating()) != 0 {
				t.Error("a converged configuration was written")
			}
		})
	}
}

func sseRule(alg s3types.ServerSideEncryption, key string, bucketKey bool) *s3types.ServerSideEncryptionRule {
	r := &s3types.ServerSideEncryptionRule{
		ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: alg},
		BucketKeyEnabled:                   aws.Bool(bucketKey),
	}
	if key != "" {
		r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(key)
	}
	return r
}
