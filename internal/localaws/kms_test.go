package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const (
	kmsTestA      = SourceAccount      // 111111111111
	kmsTestB      = DestinationAccount // 222222222222
	kmsTestRegion = "us-east-1"
)

var kmsCtx = context.Background()

func kmsCreate(t *testing.T, c *kms.Client, in *kms.CreateKeyInput) *kmstypes.KeyMetadata {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(kmsCtx, in)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return out.KeyMetadata
}

// kmsPolicyDoc renders a key policy from statements.
func kmsPolicyDoc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func kmsRootStatement(account string) string {
	return `{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}`
}

func TestKMSKeyLifecycle(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)

	md := kmsCreate(t, c, &kms.CreateKeyInput{Description: aws.String("replication source")})
	wantARN := "arn:aws:kms:us-east-1:" + kmsTestA + ":key/" + *md.KeyId
	if got := aws.ToString(md.Arn); got != wantARN {
		t.Errorf("Arn = %q, want %q", got, wantARN)
	}
	if !kmsUUIDPattern.MatchString(*md.KeyId) {
		t.Errorf("KeyId %q is not a UUID", *md.KeyId)
	}

	d, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	m := d.KeyMetadata
	checks := []struct {
		name      string
		got, want any
	}{
		{"AWSAccountId", aws.ToString(m.AWSAccountId), kmsTestA},
		{"KeyState", m.KeyState, kmstypes.KeyStateEnabled},
		{"Enabled", m.Enabled, true},
		{"KeyManager", m.KeyManager, kmstypes.KeyManagerTypeCustomer},
		{"KeySpec", m.KeySpec, kmstypes.KeySpecSymmetricDefault},
		{"KeyUsage", m.KeyUsage, kmstypes.KeyUsageTypeEncryptDecrypt},
		{"Origin", m.Origin, kmstypes.OriginTypeAwsKms},
		{"MultiRegion", aws.ToBool(m.MultiRegion), false},
		{"EncryptionAlgorithms", m.EncryptionAlgorithms, []kmstypes.EncryptionAlgorithmSpec{kmstypes.EncryptionAlgorithmSpecSymmetricDefault}},
		{"Description", aws.ToString(m.Description), "replication source"},
		{"CreationDate", m.CreationDate.UTC(), e.clock.Now()},
		{"DeletionDate", m.DeletionDate, (*time.Time)(nil)},
	}
	for _, ck := range checks {
		if !kmsDeepEqual(ck.got, ck.want) {
			t.Errorf("DescribeKey %s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	keys, err := c.ListKeys(kmsCtx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys.Keys) != 1 || aws.ToString(keys.Keys[0].KeyArn) != wantARN {
		t.Errorf("ListKeys = %+v, want the one key", keys.Keys)
	}
	// Keys are per account and per region.
	if other, err := e.root(kmsTestB, kmsTestRegion).ListKeys(kmsCtx, &kms.ListKeysInput{}); err != nil || len(other.Keys) != 0 {
		t.Errorf("ListKeys in account B = %v, %v; want none", other, err)
	}
	if other, err := e.root(kmsTestA, "eu-west-1").ListKeys(kmsCtx, &kms.ListKeysInput{}); err != nil || len(other.Keys) != 0 {
		t.Errorf("ListKeys in eu-west-1 = %v, %v; want none", other, err)
	}
	if _, err := e.root(kmsTestA, "eu-west-1").DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: md.Arn}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("DescribeKey of a us-east-1 ARN in eu-west-1: %v, want NotFoundException", err)
	}

	pol, err := c.GetKeyPolicy(kmsCtx, &kms.GetKeyPolicyInput{KeyId: md.KeyId})
	if err != nil {
		t.Fatalf("GetKeyPolicy: %v", err)
	}
	wantPolicy := `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}`
	if aws.ToString(pol.Policy) != wantPolicy || aws.ToString(pol.PolicyName) != "default" {
		t.Errorf("GetKeyPolicy = %q (%q), want the default key policy", aws.ToString(pol.Policy), aws.ToString(pol.PolicyName))
	}
	if lp, err := c.ListKeyPolicies(kmsCtx, &kms.ListKeyPoliciesInput{KeyId: md.KeyId}); err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "default" {
		t.Errorf("ListKeyPolicies = %v, %v; want [default]", lp, err)
	}

	if _, err := c.UpdateKeyDescription(kmsCtx, &kms.UpdateKeyDescriptionInput{KeyId: md.KeyId, Description: aws.String("new")}); err != nil {
		t.Fatalf("UpdateKeyDescription: %v", err)
	}
	state := func() kmstypes.KeyMetadata {
		t.Helper()
		d, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: md.KeyId})
		if err != nil {
			t.Fatalf("DescribeKey: %v", err)
		}
		return *d.KeyMetadata
	}
	if got := aws.ToString(state().Description); got != "new" {
		t.Errorf("Description after UpdateKeyDescription = %q", got)
	}
	encrypt := func() error {
		_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
		return err
	}

	if _, err := c.DisableKey(kmsCtx, &kms.DisableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	if st := state(); st.KeyState != kmstypes.KeyStateDisabled || st.Enabled {
		t.Errorf("after DisableKey: state %s enabled %v", st.KeyState, st.Enabled)
	}
	if err := encrypt(); !kmsIs[*kmstypes.DisabledException](err) {
		t.Errorf("Encrypt with a disabled key: %v, want DisabledException", err)
	}
	if _, err := c.EnableKey(kmsCtx, &kms.EnableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("EnableKey: %v", err)
	}
	if err := encrypt(); err != nil {
		t.Errorf("Encrypt after EnableKey: %v", err)
	}

	if _, err := c.ScheduleKeyDeletion(kmsCtx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(6)}); apiCode(err) != "ValidationException" {
		t.Errorf("ScheduleKeyDeletion 6 days: %v, want ValidationException", err)
	}
	sk, err := c.ScheduleKeyDeletion(kmsCtx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)})
	if err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	wantDeletion := e.clock.Now().Add(7 * 24 * time.Hour)
	if sk.KeyState != kmstypes.KeyStatePendingDeletion || !sk.DeletionDate.Equal(wantDeletion) || aws.ToInt32(sk.PendingWindowInDays) != 7 || aws.ToString(sk.KeyId) != wantARN {
		t.Errorf("ScheduleKeyDeletion = state %s date %v window %d id %s", sk.KeyState, sk.DeletionDate, aws.ToInt32(sk.PendingWindowInDays), aws.ToString(sk.KeyId))
	}
	if st := state(); st.KeyState != kmstypes.KeyStatePendingDeletion || st.DeletionDate == nil || !st.DeletionDate.Equal(wantDeletion) || st.Enabled {
		t.Errorf("DescribeKey while pending deletion = %s %v enabled %v", st.KeyState, st.DeletionDate, st.Enabled)
	}
	if err := encrypt(); !kmsIs[*kmstypes.KMSInvalidStateException](err) {
		t.Errorf("Encrypt with a key pending deletion: %v, want KMSInvalidStateException", err)
	}
	if _, err := c.EnableKey(kmsCtx, &kms.EnableKeyInput{KeyId: md.KeyId}); !kmsIs[*kmstypes.KMSInvalidStateException](err) {
		t.Errorf("EnableKey pending deletion: %v, want KMSInvalidStateException", err)
	}
	if _, err := c.ScheduleKeyDeletion(kmsCtx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId}); !kmsIs[*kmstypes.KMSInvalidStateException](err) {
		t.Errorf("ScheduleKeyDeletion twice: %v, want KMSInvalidStateException", err)
	}
	if _, err := c.CancelKeyDeletion(kmsCtx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("CancelKeyDeletion: %v", err)
	}
	if st := state(); st.KeyState != kmstypes.KeyStateDisabled || st.DeletionDate != nil {
		t.Errorf("after CancelKeyDeletion: %s %v, want Disabled without a deletion date", st.KeyState, st.DeletionDate)
	}
	if _, err := c.CancelKeyDeletion(kmsCtx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId}); !kmsIs[*kmstypes.KMSInvalidStateException](err) {
		t.Errorf("CancelKeyDeletion of a key not pending deletion: %v, want KMSInvalidStateException", err)
	}

	// When the waiting period ends the key and its aliases are gone.
	if _, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if _, err := c.ScheduleKeyDeletion(kmsCtx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	e.clock.advance(7*24*time.Hour + time.Second)
	if _, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: md.KeyId}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("DescribeKey after deletion: %v, want NotFoundException", err)
	}
	if la, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{}); err != nil || len(la.Aliases) != 0 {
		t.Errorf("ListAliases after key deletion = %v, %v; want none", la, err)
	}
}

func kmsDeepEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestKMSCreateKeyValidation(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	tests := []struct {
		name string
		give kms.CreateKeyInput
		want string
	}{
		{"asymmetric key spec", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify}, "UnsupportedOperationException"},
		{"HMAC key spec", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac256, KeyUsage: kmstypes.KeyUsageTypeGenerateVerifyMac}, "UnsupportedOperationException"},
		{"symmetric for signing", kms.CreateKeyInput{KeyUsage: kmstypes.KeyUsageTypeSignVerify}, "ValidationException"},
		{"unknown key spec", kms.CreateKeyInput{KeySpec: "AES_999"}, "ValidationException"},
		{"both key specs", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, CustomerMasterKeySpec: kmstypes.CustomerMasterKeySpecSymmetricDefault}, "ValidationException"},
		{"external origin", kms.CreateKeyInput{Origin: kmstypes.OriginTypeExternal}, "UnsupportedOperationException"},
		{"policy not JSON", kms.CreateKeyInput{Policy: aws.String("{not json")}, "MalformedPolicyDocumentException"},
		{"policy without principal", kms.CreateKeyInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)}, "MalformedPolicyDocumentException"},
		{"reserved tag", kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("aws:x"), TagValue: aws.String("v")}}}, "TagException"},
		{"symmetric default", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateKey(kmsCtx, &tt.give)
			if got := apiCode(err); got != tt.want {
				t.Errorf("CreateKey error = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	if n, _ := c.ListKeys(kmsCtx, &kms.ListKeysInput{}); len(n.Keys) != 1 {
		t.Errorf("rejected CreateKey calls left keys behind: %d keys, want 1", len(n.Keys))
	}

	// Multi-Region keys are accepted as primaries without replicas.
	md := kmsCreate(t, c, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	if !strings.HasPrefix(*md.KeyId, "mrk-") || !aws.ToBool(md.MultiRegion) || md.MultiRegionConfiguration == nil ||
		md.MultiRegionConfiguration.MultiRegionKeyType != kmstypes.MultiRegionKeyTypePrimary {
		t.Errorf("multi-Region key metadata = %s %v %+v", *md.KeyId, aws.ToBool(md.MultiRegion), md.MultiRegionConfiguration)
	}
	if _, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("p")}); err != nil {
		t.Errorf("Encrypt with a multi-Region key: %v", err)
	}
}

