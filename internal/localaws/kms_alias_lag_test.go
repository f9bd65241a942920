package localaws

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestKMSAliasAuthorizationLags: a grant conditioned on kms:ResourceAliases does not see
// an alias until the propagation window has passed since it was created, as AWS warns
// ("up to five minutes for tag and alias changes to affect KMS key authorization").
func TestKMSAliasAuthorizationLags(t *testing.T) {
	e := newKMSTestEnv(t, Options{PropagationWindow: 2 * time.Minute})
	e.role(t, SourceAccount, "keymaster", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:EnableKeyRotation","Resource":"*",
		"Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/s3crr*"}}}]}`)
	e.clock.advance(3 * time.Minute) // the role itself has propagated
	root := e.root(SourceAccount, "ap-south-1")
	ctx := t.Context()
	key, err := root.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr/lag"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	c := e.roleClient(SourceAccount, "keymaster", "ap-south-1")
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyMetadata.Arn}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("right after the alias was created: err = %v, want AccessDeniedException", err)
	}
	e.clock.advance(3 * time.Minute)
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyMetadata.Arn}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
