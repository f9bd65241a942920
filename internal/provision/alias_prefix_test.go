package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
)

// tutorialAliasPrefix is a kmsAliasPrefix in the style of AWS's replication tutorial,
// whose keys are alias/s3-crr-key-account-a and alias/s3-crr-key-account-b.
const tutorialAliasPrefix = "alias/s3-crr-key"

// newAliasPrefixEnv deploys the member stacks with kmsAliasPrefix = prefix, so the
// provisioner roles may manage only aliases under it, and configures the provision
// service with the same prefix, as HubStack does through S3CRR_KMS_ALIAS_PREFIX.
func newAliasPrefixEnv(t *testing.T, prefix string) *localEnv {
	t.Helper()
	env := newLocalEnv(t, localaws.Options{})
	env.deploy.KMSAliasPrefix = prefix
	ctx := context.Background()
	if _, err := localdeploy.Deploy(ctx, env.deploy); err != nil {
		t.Fatalf("redeploy with kmsAliasPrefix %s: %v", prefix, err)
	}
	base, err := localdeploy.HubFunctionConfig(ctx, env.deploy)
	if err != nil {
		t.Fatal(err)
	}
	env.svc = New(Config{ExternalID: testExternalID, KMSAliasPrefix: prefix}, AssumeRoleConnector{Base: base})
	return env
}

// With a deployment alias prefix other than the default, a request that names no alias
// gets default aliases under that prefix: under alias/s3crr the key stage would be
// denied CreateAlias by the provisioner's kms:ResourceAliases scope.
func TestDefaultAliasesFollowTheDeploymentPrefix(t *testing.T) {
	env := newAliasPrefixEnv(t, tutorialAliasPrefix)
	req := []byte(`{"pairId":"tutorial","source":{"account":"111111111111","region":"ap-south-1","bucket":"tutorial-src"},
		"destination":{"account":"222222222222","region":"us-east-1","bucket":"tutorial-dst"}}`)
	env.apply(t, req)
	ctx := context.Background()
	for _, side := range []struct{ account, region, alias string }{
		{localaws.SourceAccount, "ap-south-1", tutorialAliasPrefix + "/tutorial/source"},
		{localaws.DestinationAccount, "us-east-1", tutorialAliasPrefix + "/tutorial/destination"},
	} {
		if _, err := awsclient.KMS(env.root(side.account, side.region)).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(side.alias)}); err != nil {
			t.Errorf("alias %s in %s: %v", side.alias, side.account, err)
		}
	}
}

// The tutorial's own aliases are accepted when the deployment's prefix admits them, and
// the pair provisions with them; an alias outside the prefix is InvalidSpec naming the
// prefix, before any call.
func TestTutorialAliasesUnderAMatchingPrefix(t *testing.T) {
	env := newAliasPrefixEnv(t, tutorialAliasPrefix)
	req := []byte(`{"pairId":"tutorial","source":{"account":"111111111111","region":"ap-south-1","bucket":"tutorial-src","kmsKeyAlias":"alias/s3-crr-key-account-a"},
		"destination":{"account":"222222222222","region":"us-east-1","bucket":"tutorial-dst","kmsKeyAlias":"alias/s3-crr-key-account-b"}}`)
	env.apply(t, req)

	before := env.srv.Calls()
	_, err := env.svc.Run(context.Background(), Event{Stage: "preflight", Request: sampleRequest(t)})
	var is *InvalidSpec
	if !errors.As(err, &is) || !strings.Contains(err.Error(), "source.kmsKeyAlias") || !strings.Contains(err.Error(), tutorialAliasPrefix) {
		t.Errorf("Run with alias/s3crr-src under prefix %s = %v, want InvalidSpec naming source.kmsKeyAlias and the prefix", tutorialAliasPrefix, err)
	}
	if after := env.srv.Calls(); len(after) != len(before) {
		t.Errorf("the simulator served requests for an out-of-scope alias")
	}
}