func TestKMSAliases(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	k1 := kmsCreate(t, c, nil)
	k2 := kmsCreate(t, c, nil)

	if _, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-src"), TargetKeyId: k1.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if _, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: k2.Arn}); err != nil {
		t.Fatalf("CreateAlias by key ARN: %v", err)
	}
	aliasARN := "arn:aws:kms:us-east-1:" + kmsTestA + ":alias/s3crr-src"
	for _, ref := range []string{"alias/s3crr-src", aliasARN} {
		d, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil || aws.ToString(d.KeyMetadata.KeyId) != *k1.KeyId {
			t.Errorf("DescribeKey %s = %v, want key 1", ref, err)
		}
	}

	tests := []struct {
		name        string
		alias, give string
		want        string
	}{
		{"duplicate", "alias/s3crr-src", *k2.KeyId, "AlreadyExistsException"},
		{"no prefix", "s3crr", *k1.KeyId, "ValidationException"},
		{"reserved prefix", "alias/aws/s3crr", *k1.KeyId, "NotAuthorizedException"},
		{"colon", "alias/a:b", *k1.KeyId, "ValidationException"},
		{"space", "alias/a b", *k1.KeyId, "ValidationException"},
		{"target is an alias", "alias/chained", "alias/s3crr-src", "ValidationException"},
		{"unknown target", "alias/x", "11111111-2222-4333-8444-555555555555", "NotFoundException"},
		{"malformed target", "alias/x", "not-a-key", "NotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String(tt.alias), TargetKeyId: aws.String(tt.give)})
			if got := apiCode(err); got != tt.want {
				t.Errorf("CreateAlias(%s -> %s) = %q (%v), want %q", tt.alias, tt.give, got, err, tt.want)
			}
		})
	}
	_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-src"), TargetKeyId: k2.KeyId})
	if !kmsIs[*kmstypes.AlreadyExistsException](err) {
		t.Errorf("duplicate alias: %v, want typed AlreadyExistsException", err)
	}

	all, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatalf("ListAliases: %v", err)
	}
	var names []string
	for _, a := range all.Aliases {
		names = append(names, aws.ToString(a.AliasName))
	}
	if strings.Join(names, ",") != "alias/other,alias/s3crr-src" {
		t.Errorf("ListAliases = %v", names)
	}
	byKey, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{KeyId: k1.KeyId})
	if err != nil || len(byKey.Aliases) != 1 || aws.ToString(byKey.Aliases[0].AliasArn) != aliasARN ||
		aws.ToString(byKey.Aliases[0].TargetKeyId) != *k1.KeyId || byKey.Aliases[0].CreationDate == nil {
		t.Errorf("ListAliases(KeyId=k1) = %+v, %v", byKey, err)
	}
	page, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{Limit: aws.Int32(1)})
	if err != nil || len(page.Aliases) != 1 || !page.Truncated || page.NextMarker == nil {
		t.Fatalf("ListAliases(Limit=1) = %+v, %v; want one alias and a marker", page, err)
	}
	page2, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{Limit: aws.Int32(1), Marker: page.NextMarker})
	if err != nil || len(page2.Aliases) != 1 || page2.Truncated || aws.ToString(page2.Aliases[0].AliasName) != "alias/s3crr-src" {
		t.Errorf("ListAliases second page = %+v, %v", page2, err)
	}

	if _, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{Marker: aws.String("bogus")}); !kmsIs[*kmstypes.InvalidMarkerException](err) {
		t.Errorf("ListAliases with a bogus marker: %v, want InvalidMarkerException", err)
	}

	if _, err := c.UpdateAlias(kmsCtx, &kms.UpdateAliasInput{AliasName: aws.String("alias/s3crr-src"), TargetKeyId: k2.KeyId}); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	if d, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/s3crr-src")}); err != nil || aws.ToString(d.KeyMetadata.KeyId) != *k2.KeyId {
		t.Errorf("DescribeKey after UpdateAlias = %v; want key 2", err)
	}
	if _, err := c.UpdateAlias(kmsCtx, &kms.UpdateAliasInput{AliasName: aws.String("alias/missing"), TargetKeyId: k2.KeyId}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("UpdateAlias of a missing alias: %v, want NotFoundException", err)
	}
	if _, err := c.DeleteAlias(kmsCtx, &kms.DeleteAliasInput{AliasName: aws.String("alias/s3crr-src")}); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if _, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/s3crr-src")}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("DescribeKey of a deleted alias: %v, want NotFoundException", err)
	}
	if _, err := c.DeleteAlias(kmsCtx, &kms.DeleteAliasInput{AliasName: aws.String("alias/s3crr-src")}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("DeleteAlias twice: %v, want NotFoundException", err)
	}
	// Aliases are per account: B cannot see A's alias by name.
	if _, err := e.root(kmsTestB, kmsTestRegion).DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/other")}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("DescribeKey of A's alias name from B: %v, want NotFoundException", err)
	}
}

func TestKMSRotationAndTags(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	k := kmsCreate(t, c, &kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("pair"), TagValue: aws.String("payments")}}})

	st, err := c.GetKeyRotationStatus(kmsCtx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
	if err != nil || st.KeyRotationEnabled {
		t.Fatalf("GetKeyRotationStatus of a new key = %+v, %v; want disabled", st, err)
	}
	if _, err := c.EnableKeyRotation(kmsCtx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(30)}); apiCode(err) != "ValidationException" {
		t.Errorf("EnableKeyRotation 30 days: %v, want ValidationException", err)
	}
	if _, err := c.EnableKeyRotation(kmsCtx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(180)}); err != nil {
		t.Fatalf("EnableKeyRotation: %v", err)
	}
	st, err = c.GetKeyRotationStatus(kmsCtx, &kms.GetKeyRotationStatusInput{KeyId: k.Arn})
	if err != nil || !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 180 ||
		st.NextRotationDate == nil || !st.NextRotationDate.Equal(e.clock.Now().Add(180*24*time.Hour)) {
		t.Errorf("GetKeyRotationStatus after enabling = %+v, %v", st, err)
	}
	if _, err := c.DisableKeyRotation(kmsCtx, &kms.DisableKeyRotationInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("DisableKeyRotation: %v", err)
	}
	if st, _ := c.GetKeyRotationStatus(kmsCtx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId}); st == nil || st.KeyRotationEnabled {
		t.Errorf("rotation still enabled after DisableKeyRotation")
	}
	if _, err := c.DisableKey(kmsCtx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	if _, err := c.EnableKeyRotation(kmsCtx, &kms.EnableKeyRotationInput{KeyId: k.KeyId}); !kmsIs[*kmstypes.DisabledException](err) {
		t.Errorf("EnableKeyRotation on a disabled key: %v, want DisabledException", err)
	}

	if _, err := c.TagResource(kmsCtx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []kmstypes.Tag{
		{TagKey: aws.String("owner"), TagValue: aws.String("platform")},
		{TagKey: aws.String("pair"), TagValue: aws.String("archive")},
	}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := c.TagResource(kmsCtx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []kmstypes.Tag{{TagKey: aws.String("aws:owner"), TagValue: aws.String("x")}}}); !kmsIs[*kmstypes.TagException](err) {
		t.Errorf("TagResource with an aws: key: %v, want TagException", err)
	}
	if _, err := c.UntagResource(kmsCtx, &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{"owner"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	tags, err := c.ListResourceTags(kmsCtx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].TagKey) != "pair" || aws.ToString(tags.Tags[0].TagValue) != "archive" {
		t.Errorf("ListResourceTags = %+v, %v; want pair=archive", tags, err)
	}
}

func TestKMSCryptography(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	k1 := kmsCreate(t, c, nil)
	k2 := kmsCreate(t, c, nil)
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-src/a.txt"}

	enc, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if aws.ToString(enc.KeyId) != *k1.Arn || enc.EncryptionAlgorithm != kmstypes.EncryptionAlgorithmSpecSymmetricDefault {
		t.Errorf("Encrypt returned key %s algorithm %s", aws.ToString(enc.KeyId), enc.EncryptionAlgorithm)
	}
	if bytes.Contains(enc.CiphertextBlob, []byte("secret")) {
		t.Errorf("ciphertext contains the plaintext")
	}
	dec, err := c.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "secret" || aws.ToString(dec.KeyId) != *k1.Arn {
		t.Fatalf("Decrypt without KeyId = %v, %v; want the plaintext under key 1", dec, err)
	}

	flip := func(i int) []byte {
		b := append([]byte(nil), enc.CiphertextBlob...)
		b[i] ^= 0x01
		return b
	}
	// A blob that names key 2 instead of key 1 (same length) must not authenticate.
	swapped := bytes.Replace(enc.CiphertextBlob, []byte(*k1.Arn), []byte(*k2.Arn), 1)
	tests := []struct {
		name  string
		blob  []byte
		ec    map[string]string
		keyID *string
		want  string
	}{
		{"other context", enc.CiphertextBlob, map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-src/b.txt"}, nil, "InvalidCiphertextException"},
		{"missing context", enc.CiphertextBlob, nil, nil, "InvalidCiphertextException"},
		{"extra context", enc.CiphertextBlob, map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-src/a.txt", "x": "y"}, nil, "InvalidCiphertextException"},
		{"tampered last byte", flip(len(enc.CiphertextBlob) - 1), ec, nil, "InvalidCiphertextException"},
		{"tampered nonce", flip(len(enc.CiphertextBlob) - 30), ec, nil, "InvalidCiphertextException"},
		{"key swapped in header", swapped, ec, nil, "InvalidCiphertextException"},
		{"not a blob", []byte("garbage-garbage-garbage"), ec, nil, "InvalidCiphertextException"},
		{"wrong KeyId", enc.CiphertextBlob, ec, k2.KeyId, "IncorrectKeyException"},
		{"right KeyId by ARN", enc.CiphertextBlob, ec, k1.Arn, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: tt.blob, EncryptionContext: tt.ec, KeyId: tt.keyID})
			if got := apiCode(err); got != tt.want {
				t.Errorf("Decrypt = %q (%v), want %q", got, err, tt.want)
			}
			if tt.want == "InvalidCiphertextException" && !kmsIs[*kmstypes.InvalidCiphertextException](err) {
				t.Errorf("Decrypt error is not the typed InvalidCiphertextException: %T", err)
			}
		})
	}

	gdk, err := c.GenerateDataKey(kmsCtx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId, KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil || len(gdk.Plaintext) != 32 || aws.ToString(gdk.KeyId) != *k1.Arn {
		t.Fatalf("GenerateDataKey AES_256 = %v, %v", gdk, err)
	}
	dk, err := c.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dk.Plaintext, gdk.Plaintext) {
		t.Errorf("Decrypt of the data key = %v, %v; want the data key", dk, err)
	}
	sizes := []struct {
		name string
		give kms.GenerateDataKeyInput
		want int
		code string
	}{
		{"AES_128", kms.GenerateDataKeyInput{KeySpec: kmstypes.DataKeySpecAes128}, 16, ""},
		{"64 bytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(64)}, 64, ""},
		{"both", kms.GenerateDataKeyInput{KeySpec: kmstypes.DataKeySpecAes128, NumberOfBytes: aws.Int32(16)}, 0, "ValidationException"},
		{"neither", kms.GenerateDataKeyInput{}, 0, "ValidationException"},
		{"too many bytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(1025)}, 0, "ValidationException"},
	}
	for _, tt := range sizes {
		t.Run("GenerateDataKey "+tt.name, func(t *testing.T) {
			in := tt.give
			in.KeyId = k1.KeyId
			out, err := c.GenerateDataKey(kmsCtx, &in)
			if got := apiCode(err); got != tt.code {
				t.Fatalf("GenerateDataKey = %q (%v), want %q", got, err, tt.code)
			}
			if err == nil && len(out.Plaintext) != tt.want {
				t.Errorf("data key is %d bytes, want %d", len(out.Plaintext), tt.want)
			}
		})
	}

	_, err = c.GenerateDataKeyWithoutPlaintext(kmsCtx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String("alias/aws/s3"), KeySpec: kmstypes.DataKeySpecAes256})
	if apiCode(err) != "AccessDeniedException" {
		// aws/s3 can be used only through S3: the root user calling directly is denied.
		t.Errorf("GenerateDataKeyWithoutPlaintext with aws/s3 directly: %v, want AccessDeniedException", err)
	}
	wp, err := c.GenerateDataKeyWithoutPlaintext(kmsCtx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k2.KeyId, KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil || len(wp.CiphertextBlob) == 0 {
		t.Fatalf("GenerateDataKeyWithoutPlaintext = %v, %v", wp, err)
	}
	if d, err := c.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob}); err != nil || len(d.Plaintext) != 32 {
		t.Errorf("Decrypt of a data key made without plaintext = %v, %v", d, err)
	}

	dstEC := map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-dst/a.txt"}
	re, err := c.ReEncrypt(kmsCtx, &kms.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec,
		DestinationKeyId: k2.Arn, DestinationEncryptionContext: dstEC,
	})
	if err != nil || aws.ToString(re.SourceKeyId) != *k1.Arn || aws.ToString(re.KeyId) != *k2.Arn {
		t.Fatalf("ReEncrypt = %+v, %v", re, err)
	}
	if d, err := c.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: dstEC}); err != nil || string(d.Plaintext) != "secret" || aws.ToString(d.KeyId) != *k2.Arn {
		t.Errorf("Decrypt of the re-encrypted blob = %v, %v", d, err)
	}
	if _, err := c.ReEncrypt(kmsCtx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: k2.Arn}); !kmsIs[*kmstypes.InvalidCiphertextException](err) {
		t.Errorf("ReEncrypt without the source context: %v, want InvalidCiphertextException", err)
	}

	if _, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("p"), DryRun: aws.Bool(true)}); !kmsIs[*kmstypes.DryRunOperationException](err) {
		t.Errorf("Encrypt DryRun: %v, want DryRunOperationException", err)
	}
	if _, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: aws.String("alias/none"), Plaintext: []byte("p")}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("Encrypt with an unknown alias: %v, want NotFoundException", err)
	}
	if _, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: make([]byte, 4097)}); apiCode(err) != "ValidationException" {
		t.Errorf("Encrypt of 4097 bytes: %v, want ValidationException", err)
	}
}

func TestKMSKeyPolicyPrincipalsAndPropagation(t *testing.T) {
	e := newKMSTestEnv(t, Options{PropagationWindow: 2 * time.Minute})
	c := e.root(kmsTestB, kmsTestRegion)
	k := kmsCreate(t, c, nil)
	roleARN := "arn:aws:iam::" + kmsTestA + ":role/s3crr-replication"
	grant := `{"Sid":"Replication","Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"kms:Encrypt","Resource":"*"}`
	doc := kmsPolicyDoc(kmsRootStatement(kmsTestB), grant)

	put := func() error {
		_, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(doc)})
		return err
	}
	const invalid = "Policy contains a statement with one or more invalid principals."
	wantInvalid := func(when string, err error) {
		t.Helper()
		if !kmsIs[*kmstypes.MalformedPolicyDocumentException](err) {
			t.Fatalf("%s: %v, want MalformedPolicyDocumentException", when, err)
		}
		if !strings.Contains(err.Error(), invalid) {
			t.Errorf("%s: message %q, want %q", when, err.Error(), invalid)
		}
	}
	wantInvalid("role does not exist", put())
	if _, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{Policy: aws.String(doc)}); err != nil {
		wantInvalid("CreateKey naming a missing role", err)
	} else {
		t.Fatalf("CreateKey naming a missing role succeeded")
	}

	e.role(t, kmsTestA, "s3crr-replication", "")
	wantInvalid("role inside the propagation window", put())
	e.clock.advance(time.Minute)
	wantInvalid("role still inside the propagation window", put())
	e.clock.advance(time.Minute + time.Second)
	if err := put(); err != nil {
		t.Fatalf("PutKeyPolicy after the propagation window: %v", err)
	}
	got, err := c.GetKeyPolicy(kmsCtx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})
	if err != nil || aws.ToString(got.Policy) != doc {
		t.Errorf("GetKeyPolicy after PutKeyPolicy = %v, %v; want the new document", got, err)
	}
	if _, err := c.GetKeyPolicy(kmsCtx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("other")}); !kmsIs[*kmstypes.NotFoundException](err) {
		t.Errorf("GetKeyPolicy other name: %v, want NotFoundException", err)
	}
	// Account principals are always valid, whether or not they are simulated.
	if _, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB),
		`{"Effect":"Allow","Principal":{"AWS":["333333333333","arn:aws:iam::444444444444:root"]},"Action":"kms:Decrypt","Resource":"*"}`))}); err != nil {
		t.Errorf("PutKeyPolicy naming accounts: %v", err)
	}

	// Without a window, a just-created role is usable at once.
	e2 := newKMSTestEnv(t, Options{})
	e2.role(t, kmsTestA, "s3crr-replication", "")
	if _, err := e2.root(kmsTestB, kmsTestRegion).CreateKey(kmsCtx, &kms.CreateKeyInput{Policy: aws.String(doc)}); err != nil {
		t.Errorf("CreateKey naming a new role without a propagation window: %v", err)
	}
}

func TestKMSKeyPolicyLockoutSafetyCheck(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	k := kmsCreate(t, c, nil)
	admin := e.role(t, kmsTestA, "key-admin", "")
	// Grants only usage to the admin role: the root caller could no longer update the policy.
	lockout := kmsPolicyDoc(`{"Effect":"Allow","Principal":{"AWS":"` + admin + `"},"Action":"kms:Encrypt","Resource":"*"}`)
	const msg = "The new key policy will not allow you to update the key policy in the future."

	_, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(lockout)})
	if !kmsIs[*kmstypes.MalformedPolicyDocumentException](err) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("PutKeyPolicy locking the caller out: %v, want MalformedPolicyDocumentException %q", err, msg)
	}
	if _, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{Policy: aws.String(lockout)}); !kmsIs[*kmstypes.MalformedPolicyDocumentException](err) {
		t.Errorf("CreateKey with a lockout policy: %v, want MalformedPolicyDocumentException", err)
	}
	// A policy that keeps PutKeyPolicy for the caller passes.
	keep := kmsPolicyDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+kmsTestA+`:root"},"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy"],"Resource":"*"}`,
		`{"Effect":"Allow","Principal":{"AWS":"`+admin+`"},"Action":"kms:Encrypt","Resource":"*"}`)
	if _, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(keep)}); err != nil {
		t.Fatalf("PutKeyPolicy keeping PutKeyPolicy: %v", err)
	}
	// With the bypass the caller really locks itself out.
	if _, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(lockout), BypassPolicyLockoutSafetyCheck: true}); err != nil {
		t.Fatalf("PutKeyPolicy with the bypass: %v", err)
	}
	if _, err := c.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(keep)}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("PutKeyPolicy after locking out: %v, want AccessDeniedException", err)
	}
	if _, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: k.KeyId}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("DescribeKey by root without a key policy grant: %v, want AccessDeniedException", err)
	}
}

func TestKMSAuthorization(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	rootA, rootB := e.root(kmsTestA, kmsTestRegion), e.root(kmsTestB, kmsTestRegion)

	// Account B's keys: one with the default policy, one granting a role of A, one without
	// the root statement, one granting A's account.
	replRole := e.role(t, kmsTestA, "replication", "")
	userB := e.role(t, kmsTestB, "app", "")
	defaultKey := kmsCreate(t, rootB, nil)
	crossKey := kmsCreate(t, rootB, &kms.CreateKeyInput{Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB),
		`{"Sid":"ReplicaEncrypt","Effect":"Allow","Principal":{"AWS":"`+replRole+`"},"Action":"kms:Encrypt","Resource":"*",
		  "Condition":{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::payments-dst/*"}}}`))})
	noRootKey := kmsCreate(t, rootB, &kms.CreateKeyInput{BypassPolicyLockoutSafetyCheck: true, Policy: aws.String(kmsPolicyDoc(
		`{"Effect":"Allow","Principal":{"AWS":"` + userB + `"},"Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"}`))})
	accountKey := kmsCreate(t, rootB, &kms.CreateKeyInput{Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB),
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+kmsTestA+`:root"},"Action":"kms:Encrypt","Resource":"*"}`))})

	allowEncrypt := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:*:` + kmsTestB + `:key/*"}]}`
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	dstEC := map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-dst/obj"}

	tests := []struct {
		name     string
		account  string // caller account; role "" means root
		role     string
		identity string // the role's inline policy
		key      *kmstypes.KeyMetadata
		byID     bool // reference the key by bare ID instead of ARN
		ec       map[string]string
		want     string
	}{
		{"cross-account role with key policy and IAM allow", kmsTestA, "replication", allowEncrypt, crossKey, false, dstEC, ""},
		{"cross-account role without IAM allow", kmsTestA, "replication", "", crossKey, false, dstEC, "AccessDeniedException"},
		{"cross-account role, context outside the condition", kmsTestA, "replication", allowEncrypt, crossKey, false, map[string]string{"aws:s3:arn": "arn:aws:s3:::other/obj"}, "AccessDeniedException"},
		{"cross-account role, key policy does not name it", kmsTestA, "replication", allowEncrypt, defaultKey, false, dstEC, "AccessDeniedException"},
		{"cross-account by bare key ID resolves in the caller's account", kmsTestA, "replication", allowEncrypt, crossKey, true, dstEC, "NotFoundException"},
		{"root of another account without a key policy grant", kmsTestA, "", "", defaultKey, false, nil, "AccessDeniedException"},
		{"root of another account with an account grant", kmsTestA, "", "", accountKey, false, nil, ""},
		{"role of the granted account still needs IAM", kmsTestA, "replication", "", accountKey, false, nil, "AccessDeniedException"},
		{"role of the granted account with IAM", kmsTestA, "replication", allowEncrypt, accountKey, false, nil, ""},
		{"same account: default policy and IAM allow", kmsTestB, "app", allowAll, defaultKey, true, nil, ""},
		{"same account: default policy without IAM", kmsTestB, "app", "", defaultKey, true, nil, "AccessDeniedException"},
		{"no root statement: IAM allow is irrelevant", kmsTestB, "other", allowAll, noRootKey, true, nil, "AccessDeniedException"},
		{"no root statement: root is denied", kmsTestB, "", "", noRootKey, true, nil, "AccessDeniedException"},
		{"no root statement: named role allowed without IAM", kmsTestB, "app", "", noRootKey, true, nil, ""},
	}
	e.role(t, kmsTestB, "other", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.root(tt.account, kmsTestRegion)
			if tt.role != "" {
				e.setRolePolicy(t, tt.account, tt.role, tt.identity)
				c = e.roleClient(tt.account, tt.role, kmsTestRegion)
			}
			ref := tt.key.Arn
			if tt.byID {
				ref = tt.key.KeyId
			}
			_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: ref, Plaintext: []byte("p"), EncryptionContext: tt.ec})
			if got := apiCode(err); got != tt.want {
				t.Errorf("Encrypt = %q (%v), want %q", got, err, tt.want)
			}
		})
	}

	// The denial names the caller, the action and the key, as KMS does.
	e.setRolePolicy(t, kmsTestA, "replication", "")
	_, err := e.roleClient(kmsTestA, "replication", kmsTestRegion).Encrypt(kmsCtx, &kms.EncryptInput{KeyId: crossKey.Arn, Plaintext: []byte("p"), EncryptionContext: dstEC})
	wantPrefix := "User: arn:aws:sts::" + kmsTestA + ":assumed-role/replication/kms-test is not authorized to perform: kms:Encrypt on resource: " + *crossKey.Arn + " because "
	if err == nil || !strings.Contains(err.Error(), wantPrefix) {
		t.Errorf("denial message = %v, want it to contain %q", err, wantPrefix)
	}
	// Decrypt denials refer to "the resource associated with this ciphertext".
	blob, err := rootB.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: defaultKey.KeyId, Plaintext: []byte("p")})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	_, err = rootA.Decrypt(kmsCtx, &kms.DecryptInput{CiphertextBlob: blob.CiphertextBlob})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "kms:Decrypt on the resource associated with this ciphertext because") {
		t.Errorf("cross-account Decrypt without a grant: %v", err)
	}

	// Management operations do not work across accounts, even when the key policy allows.
	openKey := kmsCreate(t, rootB, &kms.CreateKeyInput{Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB),
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+kmsTestA+`:root"},"Action":"kms:*","Resource":"*"}`))})
	if _, err := rootA.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: openKey.Arn}); err != nil {
		t.Errorf("cross-account DescribeKey with a grant: %v", err)
	}
	if _, err := rootA.DisableKey(kmsCtx, &kms.DisableKeyInput{KeyId: openKey.Arn}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("cross-account DisableKey: %v, want AccessDeniedException", err)
	}
	if _, err := rootA.PutKeyPolicy(kmsCtx, &kms.PutKeyPolicyInput{KeyId: openKey.Arn, Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB)))}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("cross-account PutKeyPolicy: %v, want AccessDeniedException", err)
	}
}

func TestKMSAccountLevelAuthorization(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	rootA := e.root(kmsTestA, kmsTestRegion)
	k := kmsCreate(t, rootA, nil)
	e.role(t, kmsTestA, "provisioner", "")
	c := e.roleClient(kmsTestA, "provisioner", kmsTestRegion)
	aliasARN := "arn:aws:kms:us-east-1:" + kmsTestA + ":alias/s3crr-*"

	tests := []struct {
		name     string
		identity string
		call     func() error
		want     string
	}{
		{"CreateKey without IAM", "", func() error { _, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{}); return err }, "AccessDeniedException"},
		{"CreateKey with IAM", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}`,
			func() error { _, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{}); return err }, ""},
		{"CreateKey conditioned on kms:KeySpec", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeySpec":"SYMMETRIC_DEFAULT","kms:KeyUsage":"ENCRYPT_DECRYPT"}}}]}`,
			func() error { _, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{}); return err }, ""},
		{"CreateKey with tags needs kms:TagResource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}`,
			func() error {
				_, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("k"), TagValue: aws.String("v")}}})
				return err
			}, "AccessDeniedException"},
		{"CreateKey with a request-tag condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateKey","kms:TagResource"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/pair":"payments"}}}]}`,
			func() error {
				_, err := c.CreateKey(kmsCtx, &kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("pair"), TagValue: aws.String("payments")}}})
				return err
			}, ""},
		{"ListKeys without IAM", "", func() error { _, err := c.ListKeys(kmsCtx, &kms.ListKeysInput{}); return err }, "AccessDeniedException"},
		{"ListAliases with IAM", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListAliases","Resource":"*"}]}`,
			func() error { _, err := c.ListAliases(kmsCtx, &kms.ListAliasesInput{}); return err }, ""},
		{"CreateAlias allowed on the key only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":"` + *k.Arn + `"}]}`,
			func() error {
				_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-a"), TargetKeyId: k.KeyId})
				return err
			}, "AccessDeniedException"},
		{"CreateAlias allowed on the alias only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":"` + aliasARN + `"}]}`,
			func() error {
				_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-a"), TargetKeyId: k.KeyId})
				return err
			}, "AccessDeniedException"},
		{"CreateAlias allowed on both", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":["` + aliasARN + `","` + *k.Arn + `"]}]}`,
			func() error {
				_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-a"), TargetKeyId: k.KeyId})
				return err
			}, ""},
		{"CreateAlias outside the allowed alias prefix", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":["` + aliasARN + `","` + *k.Arn + `"]}]}`,
			func() error {
				_, err := c.CreateAlias(kmsCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: k.KeyId})
				return err
			}, "AccessDeniedException"},
		{"Encrypt conditioned on kms:RequestAlias", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:RequestAlias":"alias/s3crr-a"}}}]}`,
			func() error {
				_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: aws.String("alias/s3crr-a"), Plaintext: []byte("p")})
				return err
			}, ""},
		{"same, by key ID: no request alias", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:RequestAlias":"alias/s3crr-a"}}}]}`,
			func() error {
				_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("p")})
				return err
			}, "AccessDeniedException"},
		{"Encrypt conditioned on kms:ResourceAliases", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/s3crr-*"}}}]}`,
			func() error {
				_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("p")})
				return err
			}, ""},
		{"explicit deny on Decrypt wins", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}`,
			func() error {
				_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("p")})
				return err
			}, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.setRolePolicy(t, kmsTestA, "provisioner", tt.identity)
			if got := apiCode(tt.call()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKMSInternalViaService(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	rootB := e.root(kmsTestB, kmsTestRegion)
	replRole := e.role(t, kmsTestA, "replication", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}]}`)
	const via = "s3.us-east-1.amazonaws.com"
	k := kmsCreate(t, rootB, &kms.CreateKeyInput{Policy: aws.String(kmsPolicyDoc(kmsRootStatement(kmsTestB),
		`{"Effect":"Allow","Principal":{"AWS":"`+replRole+`"},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*",
		  "Condition":{"StringEquals":{"kms:ViaService":"`+via+`"},"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::payments-dst/*"}}}`))})
	p, creds := e.session(kmsTestA, "replication")
	api := kms.NewFromConfig(SessionConfig(e.endpoint, kmsTestRegion, creds))
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-dst/obj"}

	if _, err := api.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p"), EncryptionContext: ec}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("direct Encrypt under a kms:ViaService condition: %v, want AccessDeniedException", err)
	}
	e.s.ResetCalls()

	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	tests := []struct {
		name string
		via  string
		ec   map[string]string
		want string
	}{
		{"through S3 in the key's region", via, ec, ""},
		{"not through a service", "", ec, "AccessDeniedException"},
		{"through S3 in another region", "s3.eu-west-1.amazonaws.com", ec, "AccessDeniedException"},
		{"context of another bucket", via, map[string]string{"aws:s3:arn": "arn:aws:s3:::other/obj"}, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.s.kmsEncrypt(p, kmsTestRegion, *k.Arn, tt.ec, []byte("p"), tt.via)
			if got := kmsCode(err); got != tt.want {
				t.Errorf("kmsEncrypt = %q (%v), want %q", got, err, tt.want)
			}
			_, _, _, err = e.s.kmsGenerateDataKey(p, kmsTestRegion, *k.Arn, tt.ec, tt.via)
			if got := kmsCode(err); got != tt.want {
				t.Errorf("kmsGenerateDataKey = %q (%v), want %q", got, err, tt.want)
			}
		})
	}

	dataKey, blob, keyARN, aerr := e.s.kmsGenerateDataKey(p, kmsTestRegion, *k.Arn, ec, via)
	if aerr != nil || len(dataKey) != 32 || keyARN != *k.Arn {
		t.Fatalf("kmsGenerateDataKey = %d bytes, %s, %v", len(dataKey), keyARN, aerr)
	}
	pt, keyARN, aerr := e.s.kmsDecrypt(p, kmsTestRegion, blob, ec, via)
	if aerr != nil || !bytes.Equal(pt, dataKey) || keyARN != *k.Arn {
		t.Errorf("kmsDecrypt of the data key = %v, %s, %v", pt, keyARN, aerr)
	}
	if _, _, aerr := e.s.kmsDecrypt(p, kmsTestRegion, blob, ec, ""); kmsCode(aerr) != "AccessDeniedException" {
		t.Errorf("kmsDecrypt without via: %v, want AccessDeniedException", aerr)
	}
	if _, _, aerr := e.s.kmsDecrypt(p, kmsTestRegion, blob, map[string]string{"aws:s3:arn": "arn:aws:s3:::payments-dst/other"}, via); kmsCode(aerr) != "InvalidCiphertextException" {
		t.Errorf("kmsDecrypt with another object's context: %v, want InvalidCiphertextException", aerr)
	}
	if _, _, aerr := e.s.kmsDecrypt(p, "eu-west-1", blob, ec, via); kmsCode(aerr) != "AccessDeniedException" {
		t.Errorf("kmsDecrypt in another region: %v, want AccessDeniedException", aerr)
	}
	if _, aerr := e.s.kmsResolve(kmsTestA, kmsTestRegion, *k.KeyId); kmsCode(aerr) != "NotFoundException" {
		t.Errorf("kmsResolve of B's bare key ID from A: %v, want NotFoundException", aerr)
	}
	if got, aerr := e.s.kmsResolve(kmsTestA, kmsTestRegion, *k.Arn); aerr != nil || got.arn != *k.Arn {
		t.Errorf("kmsResolve of B's key ARN from A = %v, %v", got, aerr)
	}

	// Key states surface with KMS codes.
	key, _ := e.s.kmsResolve(kmsTestB, kmsTestRegion, *k.KeyId)
	key.enabled = false
	if _, _, aerr := e.s.kmsEncrypt(p, kmsTestRegion, *k.Arn, ec, []byte("p"), via); kmsCode(aerr) != "DisabledException" {
		t.Errorf("kmsEncrypt with a disabled key: %v, want DisabledException", aerr)
	}
	key.pendingDeletion = true
	key.deletionDate = e.s.now().Add(7 * 24 * time.Hour)
	if _, _, _, aerr := e.s.kmsGenerateDataKey(p, kmsTestRegion, *k.Arn, ec, via); kmsCode(aerr) != "KMSInvalidStateException" {
		t.Errorf("kmsGenerateDataKey with a key pending deletion: %v, want KMSInvalidStateException", aerr)
	}
	if _, _, aerr := e.s.kmsDecrypt(p, kmsTestRegion, blob, ec, via); kmsCode(aerr) != "KMSInvalidStateException" {
		t.Errorf("kmsDecrypt with a key pending deletion: %v, want KMSInvalidStateException", aerr)
	}

	// Internal calls are not API requests: they are not counted.
	for k := range e.s.stats {
		if k.service == "kms" {
			t.Errorf("internal KMS calls were counted: %+v", k)
		}
	}
}

func kmsCode(err *apiError) string {
	if err == nil {
		return ""
	}
	return err.Code
}

func TestKMSAWSManagedS3Key(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	e.role(t, kmsTestA, "app", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	pA, _ := e.session(kmsTestA, "app")
	e.role(t, kmsTestB, "app", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	pB, _ := e.session(kmsTestB, "app")
	const via = "s3.us-east-1.amazonaws.com"

	e.s.mu.Lock()
	k, aerr := e.s.kmsResolve(kmsTestA, kmsTestRegion, "alias/aws/s3")
	if aerr != nil || !k.awsManaged {
		e.s.mu.Unlock()
		t.Fatalf("kmsResolve alias/aws/s3 = %v, %v", k, aerr)
	}
	_, blob, _, aerr := e.s.kmsGenerateDataKey(pA, kmsTestRegion, "alias/aws/s3", nil, via)
	if aerr != nil {
		t.Errorf("aws/s3 through S3 by a principal of the account: %v", aerr)
	}
	if _, _, _, aerr := e.s.kmsGenerateDataKey(pA, kmsTestRegion, "alias/aws/s3", nil, ""); kmsCode(aerr) != "AccessDeniedException" {
		t.Errorf("aws/s3 used directly: %v, want AccessDeniedException", aerr)
	}
	if _, _, aerr := e.s.kmsDecrypt(pB, kmsTestRegion, blob, nil, via); kmsCode(aerr) != "AccessDeniedException" {
		t.Errorf("aws/s3 used by another account: %v, want AccessDeniedException", aerr)
	}
	e.s.mu.Unlock()

	d, err := e.root(kmsTestA, kmsTestRegion).DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})
	if err != nil || d.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeAws || aws.ToString(d.KeyMetadata.KeyId) != k.id {
		t.Errorf("DescribeKey alias/aws/s3 = %+v, %v; want the AWS managed key", d, err)
	}
	if _, err := e.root(kmsTestA, kmsTestRegion).DisableKey(kmsCtx, &kms.DisableKeyInput{KeyId: aws.String(k.id)}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("DisableKey of an AWS managed key: %v, want AccessDeniedException", err)
	}
}

func TestKMSCountersFaultsAndProtocol(t *testing.T) {
	e := newKMSTestEnv(t, Options{})
	c := e.root(kmsTestA, kmsTestRegion)
	k := kmsCreate(t, c, nil)
	if _, err := c.DescribeKey(kmsCtx, &kms.DescribeKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	counts := map[string]CallCount{}
	for _, cc := range e.s.Calls() {
		if cc.Service == "kms" {
			counts[cc.Operation] = cc
		}
	}
	if cc := counts["CreateKey"]; cc.Count != 1 || !cc.Mutating || cc.Account != kmsTestA {
		t.Errorf("CreateKey counter = %+v", cc)
	}
	if cc := counts["DescribeKey"]; cc.Count != 1 || cc.Mutating {
		t.Errorf("DescribeKey counter = %+v", cc)
	}

	e.s.InjectFault(Throttle("kms", "Encrypt", 2)) // the test config retries once
	_, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("p")})
	if apiCode(err) != "ThrottlingException" {
		t.Errorf("throttled Encrypt: %v, want ThrottlingException", err)
	}
	if _, err := c.Encrypt(kmsCtx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("p")}); err != nil {
		t.Errorf("Encrypt after the fault is exhausted: %v", err)
	}

	// An operation the simulator does not know is rejected in the JSON protocol.
	req, _ := http.NewRequest(http.MethodPost, e.endpoint, strings.NewReader("{}"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+kmsTestA+"/20260301/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x")
	req.Header.Set("X-Amz-Target", "TrentService.Sign")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw request: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || body["__type"] != "UnknownOperationException" {
		t.Errorf("unknown operation = %d %v", resp.StatusCode, body)
	}
}
